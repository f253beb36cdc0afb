import { useState } from "react";
import type { FormEvent } from "react";
import { errorMessage } from "../api/client";
import { Modal } from "../components/Modal";

/** The longest workflow name the gateway takes. */
export const MAX_NAME_LENGTH = 200;

export function RenameDialog({
  name,
  onRename,
  onClose,
}: {
  name: string;
  onRename: (name: string) => Promise<void>;
  onClose: () => void;
}) {
  const [draft, setDraft] = useState(name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const trimmed = draft.trim();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (trimmed === "") {
      setError("Give the workflow a name.");
      return;
    }
    if (trimmed === name) {
      onClose();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onRename(trimmed);
      onClose();
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  };
  return (
    <Modal title="Rename workflow" onClose={busy ? () => undefined : onClose}>
      <form onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="rename-workflow-name">Name</label>
          <input
            id="rename-workflow-name"
            name="name"
            value={draft}
            maxLength={MAX_NAME_LENGTH}
            autoFocus
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            onChange={(event) => setDraft(event.target.value)}
          />
        </div>
        {error && (
          <div className="form-error" role="alert">
            {error}
          </div>
        )}
        <div className="actions">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : "Rename"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
