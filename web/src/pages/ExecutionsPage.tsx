// A workflow's runs, newest first, filtered by status, paged, and live.
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import type { ExecutionStatus } from "../api/types";
import { getWorkflowName } from "../executions/api";
import { STATUS_FILTERS, type StatusFilter } from "../executions/executionList";
import { ExecutionTable } from "../executions/ExecutionTable";
import { useExecutionList } from "../executions/useExecutionList";
import { ConnectionBadge } from "../live/ConnectionBadge";
import "../executions/executions.css";

export function ExecutionsPage() {
  const { workflowId = "" } = useParams();
  const [filter, setFilter] = useState<StatusFilter>(null);
  const list = useExecutionList(workflowId, filter);
  const name = useWorkflowName(workflowId);
  const editor = `/workflows/${workflowId}`;

  return (
    <div className="page executions-page">
      <header className="page-header">
        <h1>Runs</h1>
        <span className="muted">
          of <Link to={editor}>{name ?? "this workflow"}</Link>
        </span>
        <ConnectionBadge showLive />
        <span className="spacer" />
        <Link className="button" to={editor}>
          Open the editor
        </Link>
      </header>
      <div className="executions-toolbar">
        <label htmlFor="status-filter">Status</label>
        <select
          id="status-filter"
          data-testid="status-filter"
          value={filter ?? ""}
          onChange={(event) => setFilter((event.target.value || null) as ExecutionStatus | null)}
        >
          <option value="">All</option>
          {STATUS_FILTERS.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      {list.error && (
        <div className="form-error" role="alert">
          {list.error}
        </div>
      )}
      {list.loading ? (
        <div className="page-loading" aria-busy="true">
          Loading runs…
        </div>
      ) : list.rows.length === 0 ? (
        !list.error && <EmptyRuns filter={filter} editor={editor} onShowAll={() => setFilter(null)} />
      ) : (
        <>
          <ExecutionTable rows={list.rows} />
          {list.hasMore && (
            <div className="executions-more">
              <button type="button" onClick={list.loadMore} disabled={list.loadingMore} data-testid="load-more">
                {list.loadingMore ? "Loading…" : "Load more"}
              </button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function EmptyRuns({ filter, editor, onShowAll }: { filter: StatusFilter; editor: string; onShowAll: () => void }) {
  if (filter) {
    return (
      <div className="empty-state" data-testid="executions-empty">
        <h2>No {filter} runs</h2>
        <p>
          <button type="button" className="link" onClick={onShowAll}>
            Show all runs
          </button>
        </p>
      </div>
    );
  }
  return (
    <div className="empty-state" data-testid="executions-empty">
      <h2>No runs yet</h2>
      <p>Run this workflow from the editor, or let one of its triggers fire; its runs appear here as they happen.</p>
      <p>
        <Link to={editor}>Back to the editor</Link>
      </p>
    </div>
  );
}

function useWorkflowName(workflowId: string): string | null {
  const [name, setName] = useState<{ id: string; name: string } | null>(null);
  useEffect(() => {
    let current = true;
    getWorkflowName(workflowId).then(
      (loaded) => current && setName({ id: workflowId, name: loaded }),
      () => undefined, // the list shows the API's error if the workflow is gone
    );
    return () => {
      current = false;
    };
  }, [workflowId]);
  return name?.id === workflowId ? name.name : null;
}
