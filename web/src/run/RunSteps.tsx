// The watched run node by node, in the order they started: what each is doing, and the
// text an AI node is streaming.
import { StatusBadge } from "../components/StatusBadge";
import { elapsedText } from "../executions/time";
import { useNow } from "../hooks/useNow";
import { isRunFinished } from "../live/runState";
import type { NodeRunState, RunState } from "../live/types";

function byStart([, a]: [string, NodeRunState], [, b]: [string, NodeRunState]): number {
  const at = (node: NodeRunState) => (node.startedAt ? Date.parse(node.startedAt) : Infinity);
  return at(a) - at(b);
}

export function RunSteps({ run }: { run: RunState }) {
  const now = useNow(1000, !isRunFinished(run));
  const steps = Object.entries(run.nodes).sort(byStart);
  if (steps.length === 0) return <p className="muted">No steps yet.</p>;
  return (
    <ol className="run-steps">
      {steps.map(([nodeId, node]) => (
        <li key={nodeId} data-testid="run-step" data-node-id={nodeId} data-status={node.status}>
          <div className="run-step-line">
            <code className="run-step-id">{nodeId}</code>
            <StatusBadge status={node.status} attempt={node.attempt} />
            <span className="muted small">{node.startedAt ? elapsedText(node.startedAt, node.finishedAt, now) : ""}</span>
          </div>
          {node.progressText && node.status === "running" && (
            <pre className="run-step-stream" aria-live="polite">
              {node.progressText}
            </pre>
          )}
          {node.error && (node.status === "failed" || node.status === "retrying") && (
            <div className="run-step-error">
              <strong>{node.error.type}</strong>: {node.error.message}
            </div>
          )}
        </li>
      ))}
    </ol>
  );
}
