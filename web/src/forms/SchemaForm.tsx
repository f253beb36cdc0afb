// A form generated from a pydantic JSON schema: node configs and credential data are edited
// with it. The value holds only what the person set: unset optional fields are omitted, so
// defaults stay the node's (see schema.ts for every rule).
import { useMemo } from "react";
import "./forms.css";
import { FormContext } from "./FormContext";
import type { FormContextValue } from "./FormContext";
import { ObjectFields } from "./GroupFields";
import { resolve, strayErrors } from "./schema";
import type { SchemaFormProps } from "./types";

const NO_ERRORS: Record<string, string> = {};

export function SchemaForm({
  schema,
  value,
  onChange,
  errors = NO_ERRORS,
  idPrefix = "",
  templateHint,
  hidden,
  disabled = false,
}: SchemaFormProps) {
  const context = useMemo<FormContextValue>(
    () => ({ root: schema, idPrefix, errors, templateHint }),
    [schema, idPrefix, errors, templateHint],
  );
  const objectSchema = resolve(schema, schema);
  const stray = strayErrors(schema, errors, hidden);
  const shown = Object.keys(objectSchema.properties ?? {}).filter((key) => !hidden?.includes(key));
  return (
    <FormContext.Provider value={context}>
      {/* A disabled fieldset disables every control inside it. */}
      <fieldset className="schema-form" disabled={disabled}>
        {stray.length > 0 && (
          <div className="form-error" role="alert">
            {stray.map(([path, message]) => (
              <div key={path}>{path ? `${path}: ${message}` : message}</div>
            ))}
          </div>
        )}
        {shown.length === 0 && <p className="muted small">Nothing to set up here.</p>}
        <ObjectFields
          schema={objectSchema}
          value={value}
          onChange={onChange}
          path={[]}
          templated
          hidden={hidden}
        />
      </fieldset>
    </FormContext.Provider>
  );
}
