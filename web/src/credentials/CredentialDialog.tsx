// Create a credential, or change one: its name and/or its secret. The secret fields start
// empty when editing (the API never gives them back) and empty means "keep the secret".
import { useState } from "react";
import type { FormEvent } from "react";
import type { CredentialTypeView, CredentialView, JsonSchema } from "../api/types";
import { useNodeTypes } from "../api/useNodeTypes";
import { Modal } from "../components/Modal";
import { SchemaForm } from "../forms/SchemaForm";
import { pruneEmpty } from "../forms/schema";
import { createCredential, updateCredential } from "./api";
import type { CredentialType } from "./api";
import { credentialProblems } from "./errors";
import type { CredentialProblems } from "./errors";

const MAX_NAME_LENGTH = 200;
const NO_PROBLEMS: CredentialProblems = { name: null, type: null, data: {}, message: null };

/** The data to send: what was typed, without empty fields; null when nothing was. */
export function dataToSend(data: Record<string, unknown>): Record<string, unknown> | null {
  const pruned = pruneEmpty(data) as Record<string, unknown>;
  return Object.keys(pruned).length > 0 ? pruned : null;
}

export function CredentialDialog({
  types,
  editing,
  onSaved,
  onClose,
}: {
  types: CredentialTypeView[];
  /** The credential to change; none to create one. */
  editing: CredentialView | null;
  onSaved: (credential: CredentialView) => void;
  onClose: () => void;
}) {
  const [type, setType] = useState<CredentialType | "">(editing?.type ?? "");
  const [name, setName] = useState(editing?.name ?? "");
  // The secret lives here only while the dialog is open; it is cleared on success.
  const [data, setData] = useState<Record<string, unknown>>({});
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<CredentialProblems>(NO_PROBLEMS);
  const chosen = types.find((candidate) => candidate.name === type);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    const local = localProblems(trimmed, type, editing);
    if (local) {
      setProblems(local);
      return;
    }
    const secret = dataToSend(data);
    setBusy(true);
    setProblems(NO_PROBLEMS);
    try {
      let saved: CredentialView;
      if (editing) {
        const rename = trimmed !== editing.name ? trimmed : undefined;
        if (rename === undefined && secret === null) {
          onClose(); // nothing changed
          return;
        }
        saved = await updateCredential(editing.id, { name: rename, data: secret ?? undefined });
      } else {
        saved = await createCredential(trimmed, type as CredentialType, secret ?? {});
      }
      setData({});
      onSaved(saved);
      onClose();
    } catch (error) {
      setProblems(credentialProblems(error));
      setBusy(false);
    }
  };

  return (
    <Modal
      title={editing ? "Edit credential" : "New credential"}
      onClose={busy ? () => undefined : onClose}
    >
      <form onSubmit={save} noValidate className="credential-form" autoComplete="off">
        {problems.message && (
          <div className="form-error" role="alert">
            {problems.message}
          </div>
        )}
        <TypeField
          types={types}
          type={type}
          editing={editing !== null}
          error={problems.type}
          onChange={(next) => {
            setType(next);
            setData({}); // another type, other fields
          }}
        />
        <div className="field">
          <label htmlFor="credential-name">Name</label>
          <input
            id="credential-name"
            name="credential-name"
            data-testid="credential-name"
            value={name}
            maxLength={MAX_NAME_LENGTH}
            placeholder={chosen ? `${chosen.label} (team account)` : "A name you will recognise"}
            aria-invalid={problems.name ? true : undefined}
            onChange={(event) => setName(event.target.value)}
          />
          {problems.name && <div className="field-error">{problems.name}</div>}
        </div>
        {chosen && (
          <div className="credential-data">
            <h3>{editing ? "Replace the secret" : "Secret"}</h3>
            {editing && (
              <p className="hint credential-keep-note" data-testid="keep-secret-note">
                The saved values are never shown again. Leave every field empty to keep them; to
                replace them, fill in every required field.
              </p>
            )}
            <SchemaForm
              schema={chosen.data_schema as JsonSchema}
              value={data}
              onChange={setData}
              errors={problems.data}
              idPrefix="credential-data-"
              disabled={busy}
            />
          </div>
        )}
        <div className="actions">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="save-credential" disabled={busy}>
            {busy ? "Saving…" : editing ? "Save" : "Create credential"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** What the form can tell before asking the gateway. */
function localProblems(
  name: string,
  type: CredentialType | "",
  editing: CredentialView | null,
): CredentialProblems | null {
  if (!editing && type === "") {
    return { ...NO_PROBLEMS, type: "Choose what kind of credential this is." };
  }
  if (name === "") return { ...NO_PROBLEMS, name: "Give the credential a name." };
  return null;
}

function TypeField({
  types,
  type,
  editing,
  error,
  onChange,
}: {
  types: CredentialTypeView[];
  type: CredentialType | "";
  editing: boolean;
  error: string | null;
  onChange: (type: CredentialType) => void;
}) {
  const chosen = types.find((candidate) => candidate.name === type);
  const nodeTypes = useNodeTypes().types;
  const nodeLabel = (name: string) => nodeTypes?.find((node) => node.name === name)?.label ?? name;
  return (
    <div className="field">
      <label htmlFor="credential-type">Type</label>
      <select
        id="credential-type"
        name="credential-type"
        data-testid="credential-type"
        value={type}
        disabled={editing}
        aria-invalid={error ? true : undefined}
        onChange={(event) => onChange(event.target.value as CredentialType)}
      >
        <option value="" disabled>
          Choose a type…
        </option>
        {types.map((candidate) => (
          <option key={candidate.name} value={candidate.name}>
            {candidate.label}
          </option>
        ))}
      </select>
      {chosen && chosen.node_types.length > 0 && (
        <div className="hint">For {chosen.node_types.map(nodeLabel).join(", ")} nodes.</div>
      )}
      {editing && <div className="hint">The type of a credential cannot change.</div>}
      {error && <div className="field-error">{error}</div>}
    </div>
  );
}
