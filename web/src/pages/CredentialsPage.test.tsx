// The credentials page against a stand-in for its API module.
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ApiError } from "../api/client";
import type { CredentialTypeView, CredentialView } from "../api/types";
import * as credentialsApi from "../credentials/api";
import { hmacCredential, openaiCredential } from "../forms/testSchemas";
import { CredentialsPage } from "./CredentialsPage";

vi.mock("../credentials/api", () => ({
  listCredentials: vi.fn(),
  loadCredentialTypes: vi.fn(),
  createCredential: vi.fn(),
  updateCredential: vi.fn(),
  deleteCredential: vi.fn(),
}));
vi.mock("../api/useNodeTypes", () => ({
  useNodeTypes: () => ({ types: [{ name: "ai", label: "AI model" }], error: null }),
}));

const api = vi.mocked(credentialsApi);
const TYPES: CredentialTypeView[] = [
  { name: "openai", label: "OpenAI API key", data_schema: openaiCredential as Record<string, unknown>, node_types: ["ai"] },
  { name: "hmac_secret", label: "HMAC signing secret", data_schema: hmacCredential as Record<string, unknown>, node_types: [] },
];
const TEAM_KEY: CredentialView = {
  id: "cred_1",
  name: "Team key",
  type: "openai",
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-02T00:00:00Z",
};

beforeEach(() => {
  vi.clearAllMocks();
  api.listCredentials.mockResolvedValue([TEAM_KEY]);
  api.loadCredentialTypes.mockResolvedValue(TYPES);
});

async function renderPage() {
  render(<CredentialsPage />);
  const user = userEvent.setup();
  await waitFor(() => expect(screen.getByTestId("new-credential").matches(":disabled")).toBe(false));
  return user;
}

describe("CredentialsPage", () => {
  it("lists credentials with their type's label", async () => {
    await renderPage();
    const [row] = await screen.findAllByTestId("credential-row");
    expect(row!.dataset.credentialId).toBe("cred_1");
    expect(within(row!).getByText("Team key")).toBeTruthy();
    expect(within(row!).getByText("OpenAI API key")).toBeTruthy();
  });

  it("creates a credential from its type's form, secret in a password field", async () => {
    const created: CredentialView = { ...TEAM_KEY, id: "cred_2", name: "Another key" };
    api.createCredential.mockResolvedValue(created);
    const user = await renderPage();
    await user.click(screen.getByTestId("new-credential"));
    await user.selectOptions(screen.getByLabelText("Type"), "openai");
    expect(screen.getByText("For AI model nodes.")).toBeTruthy();
    await user.type(screen.getByTestId("credential-name"), "Another key");
    const secret = screen.getByLabelText("API key");
    expect(secret.getAttribute("type")).toBe("password");
    await user.type(secret, "sk-123");
    await user.click(screen.getByTestId("save-credential"));
    expect(api.createCredential).toHaveBeenCalledWith("Another key", "openai", { api_key: "sk-123" });
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(screen.getAllByTestId("credential-row").map((row) => row.dataset.credentialId)).toEqual([
      "cred_2",
      "cred_1",
    ]);
  });

  it("shows the gateway's problems under the secret's fields", async () => {
    api.createCredential.mockRejectedValue(
      new ApiError(422, "invalid_request", "hmac_secret credential: …", [
        { field: "data.secret", message: "String should have at least 16 characters" },
      ]),
    );
    const user = await renderPage();
    await user.click(screen.getByTestId("new-credential"));
    await user.selectOptions(screen.getByLabelText("Type"), "hmac_secret");
    await user.type(screen.getByTestId("credential-name"), "Stripe");
    await user.type(screen.getByLabelText("Secret"), "short");
    await user.click(screen.getByTestId("save-credential"));
    const message = await screen.findByText("String should have at least 16 characters");
    expect(message.id).toBe("credential-data-secret-error");
  });

  it("asks for a type and a name before sending anything", async () => {
    const user = await renderPage();
    await user.click(screen.getByTestId("new-credential"));
    await user.click(screen.getByTestId("save-credential"));
    expect(screen.getByText("Choose what kind of credential this is.")).toBeTruthy();
    expect(api.createCredential).not.toHaveBeenCalled();
  });

  it("renames without touching the secret when its fields stay empty", async () => {
    api.updateCredential.mockResolvedValue({ ...TEAM_KEY, name: "Renamed" });
    const user = await renderPage();
    await user.click(screen.getByTestId("edit-credential"));
    expect(screen.getByTestId("keep-secret-note")).toBeTruthy();
    expect((screen.getByLabelText("API key") as HTMLInputElement).value).toBe("");
    const name = screen.getByTestId("credential-name");
    await user.clear(name);
    await user.type(name, "Renamed");
    await user.click(screen.getByTestId("save-credential"));
    expect(api.updateCredential).toHaveBeenCalledWith("cred_1", { name: "Renamed", data: undefined });
    expect(await screen.findByText("Renamed")).toBeTruthy();
  });

  it("replaces the secret alone when only it is filled in", async () => {
    api.updateCredential.mockResolvedValue(TEAM_KEY);
    const user = await renderPage();
    await user.click(screen.getByTestId("edit-credential"));
    await user.type(screen.getByLabelText("API key"), "sk-new");
    await user.click(screen.getByTestId("save-credential"));
    expect(api.updateCredential).toHaveBeenCalledWith("cred_1", { name: undefined, data: { api_key: "sk-new" } });
  });

  it("deletes after confirming", async () => {
    api.deleteCredential.mockResolvedValue();
    const user = await renderPage();
    await user.click(screen.getByTestId("delete-credential"));
    await user.click(screen.getByTestId("confirm-button"));
    expect(api.deleteCredential).toHaveBeenCalledWith("cred_1");
    expect(await screen.findByText("No credentials yet")).toBeTruthy();
  });

  it("offers a retry when the list cannot be loaded", async () => {
    api.listCredentials.mockRejectedValueOnce(new ApiError(503, "unavailable", "the credentials service is not answering"));
    render(<CredentialsPage />);
    expect((await screen.findByRole("alert")).textContent).toContain("the credentials service is not answering");
    await userEvent.setup().click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findAllByTestId("credential-row")).toHaveLength(1);
  });
});
