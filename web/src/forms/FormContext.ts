// What every field of one SchemaForm shares, so it need not be passed down each level.
import { createContext, useContext } from "react";
import type { ReactNode } from "react";
import type { JsonSchema } from "../api/types";

export interface FormContextValue {
  /** The whole schema: `$ref`s resolve against its `$defs`. */
  root: JsonSchema;
  idPrefix: string;
  errors: Record<string, string>;
  templateHint: ReactNode;
}

export const FormContext = createContext<FormContextValue | null>(null);

export function useFormContext(): FormContextValue {
  const context = useContext(FormContext);
  if (!context) throw new Error("a schema form field outside SchemaForm");
  return context;
}
