// /workflows/:workflowId — load the workflow and the node catalogue, then the editor.
import { useEffect, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { ReactFlowProvider } from "@xyflow/react";
import { useNodeTypes } from "../api/useNodeTypes";
import { useWorkflowDetail } from "../editor/useWorkflowDetail";
import { WorkflowEditor } from "../editor/WorkflowEditor";

export function EditorPage() {
  const { workflowId = "" } = useParams();
  const [reloads, setReloads] = useState(0);
  const load = useWorkflowDetail(workflowId, reloads);
  const { types, error: typesError } = useNodeTypes();
  const name = load.kind === "ready" ? load.detail.name : null;
  useEffect(() => {
    if (name) document.title = `${name} · Portico`;
  }, [name]);

  if (load.kind === "notFound") {
    return (
      <div className="empty-state" data-testid="editor-not-found">
        <h2>Workflow not found</h2>
        <p>
          There is no workflow {workflowId} in your account (it may have been deleted).{" "}
          <Link to="/">Back to your workflows</Link>
        </p>
      </div>
    );
  }
  const failure = load.kind === "error" ? load.message : typesError;
  if (failure) {
    return (
      <div className="empty-state" data-testid="editor-error">
        <h2>The editor could not load</h2>
        <p className="form-error">{failure}</p>
        <p>
          <button type="button" onClick={() => window.location.reload()}>
            Try again
          </button>{" "}
          <Link to="/">Back to your workflows</Link>
        </p>
      </div>
    );
  }
  if (load.kind !== "ready" || !types) {
    return (
      <div className="page-loading" aria-busy="true" data-testid="editor-loading">
        Loading the workflow…
      </div>
    );
  }
  return (
    <ReactFlowProvider key={`${workflowId}:${reloads}`}>
      <WorkflowEditor detail={load.detail} types={types} onReload={() => setReloads((count) => count + 1)} />
    </ReactFlowProvider>
  );
}
