// A node's id, renamed on Enter or when the field loses focus; an id that cannot be used is
// explained and not applied.
import { useState } from "react";
import type { WorkflowGraph } from "../api/types";
import { nodeIdProblem } from "./ids";

interface NodeIdFieldProps {
  graph: WorkflowGraph;
  nodeId: string;
  onRename: (to: string) => void;
  serverError?: string;
}

export function NodeIdField({ graph, nodeId, onRename, serverError }: NodeIdFieldProps) {
  const [draft, setDraft] = useState(nodeId);
  const [shownFor, setShownFor] = useState(nodeId);
  // Another node selected (or this one renamed by undo): start from its id.
  if (shownFor !== nodeId) {
    setShownFor(nodeId);
    setDraft(nodeId);
  }
  const problem = draft === nodeId ? null : nodeIdProblem(draft.trim(), graph, nodeId);
  const commit = () => {
    const wanted = draft.trim();
    if (wanted === nodeId || nodeIdProblem(wanted, graph, nodeId)) return;
    onRename(wanted);
  };
  return (
    <div className="field">
      <label htmlFor="node-id">Id</label>
      <input
        id="node-id"
        data-testid="node-id-input"
        className="mono"
        value={draft}
        aria-invalid={problem ? true : undefined}
        onChange={(event) => setDraft(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key === "Enter") commit();
          if (event.key === "Escape") setDraft(nodeId);
        }}
      />
      <div className="hint">Templates name the node by it: {`{{ nodes.${nodeId}.output }}`}. Renaming updates them.</div>
      {(problem ?? serverError) && (
        <div className="field-error" data-testid="node-id-error">
          {problem ?? serverError}
        </div>
      )}
    </div>
  );
}
