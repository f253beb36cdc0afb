import {
  classify,
  discriminatorOf,
  fieldLabel,
  formatLoose,
  getAtPath,
  humanize,
  initialValue,
  mapToRows,
  moveItem,
  parseLoose,
  parseNumber,
  pickVariant,
  placeholderOf,
  pruneEmpty,
  repeatedRows,
  resolve,
  rowsToMap,
  sameJson,
  setAtPath,
  storedValue,
  strayErrors,
  takesTemplates,
  unwrapNullable,
  variantAccepts,
  variantLabel,
  withKey,
} from "./schema";
import type { JsonSchema } from "../api/types";
import {
  aiConfig,
  conditionConfig,
  discordConfig,
  hmacCredential,
  httpConfig,
  openaiCredential,
  slackConfig,
  unionConfig,
  waitConfig,
  webhookConfig,
} from "./testSchemas";

/** The control a root property of `root` gets. */
function kindOf(root: JsonSchema, name: string) {
  const property = root.properties?.[name];
  if (!property) throw new Error(`no property ${name}`);
  return classify(root, unwrapNullable(root, property).schema, name);
}

describe("resolve", () => {
  it("follows a $ref into $defs, keeping the notes beside it", () => {
    const auth = resolve(webhookConfig, webhookConfig.properties!.auth!);
    expect(auth.title).toBe("WebhookAuth");
    expect(Object.keys(auth.properties!)).toEqual(["type", "header", "prefix", "tolerance_s"]);
    expect(auth["x-portico-template"]).toBe(false);
    expect(auth.$ref).toBeUndefined();
  });

  it("follows list items' $ref", () => {
    const rules = conditionConfig.properties!.rules!;
    const item = resolve(conditionConfig, rules.items!);
    expect(item.required).toEqual(["value", "operator", "branch"]);
  });

  it("leaves a reference to nowhere as an untyped schema rather than failing", () => {
    expect(resolve({}, { $ref: "#/$defs/Missing", title: "X" })).toEqual({ title: "X" });
  });

  it("unwraps a single-entry allOf", () => {
    const root: JsonSchema = { $defs: { A: { type: "string" } } };
    expect(resolve(root, { allOf: [{ $ref: "#/$defs/A" }], title: "T" })).toEqual({
      type: "string",
      title: "T",
    });
  });

  it("stops on a reference cycle", () => {
    const root: JsonSchema = { $defs: { A: { $ref: "#/$defs/A" } } };
    expect(() => resolve(root, { $ref: "#/$defs/A" })).not.toThrow();
  });
});

describe("unwrapNullable", () => {
  it("turns Optional[str] into an optional string keeping title and default", () => {
    const { schema, nullable } = unwrapNullable(aiConfig, aiConfig.properties!.system!);
    expect(nullable).toBe(true);
    expect(schema.type).toBe("string");
    expect(schema.maxLength).toBe(100000);
    expect(schema.description).toBe("System prompt.");
    expect(schema.default).toBeNull();
  });

  it("keeps a required field as it is", () => {
    expect(unwrapNullable(aiConfig, aiConfig.properties!.prompt!).nullable).toBe(false);
  });

  it("resolves a nullable list of $ref items", () => {
    const { schema, nullable } = unwrapNullable(discordConfig, discordConfig.properties!.embeds!);
    expect(nullable).toBe(true);
    expect(schema.type).toBe("array");
    expect(schema.maxItems).toBe(10);
  });

  it("keeps a union of several branches as a union without null", () => {
    const { schema, nullable } = unwrapNullable(unionConfig, unionConfig.properties!.fallback!);
    expect(nullable).toBe(true);
    expect(schema.anyOf).toHaveLength(2);
  });

  it("reads type lists", () => {
    expect(unwrapNullable({}, { type: ["integer", "null"] })).toEqual({
      schema: { type: "integer" },
      nullable: true,
    });
  });
});

describe("classify", () => {
  it("gives each real http field its control", () => {
    expect(kindOf(httpConfig, "method")).toMatchObject({ kind: "enum" });
    expect(kindOf(httpConfig, "url")).toEqual({ kind: "text", multiline: false, password: false });
    expect(kindOf(httpConfig, "query")).toEqual({ kind: "map", values: null });
    expect(kindOf(httpConfig, "headers")).toEqual({ kind: "map", values: { type: "string" } });
    expect(kindOf(httpConfig, "body")).toEqual({ kind: "any", multiline: true });
    expect(kindOf(httpConfig, "timeout_s")).toEqual({ kind: "number", integer: false });
    expect(kindOf(httpConfig, "allow_non_2xx")).toEqual({ kind: "boolean" });
  });

  it("gives long or templated text a text area, short text an input", () => {
    expect(kindOf(aiConfig, "prompt")).toMatchObject({ kind: "text", multiline: true });
    expect(kindOf(aiConfig, "system")).toMatchObject({ kind: "text", multiline: true });
    expect(kindOf(slackConfig, "text")).toMatchObject({ kind: "text", multiline: true });
    expect(kindOf(aiConfig, "model")).toMatchObject({ kind: "text", multiline: false });
    // A cron expression is short, unlike a JSONata one.
    expect(classify({}, { type: "string", maxLength: 200 }, "expression")).toMatchObject({ multiline: false });
    expect(classify({}, { type: "string" }, "expression")).toMatchObject({ multiline: true });
    // A long URL is still one line; a long message is not.
    expect(kindOf(discordConfig, "avatar_url")).toMatchObject({ multiline: false });
    expect(kindOf(discordConfig, "content")).toMatchObject({ multiline: true });
    const embed = discordConfig.$defs!.DiscordEmbed!;
    expect(kindOf(embed, "description")).toMatchObject({ multiline: true });
    expect(kindOf(openaiCredential, "base_url")).toMatchObject({ multiline: false });
  });

  it("hides secrets in password inputs", () => {
    expect(kindOf(openaiCredential, "api_key")).toEqual({ kind: "text", multiline: false, password: true });
    expect(kindOf(openaiCredential, "base_url")).toMatchObject({ password: false });
  });

  it("reads integers, nullable numbers and nullable booleans", () => {
    expect(kindOf(aiConfig, "max_tokens")).toEqual({ kind: "number", integer: true });
    expect(kindOf(aiConfig, "temperature")).toEqual({ kind: "number", integer: false });
    expect(kindOf(slackConfig, "unfurl_links")).toEqual({ kind: "boolean" });
  });

  it("makes lists of choices checkboxes and lists of objects sub-forms", () => {
    expect(kindOf(webhookConfig, "methods")).toEqual({
      kind: "multi-enum",
      options: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    });
    const rules = kindOf(conditionConfig, "rules");
    expect(rules.kind).toBe("list");
    if (rules.kind === "list") expect(rules.items.title).toBe("ConditionRule");
    expect(kindOf(slackConfig, "blocks")).toMatchObject({ kind: "list", items: { type: "object" } });
  });

  it("makes a $ref object a nested object and untyped fields any-JSON", () => {
    expect(kindOf(webhookConfig, "auth")).toEqual({ kind: "object" });
    const rule = resolve(conditionConfig, conditionConfig.$defs!.ConditionRule!);
    expect(classify(conditionConfig, rule.properties!.value!, "value")).toEqual({ kind: "any", multiline: false });
    expect(classify(conditionConfig, rule.properties!.compare_to!, "compare_to").kind).toBe("any");
  });

  it("makes a union of objects a variant picker, a union of scalars any-JSON", () => {
    expect(kindOf(unionConfig, "auth").kind).toBe("variants");
    expect(kindOf(unionConfig, "fallback").kind).toBe("variants");
    expect(classify({}, { anyOf: [{ type: "string" }, { type: "integer" }] }, "x").kind).toBe("any");
  });

  it("shows a const as fixed", () => {
    expect(classify({}, { const: "bearer", type: "string" }, "kind")).toEqual({ kind: "const", value: "bearer" });
  });
});

describe("templates", () => {
  it("reads x-portico-template, else inherits", () => {
    expect(takesTemplates(httpConfig.properties!.url!)).toBe(true);
    expect(takesTemplates(webhookConfig.properties!.path!)).toBe(false);
    expect(takesTemplates({ type: "string" }, false)).toBe(false);
  });
});

describe("labels", () => {
  it("makes field names readable", () => {
    expect(humanize("timeout_s")).toBe("Timeout (s)");
    expect(humanize("base_url")).toBe("Base URL");
    expect(humanize("api_key")).toBe("API key");
    expect(humanize("allow_non_2xx")).toBe("Allow non 2xx");
    expect(humanize("json_schema")).toBe("JSON schema");
    expect(humanize("s")).toBe("S");
  });

  it("keeps a title someone wrote, replaces the one pydantic made up", () => {
    expect(fieldLabel("wait_timeout_s", webhookConfig.properties!.wait_timeout_s!)).toBe("Wait timeout (s)");
    expect(fieldLabel("url", { title: "Endpoint address" })).toBe("Endpoint address");
  });

  it("shows a default as the placeholder", () => {
    expect(placeholderOf(httpConfig.properties!.timeout_s!)).toBe("30");
    expect(placeholderOf(webhookConfig.$defs!.WebhookAuth!.properties!.prefix!)).toBeUndefined();
    expect(placeholderOf(httpConfig.properties!.body!)).toBeUndefined();
    expect(placeholderOf({ default: { a: 1 } })).toBe('{"a":1}');
  });
});

describe("unions", () => {
  const auth = unionConfig.properties!.auth!;
  const variants = auth.oneOf!.map((branch) => resolve(unionConfig, branch));

  it("finds the discriminator, declared or implied by consts", () => {
    expect(discriminatorOf(auth, variants)).toBe("kind");
    expect(discriminatorOf({}, variants)).toBe("kind");
    expect(discriminatorOf({}, [{ type: "string" }, { type: "object" }])).toBeNull();
  });

  it("names branches by their tag, else title or type", () => {
    expect(variants.map((variant, index) => variantLabel(variant, index, "kind"))).toEqual(["bearer", "basic"]);
    expect(variantLabel({ type: "string" }, 0, null)).toBe("string");
    expect(variantLabel({}, 2, null)).toBe("Option 3");
  });

  it("picks the branch of the current value", () => {
    expect(pickVariant(variants, { kind: "basic", username: "a" }, "kind")).toBe(1);
    expect(pickVariant(variants, undefined, "kind")).toBe(0);
    const loose: JsonSchema[] = [
      { type: "string" },
      { type: "object", properties: { a: {}, b: {} } },
      { type: "object", properties: { c: {} } },
    ];
    expect(pickVariant(loose, "x", null)).toBe(0);
    expect(pickVariant(loose, { c: 1 }, null)).toBe(2);
    expect(pickVariant([{ type: "number" }], 3, null)).toBe(0);
  });

  it("says whether a value fits a branch", () => {
    expect(variantAccepts(variants[1]!, { kind: "basic" }, "kind")).toBe(true);
    expect(variantAccepts(variants[0]!, { kind: "basic" }, "kind")).toBe(false);
    expect(variantAccepts({ type: "string" }, {}, null)).toBe(false);
    expect(variantAccepts({ type: "object" }, undefined, null)).toBe(true);
  });

  it("starts a chosen branch with its tag set", () => {
    expect(initialValue(unionConfig, auth.oneOf![1]!, "kind")).toEqual({ kind: "basic" });
  });
});

describe("initialValue", () => {
  it("gives each type a fresh value", () => {
    expect(initialValue(conditionConfig, conditionConfig.properties!.rules!.items!)).toEqual({});
    expect(initialValue({}, { type: "string" })).toBe("");
    expect(initialValue({}, { type: "integer", minimum: 1 })).toBe(1);
    expect(initialValue({}, { type: "boolean" })).toBe(false);
    expect(initialValue({}, { enum: ["a", "b"] })).toBe("a");
    expect(initialValue({}, { type: "array" })).toEqual([]);
    expect(initialValue({}, { type: "string", default: "x" })).toBe("x");
  });
});

describe("values", () => {
  it("sets and removes keys without mutating", () => {
    const before = { a: 1, b: 2 };
    expect(withKey(before, "c", 3)).toEqual({ a: 1, b: 2, c: 3 });
    expect(withKey(before, "a", undefined)).toEqual({ b: 2 });
    expect(withKey(before, "z", undefined)).toBe(before);
    expect(before).toEqual({ a: 1, b: 2 });
  });

  it("omits empty optional values, keeps a required list", () => {
    expect(storedValue("", true)).toBeUndefined();
    expect(storedValue("", false)).toBeUndefined();
    expect(storedValue([], false)).toBeUndefined();
    expect(storedValue({}, false)).toBeUndefined();
    expect(storedValue([], true)).toEqual([]);
    expect(storedValue(0, false)).toBe(0);
    expect(storedValue(false, false)).toBe(false);
  });

  it("sets values at dotted paths through objects and lists", () => {
    const config = { rules: [{ value: "a", branch: "x" }] };
    expect(setAtPath(config, ["rules", 0, "branch"], "y")).toEqual({ rules: [{ value: "a", branch: "y" }] });
    expect(setAtPath(config, ["rules", 1], { branch: "z" })).toEqual({
      rules: [{ value: "a", branch: "x" }, { branch: "z" }],
    });
    expect(setAtPath(config, ["rules", 0], undefined)).toEqual({ rules: [] });
    expect(setAtPath({}, ["auth", "type"], "hmac")).toEqual({ auth: { type: "hmac" } });
    expect(config.rules[0]!.branch).toBe("x");
    expect(getAtPath(config, ["rules", 0, "value"])).toBe("a");
    expect(getAtPath(config, ["rules", 3, "value"])).toBeUndefined();
  });

  it("prunes empty entries deeply", () => {
    expect(pruneEmpty({ a: "", b: {}, c: { d: [] , e: 1 }, f: [{}], g: false, h: 0 })).toEqual({
      c: { e: 1 },
      f: [{}],
      g: false,
      h: 0,
    });
  });

  it("moves list items", () => {
    expect(moveItem(["a", "b", "c"], 0, 2)).toEqual(["b", "c", "a"]);
    expect(moveItem(["a", "b", "c"], 2, 1)).toEqual(["a", "c", "b"]);
    const list = ["a"];
    expect(moveItem(list, 0, 1)).toBe(list);
  });

  it("compares JSON ignoring key order, null as unset", () => {
    expect(sameJson({ a: [1, { b: 2 }], c: "x" }, { c: "x", a: [1, { b: 2 }] })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson(null, undefined)).toBe(true);
    expect(sameJson(0, "0")).toBe(false);
  });
});

describe("loose JSON values", () => {
  it.each([
    ["", undefined],
    ["  ", undefined],
    ["hello", "hello"],
    ["{{ nodes.x.output.plan }}", "{{ nodes.x.output.plan }}"],
    ["42", 42],
    ["-1.5", -1.5],
    ["true", true],
    ["false", false],
    ['{"a": 1}', { a: 1 }],
    ["[1, 2]", [1, 2]],
    ['"42"', "42"],
    ["null", "null"],
    ["{not json", "{not json"],
    [" padded ", " padded "],
  ])("reads %j as %j", (text, value) => {
    expect(parseLoose(text)).toEqual(value);
  });

  it.each([["hello"], ["42"], ["true"], [42], [false], [{ a: [1] }], [[1, "x"]], ["{{ x }}"], ['"quoted"']])(
    "shows %j as text that reads back the same",
    (value) => {
      expect(parseLoose(formatLoose(value))).toEqual(value);
      expect(parseLoose(formatLoose(value, true))).toEqual(value);
    },
  );

  it("quotes only text that would otherwise read as JSON", () => {
    expect(formatLoose("hello")).toBe("hello");
    expect(formatLoose("42")).toBe('"42"');
    expect(formatLoose(undefined)).toBe("");
    expect(formatLoose(null)).toBe("");
    expect(formatLoose({ a: 1 }, true)).toBe('{\n  "a": 1\n}');
  });
});

describe("parseNumber", () => {
  const timeout = httpConfig.properties!.timeout_s!;
  const status = webhookConfig.properties!.response_status!;
  it("reads numbers and says what is out of range", () => {
    expect(parseNumber("", timeout, false)).toEqual({ value: undefined, problem: null });
    expect(parseNumber("12.5", timeout, false)).toEqual({ value: 12.5, problem: null });
    expect(parseNumber("0", timeout, false)).toEqual({ value: 0, problem: "More than 0." });
    expect(parseNumber("301", timeout, false)).toEqual({ value: 301, problem: "At most 300." });
    expect(parseNumber("100", status, true)).toEqual({ value: 100, problem: "At least 200." });
    expect(parseNumber("3.5", status, true)).toEqual({ value: undefined, problem: "Enter a whole number." });
    expect(parseNumber("abc", status, true)).toEqual({ value: undefined, problem: "Enter a number." });
    expect(parseNumber("5", { exclusiveMaximum: 5 }, false).problem).toBe("Less than 5.");
  });
});

describe("key/value rows", () => {
  it("shows text values as typed and other values as JSON", () => {
    expect(mapToRows({ "X-A": "1" }, { type: "string" })).toEqual([{ key: "X-A", text: "1" }]);
    expect(mapToRows({ page: 2, q: "x" }, null)).toEqual([
      { key: "page", text: "2" },
      { key: "q", text: "x" },
    ]);
  });

  it("builds the object, skipping unnamed rows", () => {
    const rows = [
      { key: "page", text: "2" },
      { key: "", text: "lost" },
      { key: "tag", text: "" },
    ];
    expect(rowsToMap(rows, null)).toEqual({ page: 2, tag: "" });
    expect(rowsToMap(rows, { type: "string" })).toEqual({ page: "2", tag: "" });
  });

  it("flags repeated names", () => {
    const rows = ["a", "b", "a", "", "", "a"].map((key) => ({ key, text: "" }));
    expect(repeatedRows(rows)).toEqual(new Set([2, 5]));
  });
});

describe("strayErrors", () => {
  it("lists the errors no field shows", () => {
    const errors = { url: "required", "rules.0.branch": "bad", config: "unknown field", "": "broken" };
    expect(strayErrors(httpConfig, errors)).toEqual([
      ["rules.0.branch", "bad"],
      ["config", "unknown field"],
      ["", "broken"],
    ]);
    expect(strayErrors(httpConfig, { url: "x" }, ["url"])).toEqual([["url", "x"]]);
  });

  it("knows every field of the real schemas", () => {
    expect(strayErrors(waitConfig, { seconds: "x", until: "y" })).toEqual([]);
    expect(strayErrors(hmacCredential, { secret: "short" })).toEqual([]);
  });
});
