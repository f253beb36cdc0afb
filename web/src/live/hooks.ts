// React's view of the live client: the connection state, and one execution as it runs.
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { useLiveClient } from "./client";
import type { ConnectionState, ExecutionWatch, LiveError } from "./LiveClient";
import type { RunState } from "./types";

export function useConnectionState(): ConnectionState {
  const client = useLiveClient();
  const subscribe = useCallback((onChange: () => void) => client.onStateChange(onChange), [client]);
  return useSyncExternalStore(subscribe, () => client.state);
}

export interface LiveExecution {
  /** null until the first snapshot arrives. */
  run: RunState | null;
  connection: ConnectionState;
  error: LiveError | null;
}

/** Follow an execution live (nothing while `executionId` is null). */
export function useExecution(executionId: string | null | undefined): LiveExecution {
  const client = useLiveClient();
  const connection = useConnectionState();
  const [watched, setWatched] = useState<{ id: string; watch: ExecutionWatch } | null>(null);

  useEffect(() => {
    if (!executionId) return undefined;
    return client.watchExecution(executionId, (watch) => setWatched({ id: executionId, watch }));
  }, [client, executionId]);

  // A watch of the previous execution is stale the moment the id changes.
  const current = watched && watched.id === executionId ? watched.watch : null;
  return { run: current?.run ?? null, error: current?.error ?? null, connection };
}
