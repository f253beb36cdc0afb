// The text of an input whose value is parsed (a number, a JSON value, key/value rows): what
// the person typed stays on screen ("1.", "1e"), and is replaced only when the value changes
// from outside (another node selected, a reset), never by its own re-formatting.
import { useState } from "react";
import { sameJson } from "./schema";

export function useDraft<T>(
  value: unknown,
  format: (value: unknown) => T,
): [T, (draft: T, emitted: unknown) => void] {
  const [draft, setDraft] = useState<T>(() => format(value));
  const [seen, setSeen] = useState<unknown>(value);
  if (!sameJson(seen, value)) {
    // Adjusting state while rendering is React's way to follow a prop without an effect.
    setSeen(value);
    setDraft(format(value));
  }
  const edit = (next: T, emitted: unknown) => {
    setDraft(next);
    setSeen(emitted);
  };
  return [draft, edit];
}
