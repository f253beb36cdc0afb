// The run a workflow's panel is watching: started here, or resumed after a reload from the
// id kept in sessionStorage (the snapshot brings the whole state back).
import { useCallback, useEffect, useState } from "react";
import { startRun } from "../executions/api";
import { useExecution, type LiveExecution } from "../live/hooks";
import { loadRunId, saveRunId } from "./storage";

export interface CurrentRun extends LiveExecution {
  executionId: string | null;
  start(payload: unknown): Promise<void>;
  forget(): void;
}

export function useCurrentRun(workflowId: string): CurrentRun {
  const [executionId, setExecutionId] = useState(() => loadRunId(workflowId));
  const live = useExecution(executionId);

  const start = useCallback(
    async (payload: unknown) => {
      const accepted = await startRun(workflowId, payload);
      saveRunId(workflowId, accepted.execution_id);
      setExecutionId(accepted.execution_id);
    },
    [workflowId],
  );

  const forget = useCallback(() => {
    saveRunId(workflowId, null);
    setExecutionId(null);
  }, [workflowId]);

  // A remembered run that is gone (deleted, or another account's): stop pointing at it.
  const gone = live.error?.fatal === true && live.run === null;
  useEffect(() => {
    if (gone) forget();
  }, [gone, forget]);

  return { ...live, executionId, start, forget };
}
