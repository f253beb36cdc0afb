import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import type { JsonSchema } from "../api/types";
import { SchemaForm } from "./SchemaForm";
import type { SchemaFormProps } from "./types";
import {
  aiConfig,
  conditionConfig,
  httpConfig,
  openaiCredential,
  slackConfig,
  unionConfig,
  webhookConfig,
} from "./testSchemas";

/** Renders the form with its value held in state; `latest()` is the last value emitted. */
function renderForm(schema: JsonSchema, initial: Record<string, unknown> = {}, props: Partial<SchemaFormProps> = {}) {
  const emitted: Record<string, unknown>[] = [];
  function Holder() {
    const [value, setValue] = useState(initial);
    return (
      <SchemaForm
        schema={schema}
        value={value}
        onChange={(next) => {
          emitted.push(next);
          setValue(next);
        }}
        idPrefix="cfg-"
        {...props}
      />
    );
  }
  render(<Holder />);
  return { user: userEvent.setup(), latest: () => emitted[emitted.length - 1], emitted };
}

describe("SchemaForm", () => {
  it("labels every input and ids it by prefix and path", () => {
    renderForm(httpConfig);
    const url = screen.getByLabelText("URL");
    expect(url.id).toBe("cfg-url");
    expect(url.getAttribute("name")).toBe("cfg-url");
    expect(url.getAttribute("aria-required")).toBe("true");
    expect(screen.getByLabelText("Timeout (s)").getAttribute("placeholder")).toBe("30");
    expect(screen.getByText("Absolute http(s) URL; templates allowed.")).toBeTruthy();
  });

  it("writes what is typed and omits what is emptied", async () => {
    const { user, latest } = renderForm(httpConfig);
    await user.type(screen.getByLabelText("URL"), "https://x.test");
    expect(latest()).toEqual({ url: "https://x.test" });
    await user.clear(screen.getByLabelText("URL"));
    expect(latest()).toEqual({});
  });

  it("never writes defaults: a select or checkbox back at its default is unset", async () => {
    const { user, latest } = renderForm(httpConfig);
    const method = screen.getByLabelText("Method") as HTMLSelectElement;
    expect(method.selectedOptions[0]?.textContent).toBe("GET");
    await user.selectOptions(method, "POST");
    expect(latest()).toEqual({ method: "POST" });
    await user.selectOptions(method, "GET");
    expect(latest()).toEqual({});
    const follow = screen.getByLabelText("Follow redirects") as HTMLInputElement;
    expect(follow.checked).toBe(true);
    await user.click(follow);
    expect(latest()).toEqual({ follow_redirects: false });
    await user.click(follow);
    expect(latest()).toEqual({});
  });

  it("reads numbers, keeps half-typed text, and flags out-of-range values", async () => {
    const { user, latest } = renderForm(aiConfig);
    const tokens = screen.getByLabelText("Max tokens");
    await user.type(tokens, "2.");
    expect((tokens as HTMLInputElement).value).toBe("2.");
    expect(latest()).toMatchObject({ max_tokens: 2 });
    await user.type(tokens, "5");
    expect(screen.getByText("Enter a whole number.")).toBeTruthy();
    await user.clear(tokens);
    await user.type(tokens, "300000");
    expect(latest()).toMatchObject({ max_tokens: 300000 });
    expect(screen.getByText("At most 200000.")).toBeTruthy();
    await user.type(screen.getByLabelText("Temperature"), "0.5");
    expect(latest()).toMatchObject({ temperature: 0.5 });
  });

  it("puts secrets in password inputs", () => {
    renderForm(openaiCredential);
    expect(screen.getByLabelText("API key").getAttribute("type")).toBe("password");
    expect(screen.getByLabelText("Base URL").getAttribute("type")).toBe("text");
  });

  it("edits a nested $ref object and drops it when back to defaults", async () => {
    const { user, latest } = renderForm(webhookConfig, { path: "orders" });
    // The nested object is labelled by its property, not by its model's name.
    expect(screen.getByRole("group", { name: "Auth" })).toBeTruthy();
    const type = screen.getByLabelText("Type");
    expect(type.id).toBe("cfg-auth.type");
    await user.selectOptions(type, "hmac");
    expect(latest()).toEqual({ path: "orders", auth: { type: "hmac" } });
    await user.selectOptions(type, "none");
    expect(latest()).toEqual({ path: "orders" });
  });

  it("ticks choices of a list of enums in their order", async () => {
    const { user, latest } = renderForm(webhookConfig);
    const methods = screen.getByRole("group", { name: "Methods" });
    await user.click(within(methods).getByLabelText("POST"));
    await user.click(within(methods).getByLabelText("GET"));
    expect(latest()).toMatchObject({ methods: ["GET", "POST"] });
    await user.click(within(methods).getByLabelText("GET"));
    await user.click(within(methods).getByLabelText("POST"));
    expect(latest()).not.toHaveProperty("methods");
  });

  it("edits key/value rows: add, name, value, remove", async () => {
    const { user, latest } = renderForm(httpConfig);
    await user.click(screen.getByRole("button", { name: "+ Add header" }));
    await user.type(screen.getByLabelText("Headers name 1"), "X-Key");
    await user.type(screen.getByLabelText("Headers value 1"), "42");
    // Header values are strings: "42" stays text.
    expect(latest()).toEqual({ headers: { "X-Key": "42" } });
    await user.click(screen.getByRole("button", { name: "+ Add entry" }));
    await user.type(screen.getByLabelText("Query name 1"), "page");
    await user.type(screen.getByLabelText("Query value 1"), "2");
    expect(latest()).toMatchObject({ query: { page: 2 } });
    await user.click(screen.getByRole("button", { name: "Remove Headers X-Key" }));
    expect(latest()).toEqual({ query: { page: 2 } });
  });

  it("flags a repeated name", async () => {
    renderForm(httpConfig, { headers: { A: "1" } });
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "+ Add header" }));
    await user.type(screen.getByLabelText("Headers name 2"), "A");
    // Flagged once, on the row that overrides the first.
    expect(screen.getByText('"A" is used twice; this one counts.')).toBeTruthy();
  });

  it("edits a list of sub-forms: add, fill, reorder, remove", async () => {
    const { user, latest } = renderForm(conditionConfig);
    await user.click(screen.getByRole("button", { name: "+ Add rule" }));
    await user.click(screen.getByRole("button", { name: "+ Add rule" }));
    const first = screen.getByRole("group", { name: "Rules 1" });
    const second = screen.getByRole("group", { name: "Rules 2" });
    await user.type(within(first).getByLabelText("Branch"), "a");
    await user.type(within(second).getByLabelText("Branch"), "b");
    expect(within(second).getByLabelText("Branch").id).toBe("cfg-rules.1.branch");
    await user.click(within(first).getByLabelText("Value"));
    await user.paste("{{ trigger.body.plan }}");
    await user.selectOptions(within(first).getByLabelText("Operator"), "eq");
    await user.type(within(first).getByLabelText("Compare to"), "3");
    expect(latest()).toEqual({
      rules: [{ value: "{{ trigger.body.plan }}", operator: "eq", compare_to: 3, branch: "a" }, { branch: "b" }],
    });
    await user.click(screen.getByRole("button", { name: "Move Rules 2 up" }));
    expect((latest()?.rules as { branch: string }[]).map((rule) => rule.branch)).toEqual(["b", "a"]);
    await user.click(screen.getByRole("button", { name: "Remove Rules 1" }));
    expect((latest()?.rules as { branch: string }[]).map((rule) => rule.branch)).toEqual(["a"]);
  });

  it("reads an any-JSON field loosely and says how", async () => {
    const { user, latest } = renderForm(httpConfig);
    const body = screen.getByLabelText("Body");
    await user.click(body);
    await user.paste('{"a": [1]}');
    expect(latest()).toEqual({ body: { a: [1] } });
    expect(screen.getByText('Read as JSON object; put it in "quotes" to keep it text.')).toBeTruthy();
    await user.clear(body);
    await user.paste('"42"');
    expect(latest()).toEqual({ body: "42" });
  });

  it("picks a union branch, then edits its fields without showing the tag", async () => {
    const { user, latest } = renderForm(unionConfig);
    const picker = screen.getByLabelText("Auth type");
    await user.selectOptions(picker, "basic");
    expect(latest()).toEqual({ auth: { kind: "basic" } });
    const auth = screen.getByRole("group", { name: "Auth" });
    expect(within(auth).queryByLabelText("Kind")).toBeNull();
    await user.type(within(auth).getByLabelText("Username"), "ann");
    expect(latest()).toEqual({ auth: { kind: "basic", username: "ann" } });
    expect(within(auth).getByLabelText("Password").getAttribute("type")).toBe("password");
  });

  it("leaves an optional union unset until a branch is chosen", async () => {
    const { user, latest } = renderForm(unionConfig);
    const picker = screen.getByLabelText("Fallback type") as HTMLSelectElement;
    expect(picker.value).toBe("");
    const fallback = screen.getByRole("group", { name: "Fallback" });
    expect(within(fallback).queryByLabelText("Token")).toBeNull();
    await user.selectOptions(picker, "bearer");
    expect(latest()).toEqual({ fallback: { kind: "bearer" } });
    await user.selectOptions(picker, "Not set");
    expect(latest()).toEqual({});
  });

  it("tags what is typed into a required union's first branch", async () => {
    const { user, latest } = renderForm(unionConfig);
    const auth = screen.getByRole("group", { name: "Auth" });
    await user.type(within(auth).getByLabelText("Token"), "t");
    expect(latest()).toEqual({ auth: { kind: "bearer", token: "t" } });
  });

  it("edits a nullable list of free objects (slack blocks)", async () => {
    const { user, latest } = renderForm(slackConfig);
    await user.click(screen.getByRole("button", { name: "+ Add block" }));
    expect(latest()).toMatchObject({ blocks: [{}] });
    await user.click(screen.getByRole("button", { name: "+ Add entry" }));
    await user.type(screen.getByLabelText("Blocks 1 name 1"), "type");
    await user.type(screen.getByLabelText("Blocks 1 value 1"), "section");
    expect(latest()).toMatchObject({ blocks: [{ type: "section" }] });
  });

  it("shows errors by dotted path, and those of no field above the form", () => {
    renderForm(conditionConfig, { rules: [{ branch: "" }] }, {
      errors: { "rules.0.branch": "branch must not be empty", nonsense: "not a field" },
    });
    const branch = screen.getByLabelText("Branch");
    expect(branch.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("branch must not be empty").id).toBe("cfg-rules.0.branch-error");
    expect(screen.getByText("nonsense: not a field")).toBeTruthy();
  });

  it("shows the template hint only under fields that take templates", () => {
    renderForm(webhookConfig, {}, { templateHint: <span>Use {"{{ }}"}</span> });
    // Every field of the webhook trigger is marked as not taking templates.
    expect(screen.queryByText("Use {{ }}")).toBeNull();
  });

  it("hides fields and disables everything when asked", () => {
    renderForm(httpConfig, {}, { hidden: ["url"], disabled: true });
    expect(screen.queryByLabelText("URL")).toBeNull();
    expect(screen.getByLabelText("Method").matches(":disabled")).toBe(true);
  });

  it("follows a value changed from outside", async () => {
    function Switcher() {
      const [value, setValue] = useState<Record<string, unknown>>({ max_tokens: 10 });
      return (
        <>
          <button type="button" onClick={() => setValue({ max_tokens: 99 })}>
            other node
          </button>
          <SchemaForm schema={aiConfig} value={value} onChange={setValue} />
        </>
      );
    }
    render(<Switcher />);
    await userEvent.setup().click(screen.getByText("other node"));
    expect((screen.getByLabelText("Max tokens") as HTMLInputElement).value).toBe("99");
  });
});
