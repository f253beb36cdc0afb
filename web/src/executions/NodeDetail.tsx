// One node of an execution: its status and attempts, then Error, Output and Input.
import type { GraphNode, NodeError } from "../api/types";
import { StatusBadge } from "../components/StatusBadge";
import { formatWhen } from "../format";
import type { NodeRunState } from "../live/types";
import { JsonBlock } from "./JsonBlock";
import { elapsedText } from "./time";

export function NodeDetail({
  nodeId,
  node,
  state,
  now,
  onClose,
}: {
  nodeId: string;
  node: GraphNode | undefined;
  state: NodeRunState | undefined;
  now: number;
  onClose: () => void;
}) {
  const status = state?.status ?? "queued";
  return (
    <aside className="node-detail card" data-testid="node-detail" data-node-id={nodeId} data-status={status}>
      <header className="node-detail-head">
        <div>
          <h2>{node?.name || nodeId}</h2>
          <div className="muted small">
            {node?.name && node.name !== nodeId && (
              <>
                <code>{nodeId}</code> ·{" "}
              </>
            )}
            {node?.type ?? "a node this version does not have"}
          </div>
        </div>
        <button type="button" className="icon" onClick={onClose} aria-label="Close node details">
          ✕
        </button>
      </header>
      <dl className="node-detail-facts">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={status} attempt={state?.attempt} />
        </dd>
        <dt>Attempts</dt>
        <dd data-testid="node-attempts">{attemptsText(state?.attempt, node?.retry?.max_attempts)}</dd>
        <dt>Started</dt>
        <dd title={state?.startedAt ?? undefined}>{formatWhen(state?.startedAt, now)}</dd>
        <dt>Duration</dt>
        <dd>{elapsedText(state?.startedAt, state?.finishedAt, now)}</dd>
      </dl>
      {state?.error && <ErrorSection error={state.error} retrying={status === "retrying"} />}
      <section className="node-detail-section">
        <h3>Output</h3>
        {state?.status === "running" && state.progressText ? (
          <pre data-testid="node-output" className="node-stream">
            {state.progressText}
          </pre>
        ) : (
          <JsonBlock value={shownOutput(state)} empty={emptyOutput(status)} testId="node-output" />
        )}
      </section>
      <section className="node-detail-section">
        <h3>Input</h3>
        <p className="hint">What its predecessors passed it, then, once it answered, its config as rendered.</p>
        <JsonBlock value={state?.input} empty="Not recorded yet" testId="node-input" />
      </section>
    </aside>
  );
}

function ErrorSection({ error, retrying }: { error: NodeError; retrying: boolean }) {
  return (
    <section className="node-detail-section node-error" data-testid="node-error">
      <h3>{retrying ? "Error (will retry)" : "Error"}</h3>
      <div className="node-error-head">
        <strong data-testid="node-error-type">{error.type}</strong>
        <span className={`badge ${error.retryable ? "status-retrying" : ""}`}>
          {error.retryable ? "retryable" : "not retryable"}
        </span>
      </div>
      <p className="node-error-message" data-testid="node-error-message">
        {error.message}
      </p>
      {error.details && Object.keys(error.details).length > 0 && (
        <>
          <h4>Details</h4>
          <JsonBlock value={error.details} />
        </>
      )}
    </section>
  );
}

function attemptsText(attempt: number | null | undefined, maxAttempts: number | undefined): string {
  if (!attempt) return "not run yet";
  return maxAttempts && maxAttempts > 1 ? `${attempt} of ${maxAttempts}` : String(attempt);
}

/** A node that did not succeed has no output to show, whatever null the API recorded. */
function shownOutput(state: NodeRunState | undefined): unknown {
  if (!state || (state.status !== "succeeded" && state.output === null)) return undefined;
  return state.output;
}

function emptyOutput(status: string): string {
  if (status === "queued") return "Not run yet";
  if (status === "running" || status === "retrying") return "Still running";
  if (status === "skipped") return "Skipped: no active path reached it";
  if (status === "failed") return "No output: it failed";
  if (status === "cancelled") return "No output: it was cancelled";
  return "No output";
}
