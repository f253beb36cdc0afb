// The home page: every workflow, searchable by name, with its switch, last run and actions.
import { useEffect, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { errorMessage } from "../api/client";
import type { WorkflowDetail } from "../api/types";
import { ImportButton } from "../workflows/ImportButton";
import { Notice, useNotice } from "../workflows/Notice";
import { WorkflowRow } from "../workflows/WorkflowRow";
import { createWorkflow } from "../workflows/api";
import { useDebouncedValue } from "../workflows/useDebouncedValue";
import { useNow } from "../hooks/useNow";
import { useWorkflowList } from "../workflows/useWorkflowList";
import type { WorkflowList } from "../workflows/useWorkflowList";
import "../workflows/workflows.css";

/** How long typing must pause before the search is sent. */
export const SEARCH_DELAY_MS = 250;
const MAX_QUERY_LENGTH = 200;

export function WorkflowsPage() {
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState(() => params.get("q") ?? "");
  const query = useDebouncedValue(search.trim(), SEARCH_DELAY_MS);
  const list = useWorkflowList(query);
  const now = useNow(30_000);
  const [notice, setNotice] = useNotice();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);

  // The search lives in the address too, so Back and a shared link keep it.
  useEffect(() => {
    if ((params.get("q") ?? "") !== query) setParams(query ? { q: query } : {}, { replace: true });
  }, [params, query, setParams]);

  const createNew = async () => {
    setCreating(true);
    try {
      const created = await createWorkflow();
      navigate(`/workflows/${created.id}`);
    } catch (error) {
      setNotice({ kind: "error", content: `Could not create a workflow: ${errorMessage(error)}` });
      setCreating(false);
    }
  };

  const imported = (workflow: WorkflowDetail) => {
    list.reload();
    setNotice({
      kind: "info",
      content: (
        <>
          Imported <Link to={`/workflows/${workflow.id}`}>{workflow.name}</Link>.
        </>
      ),
    });
  };

  return (
    <div className="page workflows-page">
      <div className="page-header">
        <h1>Workflows</h1>
        <span className="spacer" />
        <input
          type="search"
          className="workflow-search"
          data-testid="workflow-search"
          aria-label="Search workflows"
          placeholder="Search by name…"
          maxLength={MAX_QUERY_LENGTH}
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
        <ImportButton onImported={imported} />
        <button
          type="button"
          className="primary"
          data-testid="new-workflow"
          disabled={creating}
          onClick={() => void createNew()}
        >
          {creating ? "Creating…" : "New workflow"}
        </button>
      </div>
      <ListBody
        list={list}
        now={now}
        creating={creating}
        onCreate={() => void createNew()}
        onClearSearch={() => setSearch("")}
      />
      <Notice notice={notice} onClose={() => setNotice(null)} />
    </div>
  );
}

function ListBody({
  list,
  now,
  creating,
  onCreate,
  onClearSearch,
}: {
  list: WorkflowList;
  now: number;
  creating: boolean;
  onCreate: () => void;
  onClearSearch: () => void;
}) {
  const { state } = list;
  if (state.status === "error") {
    return (
      <div className="card workflows-error" role="alert">
        <p>
          <strong>Your workflows could not be loaded.</strong> {state.error}
        </p>
        <button type="button" onClick={list.reload}>
          Retry
        </button>
      </div>
    );
  }
  if (!state.loaded) {
    return (
      <div className="page-loading" aria-busy="true">
        Loading workflows…
      </div>
    );
  }
  if (state.items.length === 0 && state.status === "ready") {
    return state.query ? (
      <div className="empty-state">
        <h2>No workflow matches “{state.query}”</h2>
        <button type="button" onClick={onClearSearch}>
          Clear the search
        </button>
      </div>
    ) : (
      <div className="empty-state" data-testid="workflows-empty">
        <h2>No workflows yet</h2>
        <p>
          A workflow starts from a trigger (by hand, a webhook, a schedule) and runs its steps in
          order.
        </p>
        <button type="button" className="primary" disabled={creating} onClick={onCreate}>
          Create your first workflow
        </button>
        <p className="small">or import one exported from another Portico.</p>
      </div>
    );
  }
  return (
    <>
      <table
        className={`list workflows-table${state.status === "loading" ? " is-refreshing" : ""}`}
        aria-busy={state.status === "loading"}
      >
        <thead>
          <tr>
            <th>Name</th>
            <th className="workflow-active-column">Active</th>
            <th className="workflow-last-run-column">Last run</th>
            <th className="workflow-updated-column">Updated</th>
            <th>
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {state.items.map((workflow) => (
            <WorkflowRow
              key={workflow.id}
              workflow={workflow}
              now={now}
              onChanged={(patch) => list.patch(workflow.id, patch)}
              onDeleted={() => list.remove(workflow.id)}
            />
          ))}
        </tbody>
      </table>
      <ListFooter list={list} />
    </>
  );
}

function ListFooter({ list }: { list: WorkflowList }) {
  const { items, total, loadingMore, error } = list.state;
  if (items.length >= total && !error) return null;
  return (
    <div className="workflows-footer">
      <span className="muted">
        Showing {items.length} of {total}
      </span>
      {error && <span className="field-error">{error}</span>}
      {items.length < total && (
        <button type="button" onClick={list.loadMore} disabled={loadingMore}>
          {loadingMore ? "Loading…" : "Load more"}
        </button>
      )}
    </div>
  );
}
