// Which credential a node uses: only credentials of the types the node takes, and a way to
// create one when there is none.
import { Link } from "react-router-dom";
import type { NodeTypeView } from "../api/types";
import type { CredentialsState } from "./useCredentials";

interface CredentialPickerProps {
  nodeType: NodeTypeView;
  value: string | null | undefined;
  onChange: (credentialId: string | null) => void;
  credentials: CredentialsState;
  error?: string;
}

export function CredentialPicker({ nodeType, value, onChange, credentials, error }: CredentialPickerProps) {
  const usable = (credentials.credentials ?? []).filter((item) =>
    nodeType.credential_types.includes(item.type),
  );
  const known = !value || usable.some((item) => item.id === value);
  const loading = credentials.credentials === null && credentials.error === null;
  return (
    <div className="field">
      <label htmlFor="node-credential">
        Credential{nodeType.needs_credential ? " (required)" : " (optional)"}
      </label>
      <select
        id="node-credential"
        data-testid="credential-picker"
        value={value ?? ""}
        disabled={loading}
        aria-invalid={error ? true : undefined}
        onChange={(event) => onChange(event.target.value || null)}
      >
        <option value="">{loading ? "Loading…" : "— No credential —"}</option>
        {usable.map((item) => (
          <option key={item.id} value={item.id}>
            {item.name} ({item.type})
          </option>
        ))}
        {!known && value && <option value={value}>Unknown credential ({value})</option>}
      </select>
      <div className="hint">
        {usable.length === 0 && !loading
          ? `No ${nodeType.credential_types.join(" / ")} credential yet. `
          : `Types: ${nodeType.credential_types.join(", ")}. `}
        <Link to="/credentials" target="_blank" rel="noopener">
          Create a credential
        </Link>
      </div>
      {credentials.error && <div className="field-error">Could not list credentials: {credentials.error}</div>}
      {error && <div className="field-error">{error}</div>}
    </div>
  );
}
