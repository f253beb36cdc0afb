// The editor's run panel: a payload, a Run button, and the run as it happens. The editor
// colours its canvas from `onRunChange`; the run survives a reload (see useCurrentRun).
import { useEffect, useRef, useState } from "react";
import { errorMessage } from "../api/client";
import { ConnectionBadge } from "../live/ConnectionBadge";
import type { RunState } from "../live/types";
import { PayloadEditor } from "./PayloadEditor";
import { checkPayload } from "./payload";
import { RunStatusLine } from "./RunStatusLine";
import { RunSteps } from "./RunSteps";
import { loadPayload, savePayload } from "./storage";
import { useCurrentRun } from "./useCurrentRun";
import "./run.css";

export interface RunPanelProps {
  workflowId: string;
  /** Save the canvas if it changed; false when it cannot be saved (problems on the canvas). */
  ensureSaved: () => Promise<boolean>;
  onRunChange: (run: RunState | null) => void;
}

export const CANVAS_HAS_PROBLEMS = "Fix the problems on the canvas before running";

export function RunPanel(props: RunPanelProps) {
  // Another workflow is another payload and another run: start from a clean slate.
  return <RunPanelBody key={props.workflowId} {...props} />;
}

function RunPanelBody({ workflowId, ensureSaved, onRunChange }: RunPanelProps) {
  const [open, setOpen] = useState(true);
  const [payloadText, setPayloadText] = useState(() => loadPayload(workflowId));
  const [starting, setStarting] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const current = useCurrentRun(workflowId);
  const check = checkPayload(payloadText);
  useReportRun(current.run, onRunChange);

  function editPayload(text: string) {
    setPayloadText(text);
    savePayload(workflowId, text);
  }

  async function run() {
    if (!check.ok) return;
    setStarting(true);
    setProblem(null);
    try {
      if (!(await ensureSaved())) {
        setProblem(CANVAS_HAS_PROBLEMS);
        return;
      }
      await current.start(check.value);
    } catch (error) {
      setProblem(errorMessage(error));
    } finally {
      setStarting(false);
    }
  }

  return (
    <section className={`run-panel${open ? "" : " collapsed"}`} data-testid="run-panel" aria-label="Test run">
      <header className="run-panel-bar">
        <button
          type="button"
          className="icon"
          aria-expanded={open}
          aria-controls="run-panel-body"
          title={open ? "Hide the payload and steps" : "Show the payload and steps"}
          onClick={() => setOpen(!open)}
        >
          {open ? "▾" : "▸"}
        </button>
        <h3>Test run</h3>
        {current.executionId && (
          <RunStatusLine executionId={current.executionId} run={current.run} onForget={current.forget} />
        )}
        <span className="spacer" />
        {current.executionId && <ConnectionBadge />}
        <button
          type="button"
          className="primary"
          data-testid="run-button"
          onClick={() => void run()}
          disabled={starting || !check.ok}
          title={check.ok ? "Save, then run with this payload" : "The payload is not valid JSON"}
        >
          Run
        </button>
      </header>
      {problem && (
        <div className="form-error run-problem" role="alert" data-testid="run-problem">
          {problem}
        </div>
      )}
      {open && (
        <div className="run-panel-body" id="run-panel-body">
          <PayloadEditor value={payloadText} check={check} onChange={editPayload} />
          <div className="run-panel-result">
            <RunResult current={current} />
          </div>
        </div>
      )}
    </section>
  );
}

function RunResult({ current }: { current: ReturnType<typeof useCurrentRun> }) {
  if (!current.executionId) {
    return <p className="muted">Run the workflow to watch each step here and on the canvas.</p>;
  }
  if (current.error && !current.run) {
    return <p className="form-error">{current.error.message}</p>;
  }
  if (!current.run) return <p className="muted" aria-busy="true">Waiting for the run to start…</p>;
  return (
    <>
      {current.run.error && !shownOnANode(current.run) && (
        <div className="form-error" data-testid="run-error">
          {current.run.error.message}
        </div>
      )}
      <RunSteps run={current.run} />
    </>
  );
}

/** Whether the execution's error is the one a failed node already shows in the steps. */
function shownOnANode(run: RunState): boolean {
  const nodeId = run.error?.details?.node_id;
  return typeof nodeId === "string" && run.nodes[nodeId]?.error?.message === run.error?.message;
}

/** Tell the editor about every change of the run (the latest callback, whatever its identity). */
function useReportRun(run: RunState | null, onRunChange: (run: RunState | null) => void) {
  const report = useRef(onRunChange);
  useEffect(() => {
    report.current = onRunChange;
  });
  useEffect(() => {
    report.current(run);
  }, [run]);
}
