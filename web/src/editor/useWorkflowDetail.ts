// GET /api/workflows/{id}: the workflow and its latest graph, loading again when asked.
import { useEffect, useState } from "react";
import { ApiError, api, call, errorMessage } from "../api/client";
import type { WorkflowDetail } from "../api/types";

export type WorkflowLoad =
  | { kind: "loading" }
  | { kind: "notFound" }
  | { kind: "error"; message: string }
  | { kind: "ready"; detail: WorkflowDetail };

export function useWorkflowDetail(workflowId: string, reloads: number): WorkflowLoad {
  const [load, setLoad] = useState<WorkflowLoad>({ kind: "loading" });
  useEffect(() => {
    let live = true;
    setLoad({ kind: "loading" });
    call(api.GET("/api/workflows/{workflow_id}", { params: { path: { workflow_id: workflowId } } })).then(
      (detail) => live && setLoad({ kind: "ready", detail }),
      (error: unknown) => {
        if (!live) return;
        if (error instanceof ApiError && error.status === 404) setLoad({ kind: "notFound" });
        else setLoad({ kind: "error", message: errorMessage(error) });
      },
    );
    return () => {
      live = false;
    };
  }, [workflowId, reloads]);
  return load;
}
