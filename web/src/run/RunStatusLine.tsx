// One line on the watched run: status, how long, where to see it all, and cancel.
import { useState } from "react";
import { Link } from "react-router-dom";
import { errorMessage } from "../api/client";
import { StatusBadge } from "../components/StatusBadge";
import { cancelExecution } from "../executions/api";
import { elapsedText } from "../executions/time";
import { useNow } from "../hooks/useNow";
import { isRunFinished } from "../live/runState";
import type { RunState } from "../live/types";

export function RunStatusLine({
  executionId,
  run,
  onForget,
}: {
  executionId: string;
  run: RunState | null;
  onForget: () => void;
}) {
  const running = run !== null && !isRunFinished(run);
  const now = useNow(1000, running);
  const [cancelling, setCancelling] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  async function cancel() {
    setCancelling(true);
    setProblem(null);
    try {
      await cancelExecution(executionId);
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setCancelling(false);
    }
  }

  return (
    <div className="run-status-line">
      <span data-testid="run-status" data-status={run?.status ?? "starting"}>
        {run ? <StatusBadge status={run.status} /> : <span className="badge">starting…</span>}
      </span>
      {run && <span className="muted run-duration">{elapsedText(run.startedAt, run.finishedAt, now)}</span>}
      <Link to={`/executions/${executionId}`} data-testid="open-execution">
        Open execution
      </Link>
      {running && (
        <button type="button" className="danger" onClick={() => void cancel()} disabled={cancelling}>
          {cancelling ? "Cancelling…" : "Cancel"}
        </button>
      )}
      {run && !running && (
        <button type="button" className="link" onClick={onForget} title="Stop showing this run on the canvas">
          Clear
        </button>
      )}
      {problem && <span className="field-error">{problem}</span>}
    </div>
  );
}
