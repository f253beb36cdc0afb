import { checkPayload, describeJsonError } from "./payload";

describe("checkPayload", () => {
  it("accepts any JSON value", () => {
    expect(checkPayload('{"user_id": 7}')).toEqual({ ok: true, value: { user_id: 7 } });
    expect(checkPayload("[1, 2]")).toEqual({ ok: true, value: [1, 2] });
    expect(checkPayload('"text"')).toEqual({ ok: true, value: "text" });
  });

  it("treats a blank payload as an empty object", () => {
    expect(checkPayload("  \n")).toEqual({ ok: true, value: {} });
  });

  it("says where the JSON breaks", () => {
    const check = checkPayload('{\n  "a": 1,\n  b: 2\n}');
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.message).toMatch(/^Line 3, column 3: /);
  });

  it("points at the end when the input stops short", () => {
    const check = checkPayload('{"a": ');
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.message).toMatch(/^Line 1, column 7: /);
  });
});

describe("describeJsonError", () => {
  it("reads V8's position", () => {
    const error = new SyntaxError("Unexpected token } in JSON at position 4");
    expect(describeJsonError('{"a"}', error)).toBe("Line 1, column 5: Unexpected token }");
  });

  it("reads Firefox's line and column", () => {
    const error = new SyntaxError(
      "JSON.parse: expected ':' after property name in object at line 2 column 6 of the JSON data",
    );
    expect(describeJsonError("", error)).toBe(
      "Line 2, column 6: expected ':' after property name in object",
    );
  });

  it("keeps a message without a place as it is", () => {
    expect(describeJsonError("x", new SyntaxError("Bad JSON"))).toBe("Bad JSON");
  });
});
