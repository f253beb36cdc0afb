// The editor's header: the workflow's name, whether it is saved, the active switch, and the
// way to its executions and to an export file.
import { useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import type { GraphProblem } from "../api/client";
import type { SaveStateKind } from "./autosave";

interface SaveStateProps {
  label: string;
  kind: SaveStateKind;
  problems: GraphProblem[];
  onShowNode: (nodeId: string) => void;
}

/** The save indicator; with problems, a click lists them (each node's a link to the node). */
export function SaveState({ label, kind, problems, onShowNode }: SaveStateProps) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLSpanElement>(null);
  const listable = kind === "problems" && problems.length > 0;
  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent) => {
      if (!box.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    return () => document.removeEventListener("mousedown", close);
  }, [open]);
  return (
    <span className="save-state" ref={box}>
      <button
        type="button"
        data-testid="save-state"
        className={`state-${kind}`}
        aria-live="polite"
        aria-expanded={listable ? open : undefined}
        disabled={!listable}
        onClick={() => setOpen(!open)}
      >
        {label}
      </button>
      {listable && open && (
        <div className="save-problems" data-testid="save-problems" role="dialog" aria-label="Problems">
          <strong>The server refused this version:</strong>
          <ul>
            {problems.map((problem, index) => (
              <li key={index}>
                {problem.node_id ? (
                  <button
                    type="button"
                    className="link"
                    onClick={() => {
                      onShowNode(problem.node_id as string);
                      setOpen(false);
                    }}
                  >
                    {problem.message}
                  </button>
                ) : (
                  problem.message
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
    </span>
  );
}

interface EditorHeaderProps {
  workflowId: string;
  name: string;
  onRename: (name: string) => void;
  save: SaveStateProps;
  active: boolean;
  activeBusy: boolean;
  onToggleActive: () => void;
  exportBusy: boolean;
  onExport: () => void;
}

export function EditorHeader(props: EditorHeaderProps) {
  return (
    <header className="editor-header">
      <Link to="/" className="muted" title="All workflows">
        ← Workflows
      </Link>
      <input
        className="wf-name"
        data-testid="workflow-name"
        aria-label="Workflow name"
        value={props.name}
        maxLength={200}
        onChange={(event) => props.onRename(event.target.value)}
      />
      <SaveState {...props.save} />
      <div className="header-actions">
        <button
          type="button"
          role="switch"
          className="active-toggle"
          data-testid="active-toggle"
          aria-checked={props.active}
          disabled={props.activeBusy}
          title="Active workflows listen to their webhook, schedule and event triggers"
          onClick={props.onToggleActive}
        >
          <span className="switch" aria-hidden="true" />
          {props.active ? "Active" : "Inactive"}
        </button>
        <Link className="button" to={`/workflows/${props.workflowId}/executions`} data-testid="executions-link">
          Executions
        </Link>
        <button type="button" data-testid="export-workflow" disabled={props.exportBusy} onClick={props.onExport}>
          Export
        </button>
      </div>
    </header>
  );
}
