// The workflow list's calls to the gateway, one function each, so the page and its hooks say
// what they do and tests can stand in for the network.
import { ApiError, api, call } from "../api/client";
import type { WorkflowDetail, WorkflowExport, WorkflowSummary } from "../api/types";

export const PAGE_SIZE = 100;

/** What "New workflow" creates: a manual trigger, ready for the first step. */
export const NEW_WORKFLOW_GRAPH = {
  name: "Untitled workflow",
  nodes: [{ id: "trigger", type: "trigger.manual", position: { x: 80, y: 160 } }],
  edges: [],
};

export interface WorkflowPage {
  items: WorkflowSummary[];
  total: number;
}

export function listWorkflows(
  q: string,
  offset: number,
  signal?: AbortSignal,
): Promise<WorkflowPage> {
  const query = { limit: PAGE_SIZE, offset, ...(q ? { q } : {}) };
  return call(api.GET("/api/workflows", { params: { query }, signal }));
}

export function createWorkflow(): Promise<WorkflowDetail> {
  return call(api.POST("/api/workflows", { body: NEW_WORKFLOW_GRAPH }));
}

export function setWorkflowActive(id: string, active: boolean): Promise<WorkflowDetail> {
  const params = { path: { workflow_id: id } };
  return active
    ? call(api.POST("/api/workflows/{workflow_id}/activate", { params }))
    : call(api.POST("/api/workflows/{workflow_id}/deactivate", { params }));
}

/**
 * Save the latest graph under a new name. The save names the version it started from, so a
 * version someone saved meanwhile is never overwritten; on that conflict the latest graph is
 * read again and the rename tried once more (a rename changes nothing else).
 */
export async function renameWorkflow(id: string, name: string): Promise<WorkflowDetail> {
  for (let attempt = 1; ; attempt++) {
    const latest = await call(
      api.GET("/api/workflows/{workflow_id}", { params: { path: { workflow_id: id } } }),
    );
    try {
      return await call(
        api.PUT("/api/workflows/{workflow_id}", {
          params: { path: { workflow_id: id }, query: { expected_version: latest.version } },
          body: { ...latest.graph, name },
        }),
      );
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409 || attempt >= 2) throw error;
    }
  }
}

export function exportWorkflow(id: string): Promise<WorkflowExport> {
  return call(
    api.GET("/api/workflows/{workflow_id}/export", { params: { path: { workflow_id: id } } }),
  );
}

export function importWorkflow(document: Record<string, unknown>): Promise<WorkflowDetail> {
  return call(api.POST("/api/workflows/import", { body: document }));
}

export async function deleteWorkflow(id: string): Promise<void> {
  await call(api.DELETE("/api/workflows/{workflow_id}", { params: { path: { workflow_id: id } } }));
}
