// The pieces around every control: its label, its hint, its error.
import type { ReactNode } from "react";
import { useFormContext } from "./FormContext";

/** A description with `code` spans, as pydantic docstrings write them. */
export function Hint({ text, id }: { text: string | undefined; id?: string }) {
  if (!text) return null;
  const parts = text.split("`");
  return (
    <div className="hint" id={id}>
      {parts.map((part, index) => (index % 2 === 1 ? <code key={index}>{part}</code> : part))}
    </div>
  );
}

/** The label of a control; required fields get a marker drawn by CSS (not part of the name). */
export function FieldLabel({
  htmlFor,
  required,
  children,
  className,
}: {
  htmlFor: string;
  required?: boolean;
  children: ReactNode;
  className?: string;
}) {
  const classes = [required ? "schema-form-required" : "", className ?? ""].join(" ").trim();
  return (
    <label htmlFor={htmlFor} className={classes || undefined}>
      {children}
    </label>
  );
}

export function FieldError({ message, id }: { message: string | null | undefined; id?: string }) {
  if (!message) return null;
  return (
    <div className="field-error" role="alert" id={id}>
      {message}
    </div>
  );
}

/** The node form's note on templates, under fields that take them. */
export function TemplateNote({ show }: { show: boolean }) {
  const { templateHint } = useFormContext();
  if (!show || !templateHint) return null;
  return <div className="hint schema-form-template-hint">{templateHint}</div>;
}

/** The ids an input's `aria-describedby` points at: its hint and its error, when shown. */
export function describedBy(id: string, hint: unknown, error: unknown): string | undefined {
  const ids = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean);
  return ids.length > 0 ? ids.join(" ") : undefined;
}
