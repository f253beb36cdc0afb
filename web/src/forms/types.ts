// The contract of the schema-generated form (SchemaForm.tsx) that node configs and credential
// data are edited with.
import type { ReactNode } from "react";
import type { JsonSchema } from "../api/types";

export interface SchemaFormProps {
  /** An object schema as the API gives it (pydantic's JSON schema, `$defs` and all). */
  schema: JsonSchema;
  value: Record<string, unknown>;
  onChange: (value: Record<string, unknown>) => void;
  /** Problems to show beside their field, keyed by dotted path ("url", "rules.0.branch"). */
  errors?: Record<string, string>;
  /** Prefix for input ids and names, so two forms on one page do not clash. */
  idPrefix?: string;
  /** Shown under string fields that take templates (the node form's variable hints). */
  templateHint?: ReactNode;
  /** Fields never to show (e.g. already edited elsewhere). */
  hidden?: string[];
  disabled?: boolean;
}
