import { ApiError } from "../api/client";
import { credentialProblems } from "./errors";

describe("credentialProblems", () => {
  it("puts each data problem under its field", () => {
    const error = new ApiError(422, "invalid_request", "http_basic credential: …", [
      { field: "data.username", message: "Field required" },
      { field: "data.password", message: "String should have at least 1 character" },
    ]);
    expect(credentialProblems(error)).toEqual({
      name: null,
      type: null,
      data: { username: "Field required", password: "String should have at least 1 character" },
      message: null,
    });
  });

  it("reads request validation paths", () => {
    const error = new ApiError(422, "validation_error", "body.name: too short", [
      { field: "body.name", message: "String should have at least 1 character" },
      { field: "body.type", message: "Input should be 'openai', …" },
    ]);
    expect(credentialProblems(error)).toMatchObject({
      name: "String should have at least 1 character",
      type: "Input should be 'openai', …",
      message: null,
    });
  });

  it("shows what belongs to no field above the form", () => {
    const extra = new ApiError(422, "invalid_request", "data: 1 field …", [
      { field: "data", message: "1 field a openai credential does not take; it takes only api_key, base_url" },
    ]);
    expect(credentialProblems(extra).message).toBe(
      "1 field a openai credential does not take; it takes only api_key, base_url",
    );
    const unavailable = new ApiError(503, "unavailable", "the credentials service is not answering");
    expect(credentialProblems(unavailable)).toMatchObject({
      data: {},
      message: "the credentials service is not answering",
    });
    const nothing = new ApiError(422, "invalid_request", "nothing to change", []);
    expect(credentialProblems(nothing).message).toBe("nothing to change");
  });
});
