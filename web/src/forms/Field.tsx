// One field of a schema form: works out what the schema asks for, then hands over to the
// control that edits it.
import type { JsonSchema } from "../api/types";
import { useFormContext } from "./FormContext";
import { ListField, MapField, MultiEnumField, ObjectField, VariantsField } from "./GroupFields";
import {
  AnyField,
  BooleanField,
  ConstField,
  EnumField,
  NumberField,
  TextField,
} from "./ScalarFields";
import { classify, dotted, fieldLabel, takesTemplates, unwrapNullable } from "./schema";
import type { FieldKind, Path } from "./schema";

export interface FieldProps {
  /** The property's key: the label comes from it, and long-text names get a text area. */
  name: string;
  path: Path;
  /** The property's schema as written (before `$ref` and nullable are unwrapped). */
  schema: JsonSchema;
  value: unknown;
  onChange: (next: unknown) => void;
  required: boolean;
  /** Whether templates are allowed by the enclosing object. */
  templated: boolean;
  /** A label instead of the one made from `name` (list items: "Rules 2"). */
  label?: string;
}

/** Everything a control needs to know about its field. */
export interface FieldInfo {
  id: string;
  name: string;
  path: Path;
  label: string;
  hint: string | undefined;
  error: string | undefined;
  required: boolean;
  nullable: boolean;
  schema: JsonSchema;
  templated: boolean;
}

export interface ControlProps {
  info: FieldInfo;
  value: unknown;
  onChange: (next: unknown) => void;
}

export function Field(props: FieldProps) {
  const { name, path, schema, value, onChange, required, templated, label } = props;
  const { root, idPrefix, errors } = useFormContext();
  const { schema: type, nullable } = unwrapNullable(root, schema);
  const kind = classify(root, type, name);
  const info: FieldInfo = {
    id: `${idPrefix}${dotted(path)}`,
    name,
    path,
    // The property's own title, not that of the model a `$ref` points at ("WebhookAuth").
    label: label ?? fieldLabel(name, schema),
    hint: type.description,
    error: errors[dotted(path)],
    required: required && !nullable,
    nullable,
    schema: type,
    templated: takesTemplates(type, templated),
  };
  return <Control kind={kind} info={info} value={value} onChange={onChange} />;
}

function Control({ kind, ...props }: ControlProps & { kind: FieldKind }) {
  switch (kind.kind) {
    case "text":
      return <TextField {...props} multiline={kind.multiline} password={kind.password} />;
    case "number":
      return <NumberField {...props} integer={kind.integer} />;
    case "boolean":
      return <BooleanField {...props} />;
    case "enum":
      return <EnumField {...props} options={kind.options} />;
    case "multi-enum":
      return <MultiEnumField {...props} options={kind.options} />;
    case "object":
      return <ObjectField {...props} />;
    case "map":
      return <MapField {...props} values={kind.values} />;
    case "list":
      return <ListField {...props} items={kind.items} />;
    case "variants":
      return <VariantsField {...props} variants={kind.variants} />;
    case "const":
      return <ConstField {...props} constant={kind.value} />;
    case "any":
      return <AnyField {...props} multiline={kind.multiline} />;
  }
}
