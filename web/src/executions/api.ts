// The execution endpoints the run panel and the execution pages call.
import { api, call } from "../api/client";
import type { ExecutionDetail, ExecutionStatus, ExecutionSummary, WorkflowGraph } from "../api/types";

export const PAGE_SIZE = 25;

export function startRun(workflowId: string, payload: unknown): Promise<{ execution_id: string }> {
  return call(
    api.POST("/api/workflows/{workflow_id}/run", {
      params: { path: { workflow_id: workflowId } },
      body: { payload },
    }),
  );
}

export function cancelExecution(executionId: string): Promise<ExecutionSummary> {
  return call(
    api.POST("/api/executions/{execution_id}/cancel", {
      params: { path: { execution_id: executionId } },
    }),
  );
}

export function retryExecution(executionId: string): Promise<{ execution_id: string }> {
  return call(
    api.POST("/api/executions/{execution_id}/retry", {
      params: { path: { execution_id: executionId } },
    }),
  );
}

export function getExecution(executionId: string): Promise<ExecutionDetail> {
  return call(
    api.GET("/api/executions/{execution_id}", {
      params: { path: { execution_id: executionId } },
    }),
  );
}

export function listExecutions(
  workflowId: string,
  status: ExecutionStatus | null,
  cursor: string | null,
): Promise<{ items: ExecutionSummary[]; next_cursor?: string | null }> {
  return call(
    api.GET("/api/executions", {
      params: {
        query: { workflow_id: workflowId, status, cursor, limit: PAGE_SIZE },
      },
    }),
  );
}

/** The graph of one saved version (the one an execution ran), and the workflow's name. */
export async function getVersionGraph(
  workflowId: string,
  version: number,
): Promise<{ graph: WorkflowGraph; name: string | null }> {
  const detail = await call(
    api.GET("/api/workflows/{workflow_id}/versions/{number}", {
      params: { path: { workflow_id: workflowId, number: version } },
    }),
  );
  return { graph: detail.graph as unknown as WorkflowGraph, name: detail.name ?? null };
}

export async function getWorkflowName(workflowId: string): Promise<string> {
  const workflow = await call(
    api.GET("/api/workflows/{workflow_id}", { params: { path: { workflow_id: workflowId } } }),
  );
  return workflow.name;
}
