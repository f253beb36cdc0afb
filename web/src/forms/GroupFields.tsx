// Controls for values made of parts: nested objects, lists, key/value maps, multi-choice
// lists and unions (a picker for the branch, then the branch's own fields).
import { useState } from "react";
import type { JsonSchema } from "../api/types";
import { Field } from "./Field";
import type { ControlProps, FieldInfo } from "./Field";
import { FieldError, FieldLabel, Hint, TemplateNote } from "./FieldParts";
import { useFormContext } from "./FormContext";
import {
  classify,
  discriminatorOf,
  dotted,
  initialValue,
  isRecord,
  mapToRows,
  moveItem,
  pickVariant,
  repeatedRows,
  rowsToMap,
  sameJson,
  storedValue,
  tagOf,
  unwrapNullable,
  variantAccepts,
  variantLabel,
  withKey,
} from "./schema";
import type { MapRow, Path } from "./schema";

/** A titled box around a group of controls, with its hint and error. */
function Group({ info, children }: { info: FieldInfo; children: React.ReactNode }) {
  return (
    <fieldset
      className="schema-form-group"
      id={info.id}
      aria-describedby={info.hint ? `${info.id}-hint` : undefined}
    >
      <legend className={info.required ? "schema-form-required" : undefined}>{info.label}</legend>
      <Hint text={info.hint} id={`${info.id}-hint`} />
      {children}
      <FieldError message={info.error} id={`${info.id}-error`} />
    </fieldset>
  );
}

export interface ObjectFieldsProps {
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (next: Record<string, unknown>) => void;
  path: Path;
  templated: boolean;
  hidden?: string[];
}

/** The properties of an object schema, each as its own field. */
export function ObjectFields(props: ObjectFieldsProps) {
  const { schema, value, onChange, path, templated, hidden = [] } = props;
  const required = new Set(schema.required ?? []);
  const properties = Object.entries(schema.properties ?? {}).filter(
    ([key]) => !hidden.includes(key),
  );
  return (
    <>
      {properties.map(([key, property]) => (
        <Field
          key={key}
          name={key}
          path={[...path, key]}
          schema={property}
          value={value[key]}
          required={required.has(key)}
          templated={templated}
          onChange={(next) => onChange(withKey(value, key, storedValue(next, required.has(key))))}
        />
      ))}
    </>
  );
}

export function ObjectField({ info, value, onChange }: ControlProps) {
  return (
    <Group info={info}>
      <ObjectFields
        schema={info.schema}
        value={isRecord(value) ? value : {}}
        onChange={onChange}
        path={info.path}
        templated={info.templated}
      />
    </Group>
  );
}

/** "Rules" → "rule": the name of one item, for "Add rule". */
function singular(label: string): string {
  const lower = label.toLowerCase();
  return lower.endsWith("s") && !lower.endsWith("ss") ? lower.slice(0, -1) : lower;
}

export function ListField({ info, value, onChange, items }: ControlProps & { items: JsonSchema }) {
  const { root, errors } = useFormContext();
  const list = Array.isArray(value) ? value : [];
  const itemType = unwrapNullable(root, items).schema;
  const objectItems = classify(root, itemType, info.name).kind === "object";
  const full = info.schema.maxItems !== undefined && list.length >= info.schema.maxItems;
  const setItem = (index: number, next: unknown) => {
    const copy = [...list];
    // An emptied item stays in place (as null) until it is removed with its button.
    copy[index] = next === undefined ? null : next;
    onChange(copy);
  };
  const add = () => onChange([...list, initialValue(root, items)]);
  return (
    <Group info={info}>
      {list.length === 0 && <p className="muted small schema-form-empty">None yet.</p>}
      <ol className="schema-form-list">
        {list.map((item, index) => {
          const itemLabel = `${info.label} ${index + 1}`;
          const itemPath = [...info.path, index];
          const buttons = (
            <ItemButtons
              label={itemLabel}
              index={index}
              count={list.length}
              onMove={(to) => onChange(moveItem(list, index, to))}
              onRemove={() => onChange(list.filter((_, other) => other !== index))}
            />
          );
          if (!objectItems) {
            return (
              <li key={index} className="schema-form-scalar-item">
                <Field
                  name={info.name}
                  path={itemPath}
                  schema={items}
                  value={item}
                  required
                  templated={info.templated}
                  label={itemLabel}
                  onChange={(next) => setItem(index, next)}
                />
                {buttons}
              </li>
            );
          }
          return (
            <li key={index}>
              <fieldset className="schema-form-item">
                <legend>{itemLabel}</legend>
                {buttons}
                <ObjectFields
                  schema={itemType}
                  value={isRecord(item) ? item : {}}
                  onChange={(next) => setItem(index, next)}
                  path={itemPath}
                  templated={info.templated}
                />
                <FieldError message={errors[dotted(itemPath)]} />
              </fieldset>
            </li>
          );
        })}
      </ol>
      <button type="button" className="link schema-form-add" onClick={add} disabled={full}>
        + Add {singular(info.label)}
      </button>
    </Group>
  );
}

function ItemButtons({
  label,
  index,
  count,
  onMove,
  onRemove,
}: {
  label: string;
  index: number;
  count: number;
  onMove: (to: number) => void;
  onRemove: () => void;
}) {
  return (
    <div className="schema-form-item-buttons">
      <button
        type="button"
        className="icon"
        aria-label={`Move ${label} up`}
        title="Move up"
        disabled={index === 0}
        onClick={() => onMove(index - 1)}
      >
        ↑
      </button>
      <button
        type="button"
        className="icon"
        aria-label={`Move ${label} down`}
        title="Move down"
        disabled={index === count - 1}
        onClick={() => onMove(index + 1)}
      >
        ↓
      </button>
      <button
        type="button"
        className="icon danger"
        aria-label={`Remove ${label}`}
        title="Remove"
        onClick={onRemove}
      >
        ×
      </button>
    </div>
  );
}

/** An object of free names: one row per entry, a name and a value. */
export function MapField({
  info,
  value,
  onChange,
  values,
}: ControlProps & { values: JsonSchema | null }) {
  const { errors } = useFormContext();
  const record = isRecord(value) ? value : {};
  const [rows, setRows] = useState<MapRow[]>(() => mapToRows(record, values));
  const [seen, setSeen] = useState<Record<string, unknown>>(record);
  if (!sameJson(seen, record)) {
    // Changed from outside (another node, a reset): show the new entries.
    setSeen(record);
    setRows(mapToRows(record, values));
  }
  const update = (next: MapRow[]) => {
    const emitted = rowsToMap(next, values);
    setRows(next);
    setSeen(emitted);
    onChange(emitted);
  };
  const repeated = repeatedRows(rows);
  const textValues = values?.type === "string";
  return (
    <Group info={info}>
      {rows.length > 0 && (
        <div className="schema-form-map-head" aria-hidden="true">
          <span>Name</span>
          <span>Value</span>
        </div>
      )}
      {rows.map((row, index) => {
        const rowId = `${info.id}.${index}`;
        const rowError = repeated.has(index)
          ? `"${row.key}" is used twice; this one counts.`
          : row.key === "" && row.text !== ""
            ? "Give this entry a name."
            : errors[dotted([...info.path, row.key])];
        const setRow = (patch: Partial<MapRow>) =>
          update(rows.map((other, at) => (at === index ? { ...other, ...patch } : other)));
        return (
          <div key={index} className="schema-form-map-row">
            <FieldLabel htmlFor={`${rowId}.key`} className="visually-hidden">
              {`${info.label} name ${index + 1}`}
            </FieldLabel>
            <input
              id={`${rowId}.key`}
              name={`${rowId}.key`}
              type="text"
              autoComplete="off"
              spellCheck={false}
              value={row.key}
              onChange={(event) => setRow({ key: event.target.value })}
            />
            <FieldLabel htmlFor={`${rowId}.value`} className="visually-hidden">
              {`${info.label} value ${index + 1}`}
            </FieldLabel>
            <input
              id={`${rowId}.value`}
              name={`${rowId}.value`}
              type="text"
              autoComplete="off"
              spellCheck={false}
              value={row.text}
              placeholder={textValues ? undefined : "text or JSON"}
              onChange={(event) => setRow({ text: event.target.value })}
            />
            <button
              type="button"
              className="icon danger"
              aria-label={`Remove ${info.label} ${row.key || `entry ${index + 1}`}`}
              title="Remove"
              onClick={() => update(rows.filter((_, at) => at !== index))}
            >
              ×
            </button>
            <FieldError message={rowError} />
          </div>
        );
      })}
      <button
        type="button"
        className="link schema-form-add"
        onClick={() => update([...rows, { key: "", text: "" }])}
      >
        + Add {info.label.toLowerCase().endsWith("s") ? singular(info.label) : "entry"}
      </button>
      <TemplateNote show={info.templated && rows.length > 0} />
    </Group>
  );
}

/** A list whose items are choices (webhook methods): one checkbox per choice. */
export function MultiEnumField({
  info,
  value,
  onChange,
  options,
}: ControlProps & { options: unknown[] }) {
  const chosen = Array.isArray(value) ? value : [];
  const isChosen = (option: unknown) => chosen.some((item) => sameJson(item, option));
  // The choices stay in the schema's order, whatever order they were ticked in.
  const toggle = (option: unknown, on: boolean) =>
    onChange(options.filter((other) => (sameJson(other, option) ? on : isChosen(other))));
  return (
    <Group info={info}>
      <div className="schema-form-choices">
        {options.map((option, index) => {
          const id = `${info.id}.${index}`;
          return (
            <span key={index} className="schema-form-choice">
              <input
                id={id}
                name={id}
                type="checkbox"
                checked={isChosen(option)}
                onChange={(event) => toggle(option, event.target.checked)}
              />
              <label htmlFor={id}>{String(option)}</label>
            </span>
          );
        })}
      </div>
    </Group>
  );
}

/** A union: pick the branch, then fill in its fields. */
export function VariantsField({
  info,
  value,
  onChange,
  variants,
}: ControlProps & { variants: JsonSchema[] }) {
  const { root } = useFormContext();
  const discriminator = discriminatorOf(info.schema, variants);
  // The branch a person picked stays picked while the value fits it (two object branches
  // without a tag cannot be told apart from an empty value).
  const [picked, setPicked] = useState<number | null>(null);
  // An optional union left unset shows "Not set" rather than a branch it does not have.
  const unset = !info.required && (value === undefined || value === null) && picked === null;
  const current =
    picked !== null && variants[picked] && variantAccepts(variants[picked], value, discriminator)
      ? picked
      : pickVariant(variants, value, discriminator);
  const variant = variants[current] ?? {};
  const tag = discriminator ? tagOf(variant, discriminator) : undefined;
  // The branch's tag goes with whatever is typed into it, so the value says which branch it is.
  const withTag = (next: Record<string, unknown>) =>
    discriminator && tag !== undefined ? { ...next, [discriminator]: tag } : next;
  const variantType = unwrapNullable(root, variant).schema;
  const objectBranch = classify(root, variantType, info.name).kind === "object";
  const pickerId = `${info.id}:variant`;
  return (
    <Group info={info}>
      <div className="field">
        <label htmlFor={pickerId}>{`${info.label} type`}</label>
        <select
          id={pickerId}
          name={pickerId}
          value={unset ? "" : String(current)}
          onChange={(event) => {
            if (event.target.value === "") {
              setPicked(null);
              onChange(undefined);
              return;
            }
            const index = Number(event.target.value);
            setPicked(index);
            onChange(initialValue(root, variants[index] ?? {}, discriminator));
          }}
        >
          {!info.required && <option value="">Not set</option>}
          {variants.map((branch, index) => (
            <option key={index} value={String(index)}>
              {variantLabel(branch, index, discriminator)}
            </option>
          ))}
        </select>
      </div>
      {unset ? null : objectBranch ? (
        <ObjectFields
          schema={variantType}
          value={isRecord(value) ? value : {}}
          onChange={(next) => onChange(withTag(next))}
          path={info.path}
          templated={info.templated}
          hidden={discriminator ? [discriminator] : []}
        />
      ) : (
        <Field
          name={info.name}
          path={info.path}
          schema={variant}
          value={value}
          onChange={onChange}
          required={info.required}
          templated={info.templated}
          label="Value"
        />
      )}
    </Group>
  );
}
