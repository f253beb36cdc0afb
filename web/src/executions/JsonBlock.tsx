// A JSON value, pretty-printed, with a copy button. Very large values are cut for display
// (a browser chokes on megabytes in one <pre>); Copy always copies all of it.
import { useEffect, useState } from "react";

const SHOWN_CHARS = 200_000;

export function prettyJson(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

export function JsonBlock({
  value,
  empty = "Nothing",
  testId,
}: {
  value: unknown;
  empty?: string;
  testId?: string;
}) {
  const text = prettyJson(value);
  if (value === undefined || value === null) {
    return (
      <p className="muted json-empty" data-testid={testId}>
        {value === null ? "null" : empty}
      </p>
    );
  }
  const cut = text.length > SHOWN_CHARS;
  return (
    <div className="json-block" data-testid={testId}>
      <CopyButton text={text} />
      <pre>{cut ? text.slice(0, SHOWN_CHARS) : text}</pre>
      {cut && (
        <p className="hint">
          Showing the first {SHOWN_CHARS.toLocaleString()} of {text.length.toLocaleString()} characters;
          Copy takes all of it.
        </p>
      )}
    </div>
  );
}

function CopyButton({ text }: { text: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return undefined;
    const timer = setTimeout(() => setState("idle"), 1500);
    return () => clearTimeout(timer);
  }, [state]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed"); // no clipboard permission (or not a secure context)
    }
  }

  return (
    <button type="button" className="icon json-copy" onClick={() => void copy()}>
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy"}
    </button>
  );
}
