// The run payload: a JSON text area checked as you type.
import type { PayloadCheck } from "./payload";

export function PayloadEditor({
  value,
  check,
  onChange,
}: {
  value: string;
  check: PayloadCheck;
  onChange: (text: string) => void;
}) {
  return (
    <div className="field run-payload">
      <label htmlFor="run-payload">Payload (JSON)</label>
      <textarea
        id="run-payload"
        data-testid="run-payload"
        value={value}
        spellCheck={false}
        aria-invalid={!check.ok}
        aria-describedby="run-payload-help"
        onChange={(event) => onChange(event.target.value)}
      />
      {check.ok ? (
        <div className="hint" id="run-payload-help">
          The trigger's output: templates read it as <code>trigger</code>. Empty sends {"{}"}.
        </div>
      ) : (
        <div className="field-error" id="run-payload-help" role="alert" data-testid="run-payload-error">
          {check.message}
        </div>
      )}
    </div>
  );
}
