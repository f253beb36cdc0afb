// Controls for single values: text, numbers, booleans, choices, and any-JSON fields.
import type { ChangeEvent, ReactNode } from "react";
import type { ControlProps, FieldInfo } from "./Field";
import { FieldError, FieldLabel, Hint, TemplateNote, describedBy } from "./FieldParts";
import {
  formatLoose,
  looseTypeName,
  parseLoose,
  parseNumber,
  placeholderOf,
  sameJson,
} from "./schema";
import { useDraft } from "./useDraft";

/** Label, control, hint, template note and error, stacked. */
function FieldShell({
  info,
  error,
  templates,
  children,
  note,
}: {
  info: FieldInfo;
  error?: string | null;
  templates?: boolean;
  children: ReactNode;
  note?: ReactNode;
}) {
  return (
    <div className="field schema-form-field">
      <FieldLabel htmlFor={info.id} required={info.required}>
        {info.label}
      </FieldLabel>
      {children}
      <Hint text={info.hint} id={`${info.id}-hint`} />
      {note}
      <TemplateNote show={templates ?? false} />
      <FieldError message={error ?? info.error} id={`${info.id}-error`} />
    </div>
  );
}

/** The attributes every input of a field carries. */
function inputAttributes(info: FieldInfo, error?: string | null) {
  const shownError = error ?? info.error;
  return {
    id: info.id,
    name: info.id,
    "aria-required": info.required || undefined,
    "aria-invalid": shownError ? true : undefined,
    "aria-describedby": describedBy(info.id, info.hint, shownError),
  };
}

export function TextField({
  info,
  value,
  onChange,
  multiline,
  password,
}: ControlProps & { multiline: boolean; password: boolean }) {
  const text = typeof value === "string" ? value : formatLoose(value);
  const attributes = {
    ...inputAttributes(info),
    value: text,
    placeholder: placeholderOf(info.schema),
    onChange: (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) =>
      onChange(event.target.value),
  };
  return (
    <FieldShell info={info} templates={info.templated && !password}>
      {multiline ? (
        <textarea {...attributes} rows={info.name === "prompt" ? 8 : 4} />
      ) : (
        <input
          {...attributes}
          type={password ? "password" : "text"}
          // A secret field must not be filled with the person's Portico password.
          autoComplete={password ? "new-password" : "off"}
          spellCheck={false}
        />
      )}
    </FieldShell>
  );
}

export function NumberField({
  info,
  value,
  onChange,
  integer,
}: ControlProps & { integer: boolean }) {
  const [draft, edit] = useDraft(value, (current) =>
    typeof current === "number" ? String(current) : formatLoose(current),
  );
  const { problem } = parseNumber(draft, info.schema, integer);
  return (
    <FieldShell info={info} error={info.error ?? problem}>
      <input
        {...inputAttributes(info, info.error ?? problem)}
        type="text"
        inputMode={integer ? "numeric" : "decimal"}
        autoComplete="off"
        value={draft}
        placeholder={placeholderOf(info.schema)}
        onChange={(event) => {
          const parsed = parseNumber(event.target.value, info.schema, integer);
          edit(event.target.value, parsed.value);
          onChange(parsed.value);
        }}
      />
    </FieldShell>
  );
}

export function BooleanField({ info, value, onChange }: ControlProps) {
  const fallback = info.schema.default;
  if (info.nullable) {
    // Three states: unset (the node decides), yes, no.
    const current = typeof value === "boolean" ? String(value) : "";
    return (
      <FieldShell info={info}>
        <select
          {...inputAttributes(info)}
          value={current}
          onChange={(event) =>
            onChange(event.target.value === "" ? undefined : event.target.value === "true")
          }
        >
          <option value="">Not set</option>
          <option value="true">Yes</option>
          <option value="false">No</option>
        </select>
      </FieldShell>
    );
  }
  const checked = typeof value === "boolean" ? value : fallback === true;
  return (
    <div className="field schema-form-field schema-form-checkbox">
      <input
        {...inputAttributes(info)}
        type="checkbox"
        checked={checked}
        // The default is not written: an unset field follows the node's default.
        onChange={(event) =>
          onChange(event.target.checked === fallback ? undefined : event.target.checked)
        }
      />
      <FieldLabel htmlFor={info.id}>{info.label}</FieldLabel>
      <Hint text={info.hint} id={`${info.id}-hint`} />
      <FieldError message={info.error} id={`${info.id}-error`} />
    </div>
  );
}

export function EnumField({
  info,
  value,
  onChange,
  options,
}: ControlProps & { options: unknown[] }) {
  const fallback = info.schema.default;
  const current = value ?? fallback;
  const selected = options.findIndex((option) => sameJson(option, current));
  const needsBlank = selected < 0 || info.nullable;
  return (
    <FieldShell info={info}>
      <select
        {...inputAttributes(info)}
        value={selected < 0 ? "" : String(selected)}
        onChange={(event) => {
          const picked = event.target.value;
          const chosen = picked === "" ? undefined : options[Number(picked)];
          onChange(chosen !== undefined && sameJson(chosen, fallback) ? undefined : chosen);
        }}
      >
        {needsBlank && (
          <option value="" disabled={info.required}>
            {info.required ? "Choose…" : "Not set"}
          </option>
        )}
        {options.map((option, index) => (
          <option key={index} value={String(index)}>
            {String(option)}
          </option>
        ))}
      </select>
    </FieldShell>
  );
}

export function ConstField({ info, constant }: ControlProps & { constant: unknown }) {
  return (
    <FieldShell info={info}>
      <input {...inputAttributes(info)} type="text" value={formatLoose(constant)} readOnly />
    </FieldShell>
  );
}

/**
 * A field that takes any JSON value. Text stays text unless it reads as a JSON object, list,
 * number or true/false (see `parseLoose`); the note under it says how it was read.
 */
export function AnyField({
  info,
  value,
  onChange,
  multiline,
}: ControlProps & { multiline: boolean }) {
  const [draft, edit] = useDraft(value, (current) => formatLoose(current, multiline));
  const readAs = looseTypeName(parseLoose(draft));
  const update = (text: string) => {
    const parsed = parseLoose(text);
    edit(text, parsed);
    onChange(parsed);
  };
  const attributes = {
    ...inputAttributes(info),
    value: draft,
    placeholder: placeholderOf(info.schema),
    spellCheck: false,
  };
  const note = (
    <div className="hint schema-form-read-as">
      {readAs === null && "Text or JSON."}
      {readAs === "text" && "Read as text."}
      {readAs !== null &&
        readAs !== "text" &&
        `Read as ${readAs}; put it in "quotes" to keep it text.`}
    </div>
  );
  return (
    <FieldShell info={info} templates={info.templated} note={note}>
      {multiline ? (
        <textarea {...attributes} rows={5} onChange={(event) => update(event.target.value)} />
      ) : (
        <input
          {...attributes}
          type="text"
          autoComplete="off"
          onChange={(event) => update(event.target.value)}
        />
      )}
    </FieldShell>
  );
}
