// How a node runs, beside what it does: retries, a timeout, and what a failure does.
import type { GraphNode } from "../api/types";

type Retry = NonNullable<GraphNode["retry"]>;

interface NodeSettingsProps {
  node: GraphNode;
  onChange: (field: string, change: Partial<GraphNode>) => void;
  errors: Record<string, string>;
}

/** A number typed into a field, or null when the field is empty (or not a number yet). */
export function parseNumber(text: string): number | null {
  if (text.trim() === "") return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** The retry policy with one field changed; null when it is back to "try once". */
export function withRetryField(retry: GraphNode["retry"], field: keyof Retry, value: number | null): GraphNode["retry"] {
  const next: Retry = { ...(retry ?? {}) };
  if (value === null) delete next[field];
  else next[field] = value;
  const attempts = next.max_attempts ?? 1;
  return attempts <= 1 && next.initial_delay_ms === undefined && next.multiplier === undefined ? null : next;
}

export function NodeSettings({ node, onChange, errors }: NodeSettingsProps) {
  const retry = node.retry ?? null;
  const retryError = Object.entries(errors)
    .filter(([key]) => key === "retry" || key.startsWith("retry."))
    .map(([key, message]) => `${key}: ${message}`)
    .join("; ");
  const retryField = (field: keyof Retry) => (text: string) =>
    onChange(`retry.${field}`, { retry: withRetryField(retry, field, parseNumber(text)) });
  return (
    <details className="panel-section" data-testid="node-settings">
      <summary>Settings</summary>
      <div className="row">
        <NumberField id="retry-attempts" label="Attempts" value={retry?.max_attempts} placeholder="1" min={1} max={20} onChange={retryField("max_attempts")} />
        <NumberField id="retry-delay" label="First retry after (ms)" value={retry?.initial_delay_ms} placeholder="1000" min={0} onChange={retryField("initial_delay_ms")} />
      </div>
      <div className="row">
        <NumberField id="retry-multiplier" label="Backoff multiplier" value={retry?.multiplier} placeholder="2" min={1} max={10} step={0.5} onChange={retryField("multiplier")} />
        <NumberField
          id="timeout"
          label="Timeout (s)"
          value={node.timeout_s}
          placeholder="none"
          min={0}
          onChange={(text) => onChange("timeout_s", { timeout_s: parseNumber(text) })}
        />
      </div>
      {retryError && <div className="field-error">{retryError}</div>}
      {errors.timeout_s && <div className="field-error">{errors.timeout_s}</div>}
      <div className="field">
        <label htmlFor="node-on-error">When it fails</label>
        <select
          id="node-on-error"
          data-testid="node-on-error"
          value={node.on_error ?? "fail"}
          onChange={(event) => onChange("on_error", { on_error: event.target.value === "continue" ? "continue" : "fail" })}
        >
          <option value="fail">Fail the execution (unless an error edge handles it)</option>
          <option value="continue">Continue with the error as its output</option>
        </select>
        <div className="hint">Connect the red “error” handle to handle a failure with other nodes.</div>
        {errors.on_error && <div className="field-error">{errors.on_error}</div>}
      </div>
    </details>
  );
}

function NumberField(props: {
  id: string;
  label: string;
  value: number | null | undefined;
  placeholder: string;
  min?: number;
  max?: number;
  step?: number;
  onChange: (text: string) => void;
}) {
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        value={props.value ?? ""}
        placeholder={props.placeholder}
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        onChange={(event) => props.onChange(event.target.value)}
      />
    </div>
  );
}
