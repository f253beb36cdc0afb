// Credentials: the secrets nodes use (API keys, webhook URLs, signing secrets). Only their
// names and types are ever shown; the secret itself goes in once and never comes back.
import { useState } from "react";
import type { CredentialView } from "../api/types";
import { formatWhen } from "../format";
import { CredentialDialog } from "../credentials/CredentialDialog";
import { deleteCredential } from "../credentials/api";
import { useCredentials } from "../credentials/useCredentials";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { useNow } from "../hooks/useNow";
import "../credentials/credentials.css";

type Dialog = { kind: "create" } | { kind: "edit" | "delete"; credential: CredentialView };

export function CredentialsPage() {
  const { state, reload, saved, removed } = useCredentials();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const now = useNow(30_000);
  const { credentials, types } = state;
  const typeLabel = (type: string) =>
    types?.find((candidate) => candidate.name === type)?.label ?? type;

  return (
    <div className="page credentials-page">
      <div className="page-header">
        <h1>Credentials</h1>
        <span className="spacer" />
        <button
          type="button"
          className="primary"
          data-testid="new-credential"
          disabled={!types}
          title={state.typesError ? "Credential types could not be loaded" : undefined}
          onClick={() => setDialog({ kind: "create" })}
        >
          New credential
        </button>
      </div>
      <p className="muted credentials-intro">
        Secrets your nodes sign in with. They are encrypted when saved and never shown again, not
        even to you: to change one, enter it anew.
      </p>
      {state.typesError && !state.error && (
        <div className="form-error credentials-types-error" role="alert">
          Credential types could not be loaded ({state.typesError}), so none can be created or
          changed right now.{" "}
          <button type="button" className="link" onClick={reload}>
            Retry
          </button>
        </div>
      )}
      <CredentialList
        credentials={credentials}
        error={state.error}
        now={now}
        typeLabel={typeLabel}
        canEdit={types !== null}
        onRetry={reload}
        onCreate={() => setDialog({ kind: "create" })}
        onEdit={(credential) => setDialog({ kind: "edit", credential })}
        onDelete={(credential) => setDialog({ kind: "delete", credential })}
      />
      {dialog && dialog.kind !== "delete" && types && (
        <CredentialDialog
          types={types}
          editing={dialog.kind === "edit" ? dialog.credential : null}
          onSaved={saved}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog?.kind === "delete" && (
        <ConfirmDialog
          title="Delete credential"
          confirmLabel="Delete"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await deleteCredential(dialog.credential.id);
            removed(dialog.credential.id);
          }}
        >
          <p>
            Delete <strong>{dialog.credential.name}</strong> for good? Workflows that use it fail at
            that node until they are given another credential.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function CredentialList({
  credentials,
  error,
  now,
  typeLabel,
  canEdit,
  onRetry,
  onCreate,
  onEdit,
  onDelete,
}: {
  credentials: CredentialView[] | null;
  error: string | null;
  now: number;
  typeLabel: (type: string) => string;
  canEdit: boolean;
  onRetry: () => void;
  onCreate: () => void;
  onEdit: (credential: CredentialView) => void;
  onDelete: (credential: CredentialView) => void;
}) {
  if (error) {
    return (
      <div className="card credentials-error" role="alert">
        <p>
          <strong>Your credentials could not be loaded.</strong> {error}
        </p>
        <button type="button" onClick={onRetry}>
          Retry
        </button>
      </div>
    );
  }
  if (credentials === null) {
    return (
      <div className="page-loading" aria-busy="true">
        Loading credentials…
      </div>
    );
  }
  if (credentials.length === 0) {
    return (
      <div className="empty-state" data-testid="credentials-empty">
        <h2>No credentials yet</h2>
        <p>Add an API key or webhook URL once, then pick it in any node that needs it.</p>
        <button type="button" className="primary" disabled={!canEdit} onClick={onCreate}>
          Add your first credential
        </button>
      </div>
    );
  }
  return (
    <table className="list credentials-table">
      <thead>
        <tr>
          <th>Name</th>
          <th>Type</th>
          <th>Created</th>
          <th>Updated</th>
          <th>
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {credentials.map((credential) => (
          <tr key={credential.id} data-testid="credential-row" data-credential-id={credential.id}>
            <td className="credential-name">{credential.name}</td>
            <td>{typeLabel(credential.type)}</td>
            <td title={new Date(credential.created_at).toLocaleString()}>
              {formatWhen(credential.created_at, now)}
            </td>
            <td title={new Date(credential.updated_at).toLocaleString()}>
              {formatWhen(credential.updated_at, now)}
            </td>
            <td className="credential-actions">
              <button
                type="button"
                className="link"
                data-testid="edit-credential"
                disabled={!canEdit}
                onClick={() => onEdit(credential)}
              >
                Edit
              </button>
              <button
                type="button"
                className="link danger-link"
                data-testid="delete-credential"
                onClick={() => onDelete(credential)}
              >
                Delete
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
