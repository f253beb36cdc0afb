// The graph of the version an execution ran (not the workflow's latest).
import { useEffect, useState } from "react";
import { errorMessage } from "../api/client";
import type { WorkflowGraph } from "../api/types";
import { getVersionGraph } from "./api";

export interface VersionGraph {
  graph: WorkflowGraph | null;
  name: string | null;
  error: string | null;
}

export function useVersionGraph(workflowId: string | undefined, version: number | undefined): VersionGraph {
  const [state, setState] = useState<VersionGraph & { key: string | null }>({
    key: null,
    graph: null,
    name: null,
    error: null,
  });
  const key = workflowId && version ? `${workflowId}@${version}` : null;

  useEffect(() => {
    if (!workflowId || !version || !key) return undefined;
    let current = true;
    getVersionGraph(workflowId, version).then(
      ({ graph, name }) => current && setState({ key, graph, name: name ?? graph.name ?? null, error: null }),
      (failure: unknown) => current && setState({ key, graph: null, name: null, error: errorMessage(failure) }),
    );
    return () => {
      current = false;
    };
  }, [workflowId, version, key]);

  return state.key === key ? state : { graph: null, name: null, error: null };
}
