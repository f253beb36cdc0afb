// The executions of a workflow, one row each; a row opens its execution.
import { Link, useNavigate } from "react-router-dom";
import type { ExecutionSummary } from "../api/types";
import { StatusBadge } from "../components/StatusBadge";
import { formatWhen } from "../format";
import { useNow } from "../hooks/useNow";
import { formatCost, shortId } from "./ExecutionHeader";
import { elapsedText } from "./time";

export function ExecutionTable({ rows }: { rows: ExecutionSummary[] }) {
  const navigate = useNavigate();
  const now = useNow(1000, rows.some((row) => row.status === "running" || row.status === "queued"));
  return (
    <table className="list executions-table">
      <thead>
        <tr>
          <th>Status</th>
          <th>Started</th>
          <th>Duration</th>
          <th>Mode</th>
          <th>Version</th>
          <th>Cost</th>
          <th>Execution</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr
            key={row.id}
            className="execution-row"
            data-testid="execution-row"
            data-execution-id={row.id}
            data-status={row.status}
            onClick={(event) => {
              // The id cell is a real link (middle-click, new tab); the rest of the row too.
              if (!(event.target instanceof HTMLAnchorElement)) navigate(`/executions/${row.id}`);
            }}
          >
            <td>
              <StatusBadge status={row.status} />
            </td>
            <td title={row.started_at ?? row.created_at}>
              {row.started_at ? formatWhen(row.started_at, now) : `queued ${formatWhen(row.created_at, now)}`}
            </td>
            <td>{elapsedText(row.started_at, row.finished_at, now)}</td>
            <td>{row.mode}</td>
            <td>v{row.workflow_version}</td>
            <td>{row.cost_usd > 0 ? formatCost(row.cost_usd) : <span className="muted">—</span>}</td>
            <td>
              <Link to={`/executions/${row.id}`} title={row.id}>
                <code>{shortId(row.id)}</code>
              </Link>
              {row.retry_of && <span className="muted small"> retry</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
