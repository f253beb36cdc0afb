// The variables a node's templates can use, each a click away from the clipboard.
import { useState } from "react";
import type { TemplateVariable } from "./variables";

/** Put text on the clipboard; the old-fashioned way where the Clipboard API is not allowed. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

export function TemplateHints({ variables }: { variables: TemplateVariable[] }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (template: string) => {
    void copyText(template).then(() => {
      setCopied(template);
      setTimeout(() => setCopied((current) => (current === template ? null : current)), 1500);
    });
  };
  return (
    <details className="template-hints" data-testid="template-hints">
      <summary>Variables you can use</summary>
      <ul>
        {variables.map((variable) => (
          <li key={variable.template}>
            <button
              type="button"
              onClick={() => copy(variable.template)}
              title="Copy to the clipboard"
              data-template={variable.template}
            >
              {variable.template}
            </button>
            <span className="muted">{copied === variable.template ? "copied" : variable.description}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}
