// The execution's title bar and facts: status, workflow and version, mode, timing, usage,
// and what can be done with it (cancel while it runs, retry once it failed).
import { useState, type ReactNode } from "react";
import { Link, useNavigate } from "react-router-dom";
import { errorMessage } from "../api/client";
import type { ExecutionDetail } from "../api/types";
import { StatusBadge } from "../components/StatusBadge";
import { formatWhen } from "../format";
import { ConnectionBadge } from "../live/ConnectionBadge";
import { isRunFinished } from "../live/runState";
import type { RunState } from "../live/types";
import { cancelExecution, retryExecution } from "./api";
import { elapsedText } from "./time";

const RETRYABLE = new Set(["failed", "cancelled"]);

export function ExecutionHeader({
  detail,
  run,
  workflowName,
  now,
  onChanged,
}: {
  detail: ExecutionDetail;
  run: RunState;
  workflowName: string | null;
  now: number;
  onChanged: () => void;
}) {
  const navigate = useNavigate();
  const [busy, setBusy] = useState<"cancel" | "retry" | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const running = !isRunFinished(run);

  async function act(kind: "cancel" | "retry") {
    setBusy(kind);
    setProblem(null);
    try {
      if (kind === "cancel") {
        await cancelExecution(detail.id);
        onChanged();
      } else {
        const retry = await retryExecution(detail.id);
        navigate(`/executions/${retry.execution_id}`);
      }
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setBusy(null);
    }
  }

  return (
    <>
      <header className="page-header execution-header">
        <h1>Execution</h1>
        <span data-testid="execution-status" data-status={run.status}>
          <StatusBadge status={run.status} />
        </span>
        {running && <ConnectionBadge showLive />}
        <span className="spacer" />
        <Link to={`/workflows/${detail.workflow_id}/executions`}>All runs</Link>
        {running && (
          <button
            type="button"
            className="danger"
            data-testid="cancel-execution"
            disabled={busy !== null}
            onClick={() => void act("cancel")}
          >
            {busy === "cancel" ? "Cancelling…" : "Cancel"}
          </button>
        )}
        {RETRYABLE.has(run.status) && (
          <button
            type="button"
            className="primary"
            data-testid="retry-execution"
            disabled={busy !== null}
            onClick={() => void act("retry")}
            title="Start again with the same payload, reusing the steps that succeeded"
          >
            {busy === "retry" ? "Retrying…" : "Retry"}
          </button>
        )}
      </header>
      {problem && (
        <div className="form-error execution-problem" role="alert">
          {problem}
        </div>
      )}
      <dl className="execution-facts card">
        <Fact label="Workflow">
          <Link to={`/workflows/${detail.workflow_id}`} data-testid="execution-workflow">
            {workflowName ?? detail.workflow_id}
          </Link>
        </Fact>
        <Fact label="Version">v{detail.workflow_version}</Fact>
        <Fact label="Mode">{detail.mode}</Fact>
        <Fact label="Started">
          <span title={run.startedAt ?? detail.created_at}>
            {run.startedAt ? formatWhen(run.startedAt, now) : `queued ${formatWhen(detail.created_at, now)}`}
          </span>
        </Fact>
        <Fact label="Duration">
          <span data-testid="execution-duration">{elapsedText(run.startedAt, run.finishedAt, now)}</span>
        </Fact>
        {(detail.usage?.total_tokens ?? 0) > 0 && (
          <Fact label="Tokens">
            <span title={`${detail.usage?.input_tokens ?? 0} in, ${detail.usage?.output_tokens ?? 0} out`}>
              {(detail.usage?.total_tokens ?? 0).toLocaleString()}
            </span>
          </Fact>
        )}
        {detail.cost_usd > 0 && <Fact label="Cost">{formatCost(detail.cost_usd)}</Fact>}
        {detail.retry_of && (
          <Fact label="Retry of">
            <Link to={`/executions/${detail.retry_of}`}>{shortId(detail.retry_of)}</Link>
          </Fact>
        )}
        <Fact label="ID">
          <code title={detail.id}>{shortId(detail.id)}</code>
        </Fact>
      </dl>
    </>
  );
}

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="execution-fact">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function formatCost(usd: number): string {
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}
