// One workflow in the list: its name, on/off switch, last run, when saved, and what to do.
import { useState } from "react";
import { Link } from "react-router-dom";
import { errorMessage } from "../api/client";
import type { WorkflowSummary } from "../api/types";
import { StatusBadge } from "../components/StatusBadge";
import { formatWhen } from "../format";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { RenameDialog } from "./RenameDialog";
import { deleteWorkflow, exportWorkflow, renameWorkflow, setWorkflowActive } from "./api";
import { downloadJson, exportFileName } from "./files";

const COLUMNS = 5;

export function WorkflowRow({
  workflow,
  now,
  onChanged,
  onDeleted,
}: {
  workflow: WorkflowSummary;
  /** The time relative times are told from (the page ticks it). */
  now: number;
  onChanged: (patch: Partial<WorkflowSummary>) => void;
  onDeleted: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<"rename" | "delete" | null>(null);
  const { id, name } = workflow;

  const exportToFile = async () => {
    setError(null);
    try {
      downloadJson(exportFileName(name), await exportWorkflow(id));
    } catch (failure) {
      setError(`Could not export: ${errorMessage(failure)}`);
    }
  };

  return (
    <>
      <tr data-testid="workflow-row" data-workflow-id={id}>
        <td className="workflow-name-cell">
          <Link to={`/workflows/${id}`} className="workflow-name">
            {name}
          </Link>
          {workflow.description && (
            <div className="muted small workflow-description">{workflow.description}</div>
          )}
        </td>
        <td>
          <ActiveToggle workflow={workflow} onChanged={onChanged} onError={setError} />
        </td>
        <td data-testid="last-run">
          <LastRun workflow={workflow} now={now} />
        </td>
        <td title={new Date(workflow.updated_at).toLocaleString()}>
          {formatWhen(workflow.updated_at, now)}
          <div className="muted small">v{workflow.latest_version}</div>
        </td>
        <td className="workflow-actions">
          <Link to={`/workflows/${id}/executions`} className="button-link">
            Runs
          </Link>
          <button
            type="button"
            className="link"
            data-testid="rename-workflow"
            onClick={() => setDialog("rename")}
          >
            Rename
          </button>
          <button
            type="button"
            className="link"
            data-testid="export-workflow"
            onClick={() => void exportToFile()}
          >
            Export
          </button>
          <button
            type="button"
            className="link danger-link"
            data-testid="delete-workflow"
            onClick={() => setDialog("delete")}
          >
            Delete
          </button>
        </td>
      </tr>
      {error && (
        <tr className="workflow-row-error">
          <td colSpan={COLUMNS}>
            <div className="form-error" role="alert" data-testid="row-error">
              <span>{error}</span>
              <button
                type="button"
                className="link"
                aria-label="Dismiss"
                onClick={() => setError(null)}
              >
                ×
              </button>
            </div>
          </td>
        </tr>
      )}
      {dialog === "rename" && (
        <RenameDialog
          name={name}
          onClose={() => setDialog(null)}
          onRename={async (newName) => {
            const saved = await renameWorkflow(id, newName);
            const { updated_at, latest_version } = saved;
            onChanged({ name: saved.name, updated_at, latest_version });
          }}
        />
      )}
      {dialog === "delete" && (
        <ConfirmDialog
          title="Delete workflow"
          confirmLabel="Delete"
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await deleteWorkflow(id);
            onDeleted();
          }}
        >
          <p>
            Delete <strong>{name}</strong>?{" "}
            {workflow.active && "Its triggers are turned off first. "}
            Its past runs stay in the execution history.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** The on/off switch of a workflow's webhook, schedule and event triggers. */
function ActiveToggle({
  workflow,
  onChanged,
  onError,
}: {
  workflow: WorkflowSummary;
  onChanged: (patch: Partial<WorkflowSummary>) => void;
  onError: (message: string | null) => void;
}) {
  const [pending, setPending] = useState(false);
  const toggle = async () => {
    const turnOn = !workflow.active;
    setPending(true);
    onError(null);
    try {
      const detail = await setWorkflowActive(workflow.id, turnOn);
      onChanged({ active: detail.active });
    } catch (failure) {
      onError(`Could not ${turnOn ? "activate" : "deactivate"}: ${errorMessage(failure)}`);
    } finally {
      setPending(false);
    }
  };
  return (
    <label
      className="switch"
      title={workflow.active ? "Active: triggers are on" : "Inactive: triggers are off"}
    >
      <input
        type="checkbox"
        role="switch"
        data-testid="activate-toggle"
        checked={workflow.active}
        aria-checked={workflow.active}
        disabled={pending}
        onChange={() => void toggle()}
      />
      <span className="switch-track" aria-hidden="true" />
      <span className="visually-hidden">Active: {workflow.name}</span>
    </label>
  );
}

function LastRun({ workflow, now }: { workflow: WorkflowSummary; now: number }) {
  const run = workflow.last_execution;
  if (!run) return <span className="muted">Never run</span>;
  const at = run.finished_at ?? run.started_at ?? run.created_at;
  return (
    <Link to={`/executions/${run.id}`} className="last-run" title={new Date(at).toLocaleString()}>
      <StatusBadge status={run.status} />
      <span className="muted small">{formatWhen(at, now)}</span>
    </Link>
  );
}
