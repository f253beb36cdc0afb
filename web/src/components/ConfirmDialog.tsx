// "Are you sure?" before something that cannot be undone; the action's error shows inside.
import { useState } from "react";
import type { ReactNode } from "react";
import { errorMessage } from "../api/client";
import { Modal } from "./Modal";
import "./dialogs.css";

export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** Runs the action; the dialog closes itself only when it succeeds. */
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      onClose();
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={busy ? () => undefined : onClose}>
      <div>{children}</div>
      {error && (
        <div className="form-error confirm-error" role="alert">
          {error}
        </div>
      )}
      <div className="actions">
        <button type="button" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button
          type="button"
          className="primary danger-primary"
          onClick={() => void confirm()}
          disabled={busy}
          data-testid="confirm-button"
          autoFocus
        >
          {confirmLabel}
        </button>
      </div>
    </Modal>
  );
}
