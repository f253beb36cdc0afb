import type { CredentialView } from "../api/types";
import { dataToSend } from "./CredentialDialog";
import { sortByName, withSaved } from "./useCredentials";

function credential(id: string, name: string): CredentialView {
  return { id, name, type: "openai", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" };
}

describe("credential list order", () => {
  it("sorts by name, ignoring case", () => {
    const sorted = sortByName([credential("1", "slack"), credential("2", "Anthropic"), credential("3", "openai")]);
    expect(sorted.map((item) => item.name)).toEqual(["Anthropic", "openai", "slack"]);
  });

  it("replaces a saved credential or adds a new one in order", () => {
    const list = [credential("1", "B"), credential("2", "D")];
    expect(withSaved(list, credential("2", "A")).map((item) => item.id)).toEqual(["2", "1"]);
    expect(withSaved(list, credential("3", "C")).map((item) => item.id)).toEqual(["1", "3", "2"]);
  });
});

describe("dataToSend", () => {
  it("sends nothing for an untouched or emptied form (the secret is kept)", () => {
    expect(dataToSend({})).toBeNull();
    expect(dataToSend({ api_key: "", base_url: "" })).toBeNull();
  });

  it("sends only the fields filled in", () => {
    expect(dataToSend({ api_key: "sk-1", base_url: "" })).toEqual({ api_key: "sk-1" });
  });
});
