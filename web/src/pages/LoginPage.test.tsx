import { ApiError } from "../api/client";
import { describeAuthProblem, missingFields, safeNextPath } from "./LoginPage";

describe("safeNextPath", () => {
  it.each([
    ["/workflows/wf_1", "/workflows/wf_1"],
    ["/workflows/wf_1/executions?status=failed#top", "/workflows/wf_1/executions?status=failed#top"],
    ["/", "/"],
    ["/credentials", "/credentials"],
  ])("keeps the site path %s", (next, expected) => {
    expect(safeNextPath(next)).toBe(expected);
  });

  it.each([
    [null],
    [""],
    ["//evil.test/x"],
    ["/\\evil.test"],
    ["/\t/evil.test"],
    ["https://evil.test/"],
    ["javascript:alert(1)"],
    ["workflows"],
    ["/login"],
    ["/signup?next=/x"],
    [" /workflows"],
  ])("sends %j home instead", (next) => {
    expect(safeNextPath(next)).toBe("/");
  });
});

describe("describeAuthProblem", () => {
  it("says a wrong password without naming which part was wrong", () => {
    const error = new ApiError(401, "invalid_credentials", "wrong email or password");
    expect(describeAuthProblem(error, "login")).toMatchObject({ message: "Wrong email or password." });
  });

  it("puts a taken email beside the email field", () => {
    const error = new ApiError(409, "conflict", "an account with the email a@b.co already exists");
    expect(describeAuthProblem(error, "signup")).toMatchObject({
      message: null,
      email: "An account with the email a@b.co already exists. Log in instead?",
    });
  });

  it("puts validation problems beside their fields", () => {
    const error = new ApiError(422, "validation_error", "…", [
      { field: "body.password", message: "String should have at least 8 characters" },
      { field: "body.email", message: "Value error, not a valid email address" },
    ]);
    expect(describeAuthProblem(error, "signup")).toEqual({
      message: null,
      email: "Not a valid email address",
      password: "String should have at least 8 characters",
      retryAfterS: null,
    });
  });

  it("says when to try again after too many attempts", () => {
    const error = new ApiError(429, "rate_limited", "too many logins", null, 42);
    expect(describeAuthProblem(error, "login")).toEqual({
      message: "Too many sign-in attempts; try again in 42 s.",
      email: null,
      password: null,
      retryAfterS: 42,
    });
    const noWait = new ApiError(429, "rate_limited", "too many", null, null);
    expect(describeAuthProblem(noWait, "signup").message).toBe("Too many sign-ups; try again in a moment.");
  });

  it("shows any other error's message", () => {
    const busy = new ApiError(503, "busy", "too many password checks at once; try again", null, 5);
    expect(describeAuthProblem(busy, "login").message).toBe("Too many password checks at once; try again");
    expect(describeAuthProblem(new Error("boom"), "login").message).toBe("boom");
  });
});

describe("missingFields", () => {
  it("asks for what is empty", () => {
    expect(missingFields("a@b.co", "secret")).toBeNull();
    expect(missingFields("  ", "")).toMatchObject({ email: "Enter your email.", password: "Enter your password." });
    expect(missingFields("a@b.co", "")).toMatchObject({ email: null, password: "Enter your password." });
  });
});
