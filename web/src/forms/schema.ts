// The pure logic behind SchemaForm: reading pydantic's JSON schemas ($ref, nullable anyOf,
// unions), deciding which control a field gets, and turning typed text into config values.
// Nothing here touches React, so every rule is unit-tested on the real node and credential
// schemas (testSchemas.ts).
import type { JsonSchema } from "../api/types";

export type Path = (string | number)[];

/** What a field is edited with. */
export type FieldKind =
  | { kind: "text"; multiline: boolean; password: boolean }
  | { kind: "number"; integer: boolean }
  | { kind: "boolean" }
  | { kind: "enum"; options: unknown[] }
  | { kind: "multi-enum"; options: unknown[] }
  | { kind: "object" }
  | { kind: "map"; values: JsonSchema | null }
  | { kind: "list"; items: JsonSchema }
  | { kind: "variants"; variants: JsonSchema[] }
  | { kind: "const"; value: unknown }
  | { kind: "any"; multiline: boolean };

const MAX_REF_DEPTH = 32;

/** The schema a `#/$defs/...` reference points at, or undefined when it points nowhere. */
function lookup(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === "object" && node !== null ? (node as JsonSchema) : undefined;
}

/**
 * Follow `$ref` (and pydantic's single-entry `allOf` wrapper) to the schema it names. Keys
 * beside the reference (title, description, default) win over the target's: they describe
 * this use of the shared model.
 */
export function resolve(root: JsonSchema, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; depth < MAX_REF_DEPTH; depth++) {
    if (current.$ref !== undefined) {
      const { $ref, ...beside } = current;
      const target = lookup(root, $ref);
      if (!target) return beside;
      current = { ...target, ...beside };
    } else if (current.allOf?.length === 1 && current.allOf[0]) {
      const { allOf, ...beside } = current;
      current = { ...allOf[0], ...beside };
    } else {
      return current;
    }
  }
  return current;
}

function isNullSchema(root: JsonSchema, schema: JsonSchema): boolean {
  const resolved = resolve(root, schema);
  return resolved.type === "null" || (resolved.const === null && resolved.type === undefined);
}

/** Keys of the outer schema that describe the field rather than its type. */
function fieldNotes(schema: JsonSchema): JsonSchema {
  const notes: JsonSchema = {};
  if (schema.title !== undefined) notes.title = schema.title;
  if (schema.description !== undefined) notes.description = schema.description;
  if ("default" in schema) notes.default = schema.default;
  if (schema.writeOnly !== undefined) notes.writeOnly = schema.writeOnly;
  if (schema["x-portico-template"] !== undefined) {
    notes["x-portico-template"] = schema["x-portico-template"];
  }
  return notes;
}

/**
 * Strip `null` from a field's type: `anyOf: [X, {type: null}]` and `type: [X, "null"]` become
 * X with `nullable` set. Such a field is optional: empty means omitted. A union of several
 * non-null branches stays a union (without the null branch).
 */
export function unwrapNullable(
  root: JsonSchema,
  schema: JsonSchema,
): { schema: JsonSchema; nullable: boolean } {
  const resolved = resolve(root, schema);
  if (Array.isArray(resolved.type)) {
    const types = resolved.type.filter((type) => type !== "null");
    if (types.length === resolved.type.length) return { schema: resolved, nullable: false };
    const type = types.length === 1 ? types[0] : types;
    return { schema: { ...resolved, type }, nullable: true };
  }
  const branches = resolved.anyOf ?? resolved.oneOf;
  if (!branches) return { schema: resolved, nullable: false };
  const others = branches.filter((branch) => !isNullSchema(root, branch));
  if (others.length === branches.length) return { schema: resolved, nullable: false };
  const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = resolved;
  if (others.length === 1 && others[0]) {
    return {
      schema: { ...resolve(root, others[0]), ...fieldNotes(rest) },
      nullable: true,
    };
  }
  return { schema: { ...rest, anyOf: others }, nullable: true };
}

const SCALAR_TYPES = new Set(["string", "number", "integer", "boolean"]);

function isScalarSchema(root: JsonSchema, schema: JsonSchema): boolean {
  const resolved = resolve(root, schema);
  return typeof resolved.type === "string" && SCALAR_TYPES.has(resolved.type);
}

/** Field names whose text is long enough to deserve a text area. */
const LONG_TEXT_FIELDS = new Set([
  "prompt",
  "system",
  "text",
  "content",
  "expression",
  "body",
  "description",
  "template",
  "message",
]);
/** Past this `maxLength`, any string gets a text area; below it, even a "long" name does not. */
const LONG_TEXT_LENGTH = 4000;
const SHORT_TEXT_LENGTH = 255;

function wantsTextArea(name: string, schema: JsonSchema): boolean {
  if (schema.format === "uri" || schema.format === "uri-reference") return false;
  const max = schema.maxLength;
  if (max !== undefined && max > LONG_TEXT_LENGTH) return true;
  if (max !== undefined && max <= SHORT_TEXT_LENGTH) return false;
  return LONG_TEXT_FIELDS.has(name);
}

/** Which control edits a field (after `unwrapNullable`). `name` is the property's key. */
export function classify(root: JsonSchema, schema: JsonSchema, name: string): FieldKind {
  if ("const" in schema) return { kind: "const", value: schema.const };
  if (schema.enum) return { kind: "enum", options: schema.enum };
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches && branches.length > 0) {
    // A union of plain scalars (`str | int`) is simplest typed as a loose JSON value.
    if (branches.every((branch) => isScalarSchema(root, branch))) {
      return { kind: "any", multiline: false };
    }
    return { kind: "variants", variants: branches.map((branch) => resolve(root, branch)) };
  }
  switch (schema.type) {
    case "string": {
      const password = schema.writeOnly === true || schema.format === "password";
      return { kind: "text", multiline: !password && wantsTextArea(name, schema), password };
    }
    case "number":
    case "integer":
      return { kind: "number", integer: schema.type === "integer" };
    case "boolean":
      return { kind: "boolean" };
    case "object": {
      if (schema.properties && Object.keys(schema.properties).length > 0) {
        return { kind: "object" };
      }
      const extra = schema.additionalProperties;
      return { kind: "map", values: typeof extra === "object" ? resolve(root, extra) : null };
    }
    case "array": {
      const items = resolve(root, schema.items ?? {});
      if (items.enum) return { kind: "multi-enum", options: items.enum };
      return { kind: "list", items };
    }
    default:
      return { kind: "any", multiline: LONG_TEXT_FIELDS.has(name) };
  }
}

/** Whether template syntax is allowed here (`x-portico-template: false` says it is not). */
export function takesTemplates(schema: JsonSchema, inherited = true): boolean {
  const flag = schema["x-portico-template"];
  return typeof flag === "boolean" ? flag : inherited;
}

// ---- labels ---------------------------------------------------------------------------------

const ACRONYMS: Record<string, string> = {
  url: "URL",
  api: "API",
  json: "JSON",
  id: "ID",
  http: "HTTP",
  hmac: "HMAC",
  tts: "TTS",
  uri: "URI",
  ai: "AI",
};
const UNIT_SUFFIXES: Record<string, string> = { s: "(s)", ms: "(ms)" };

/** "timeout_s" reads "Timeout (s)", "base_url" reads "Base URL", "api_key" reads "API key". */
export function humanize(name: string): string {
  const words = name.split(/[_\s]+/).filter(Boolean);
  return words
    .map((word, index) => {
      const lower = word.toLowerCase();
      if (index > 0 && index === words.length - 1 && UNIT_SUFFIXES[lower]) {
        return UNIT_SUFFIXES[lower];
      }
      if (ACRONYMS[lower]) return ACRONYMS[lower];
      return index === 0 ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower;
    })
    .join(" ");
}

/** The title pydantic makes up from a field name ("timeout_s" → "Timeout S"). */
function pydanticTitle(name: string): string {
  return name
    .split("_")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

/** A field's label: its own title when someone wrote one, else its name made readable. */
export function fieldLabel(name: string, schema: JsonSchema): string {
  const title = schema.title;
  if (title && title !== pydanticTitle(name)) return title;
  return humanize(name);
}

// ---- unions ---------------------------------------------------------------------------------

/** The property a union's object branches are told apart by, if any. */
export function discriminatorOf(schema: JsonSchema, variants: JsonSchema[]): string | null {
  if (schema.discriminator?.propertyName) return schema.discriminator.propertyName;
  // pydantic without an explicit discriminator: a property that is a const in every branch.
  const first = variants[0]?.properties;
  if (!first) return null;
  for (const key of Object.keys(first)) {
    if (variants.every((variant) => tagOf(variant, key) !== undefined)) return key;
  }
  return null;
}

/** The fixed value a branch has for the discriminator (`const` or a one-value enum). */
export function tagOf(variant: JsonSchema, discriminator: string): unknown {
  const prop = variant.properties?.[discriminator];
  if (!prop) return undefined;
  if ("const" in prop) return prop.const;
  if (prop.enum?.length === 1) return prop.enum[0];
  return undefined;
}

/** How a branch is named in the variant picker. */
export function variantLabel(
  variant: JsonSchema,
  index: number,
  discriminator: string | null,
): string {
  if (discriminator) {
    const tag = tagOf(variant, discriminator);
    if (tag !== undefined) return String(tag);
  }
  if (variant.title) return variant.title;
  if (typeof variant.type === "string") return variant.type === "object" ? "object" : variant.type;
  return `Option ${index + 1}`;
}

function jsonTypeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeFits(schemaType: JsonSchema["type"], valueType: string): boolean {
  const types = Array.isArray(schemaType) ? schemaType : [schemaType];
  return types.some(
    (type) => type === valueType || (type === "number" && valueType === "integer"),
  );
}

/** Which branch of a union the current value belongs to (0 when nothing tells). */
export function pickVariant(
  variants: JsonSchema[],
  value: unknown,
  discriminator: string | null,
): number {
  if (value === undefined || value === null) return 0;
  if (discriminator && isRecord(value)) {
    const tag = value[discriminator];
    const found = variants.findIndex((variant) => tagOf(variant, discriminator) === tag);
    if (found >= 0) return found;
  }
  const valueType = jsonTypeOf(value);
  let best = 0;
  let bestScore = -1;
  variants.forEach((variant, index) => {
    if (variant.type !== undefined && !typeFits(variant.type, valueType)) return;
    let score = 0;
    if (isRecord(value) && variant.properties) {
      const keys = Object.keys(variant.properties);
      score = Object.keys(value).filter((key) => keys.includes(key)).length;
    }
    if (score > bestScore) {
      best = index;
      bestScore = score;
    }
  });
  return best;
}

/** Whether `value` could belong to a branch (used to keep the branch a person picked). */
export function variantAccepts(
  variant: JsonSchema,
  value: unknown,
  discriminator: string | null,
): boolean {
  if (value === undefined || value === null) return true;
  if (discriminator && isRecord(value)) {
    const tag = tagOf(variant, discriminator);
    if (tag !== undefined) return tag === value[discriminator];
  }
  return variant.type === undefined || typeFits(variant.type, jsonTypeOf(value));
}

// ---- values ---------------------------------------------------------------------------------

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Nothing worth keeping in a config: unset, an empty string, `{}` or `[]`. */
export function isEmptyValue(value: unknown): boolean {
  if (value === undefined || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.keys(value).length === 0;
  return false;
}

/**
 * `record` with `key` set to `next`, or without `key` when `next` is undefined. Never mutates.
 * Key order is kept so a saved config does not reshuffle.
 */
export function withKey(
  record: Record<string, unknown>,
  key: string,
  next: unknown,
): Record<string, unknown> {
  if (next === undefined) {
    if (!(key in record)) return record;
    const { [key]: _dropped, ...rest } = record;
    return rest;
  }
  return { ...record, [key]: next };
}

/**
 * What to store for a property after an edit: unset when empty (an optional field left empty
 * is omitted, so the node's default applies; a required one left empty is reported missing by
 * the API rather than saved as ""), except that a required list or object stays as `[]`/`{}`.
 */
export function storedValue(next: unknown, required: boolean): unknown {
  if (next === "") return undefined;
  if (!required && isEmptyValue(next)) return undefined;
  return next;
}

/** `value` with the thing at `path` replaced (or removed when `next` is undefined). */
export function setAtPath(value: unknown, path: Path, next: unknown): unknown {
  if (path.length === 0) return next;
  const [head, ...rest] = path;
  if (typeof head === "number") {
    const list = Array.isArray(value) ? [...value] : [];
    const child = setAtPath(list[head], rest, next);
    if (child === undefined && rest.length === 0) list.splice(head, 1);
    else list[head] = child;
    return list;
  }
  const record = isRecord(value) ? value : {};
  return withKey(record, head as string, setAtPath(record[head as string], rest, next));
}

/** The thing at `path` inside `value`, or undefined. */
export function getAtPath(value: unknown, path: Path): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === "number") current = Array.isArray(current) ? current[key] : undefined;
    else current = isRecord(current) ? current[key] : undefined;
  }
  return current;
}

/** Remove unset and empty optional entries, deeply: what a config should be saved as. */
export function pruneEmpty(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => pruneEmpty(item) ?? null);
  if (!isRecord(value)) return value;
  let out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const pruned = pruneEmpty(item);
    if (!isEmptyValue(pruned)) out = { ...out, [key]: pruned };
  }
  return out;
}

/** Move a list item from one place to another (out of range: the list unchanged). */
export function moveItem<T>(list: T[], from: number, to: number): T[] {
  if (from < 0 || from >= list.length || to < 0 || to >= list.length) return list;
  const next = [...list];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item as T);
  return next;
}

/** A fresh value for a new list item or a newly chosen union branch. */
export function initialValue(
  root: JsonSchema,
  schema: JsonSchema,
  discriminator: string | null = null,
): unknown {
  const resolved = resolve(root, schema);
  if (resolved.default !== undefined && resolved.default !== null) return resolved.default;
  if ("const" in resolved) return resolved.const;
  if (resolved.enum) return resolved.enum[0];
  switch (resolved.type) {
    case "object": {
      const tag = discriminator ? tagOf(resolved, discriminator) : undefined;
      return discriminator && tag !== undefined ? { [discriminator]: tag } : {};
    }
    case "array":
      return [];
    case "string":
      return "";
    case "boolean":
      return false;
    case "number":
    case "integer":
      return resolved.minimum ?? 0;
    default:
      return "";
  }
}

// ---- typed text -----------------------------------------------------------------------------

/**
 * A value typed into a field that takes any JSON (condition `value`, http `body`…). Text is
 * kept as text unless it is a JSON object, array, number or boolean; quote it (`"42"`) to keep
 * JSON-looking text as a string. Empty means unset. `null` stays the text "null".
 */
export function parseLoose(text: string): unknown {
  if (text.trim() === "") return undefined;
  const trimmed = text.trim();
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (parsed !== null) return parsed;
  } catch {
    // Not JSON: plain text.
  }
  return text;
}

/** The text that shows a loose value, such that `parseLoose(formatLoose(v))` gives v back. */
export function formatLoose(value: unknown, pretty = false): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") {
    return parseLoose(value) === value ? value : JSON.stringify(value);
  }
  return pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
}

export type NumberParse = { value: number | undefined; problem: string | null };

/** A number typed into a number field, with what is wrong with it per the schema. */
export function parseNumber(text: string, schema: JsonSchema, integer: boolean): NumberParse {
  const trimmed = text.trim();
  if (trimmed === "") return { value: undefined, problem: null };
  const value = Number(trimmed);
  if (!Number.isFinite(value)) return { value: undefined, problem: "Enter a number." };
  if (integer && !Number.isInteger(value)) {
    return { value: undefined, problem: "Enter a whole number." };
  }
  return { value, problem: rangeProblem(value, schema) };
}

function rangeProblem(value: number, schema: JsonSchema): string | null {
  if (schema.minimum !== undefined && value < schema.minimum) {
    return `At least ${schema.minimum}.`;
  }
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
    return `More than ${schema.exclusiveMinimum}.`;
  }
  if (schema.maximum !== undefined && value > schema.maximum) {
    return `At most ${schema.maximum}.`;
  }
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) {
    return `Less than ${schema.exclusiveMaximum}.`;
  }
  return null;
}

/** Whether two JSON values are the same (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => key in b && sameJson(a[key], b[key]));
  }
  return false;
}

// ---- key/value rows -------------------------------------------------------------------------

export interface MapRow {
  key: string;
  text: string;
}

/** An object shown as name/value rows; values typed per `values` (null: any JSON). */
export function mapToRows(record: Record<string, unknown>, values: JsonSchema | null): MapRow[] {
  return Object.entries(record).map(([key, item]) => ({
    key,
    text: valueIsText(values) && typeof item === "string" ? item : formatLoose(item),
  }));
}

/** The object the rows stand for: unnamed rows are left out, a repeated name: the last wins. */
export function rowsToMap(rows: MapRow[], values: JsonSchema | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of rows) {
    if (row.key === "") continue;
    out[row.key] = valueIsText(values) ? row.text : (parseLoose(row.text) ?? "");
  }
  return out;
}

/** Rows whose name an earlier row already has (their value is the one that counts). */
export function repeatedRows(rows: MapRow[]): Set<number> {
  const seen = new Set<string>();
  const repeated = new Set<number>();
  rows.forEach((row, index) => {
    if (row.key === "") return;
    if (seen.has(row.key)) repeated.add(index);
    seen.add(row.key);
  });
  return repeated;
}

function valueIsText(values: JsonSchema | null): boolean {
  return values?.type === "string";
}

// ---- errors ---------------------------------------------------------------------------------

/**
 * Errors no field of the form shows: their first path segment is not a visible property. The
 * form lists them above its fields, so no problem the API reports goes unseen.
 */
export function strayErrors(
  root: JsonSchema,
  errors: Record<string, string>,
  hidden: string[] = [],
): [string, string][] {
  const shown = Object.keys(resolve(root, root).properties ?? {}).filter(
    (key) => !hidden.includes(key),
  );
  return Object.entries(errors).filter(([path]) => !shown.includes(path.split(".")[0] ?? ""));
}

/** The dotted form of a path, as errors are keyed ("rules.0.branch"). */
export function dotted(path: Path): string {
  return path.join(".");
}

/** How a loose value was read, shown under the field so "42" vs 42 is never a surprise. */
export function looseTypeName(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return "text";
  if (typeof value === "boolean") return "true/false";
  if (Array.isArray(value)) return "JSON list";
  if (typeof value === "object") return "JSON object";
  return typeof value;
}

/** What an input shows while empty: the default the field falls back to. */
export function placeholderOf(schema: JsonSchema): string | undefined {
  const fallback = schema.default;
  if (fallback === undefined || fallback === null || fallback === "") return undefined;
  return typeof fallback === "string" ? fallback : JSON.stringify(fallback);
}
