// GET /api/executions/{id}, fetched again as the live run moves on (for inputs, usage and cost,
// which events do not carry) and polled while the live connection is down.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, errorMessage } from "../api/client";
import type { ExecutionDetail } from "../api/types";
import type { ConnectionState } from "../live/LiveClient";
import { isRunFinished } from "../live/runState";
import type { RunState } from "../live/types";
import { getExecution } from "./api";
import { finishedNodeCount } from "./currentRun";

const REFRESH_DELAY_MS = 400;
const POLL_MS = 5_000;

export interface FetchedExecution {
  detail: ExecutionDetail | null;
  error: { status: number; message: string } | null;
  reload: () => void;
}

export function useExecutionDetail(
  executionId: string,
  live: RunState | null,
  connection: ConnectionState,
): FetchedExecution {
  const [detail, setDetail] = useState<ExecutionDetail | null>(null);
  const [error, setError] = useState<FetchedExecution["error"]>(null);
  const latestRequest = useRef(0);

  const reload = useCallback(() => {
    const request = ++latestRequest.current;
    getExecution(executionId).then(
      (loaded) => {
        if (request !== latestRequest.current) return; // a newer answer is coming
        setDetail(loaded);
        setError(null);
      },
      (failure: unknown) => {
        if (request !== latestRequest.current) return;
        setError({ status: failure instanceof ApiError ? failure.status : 0, message: errorMessage(failure) });
      },
    );
  }, [executionId]);

  useEffect(() => {
    setDetail(null);
    setError(null);
    reload();
  }, [reload]);

  // The live run moved on: refresh once things settle a little.
  const stage = live ? `${live.status}:${finishedNodeCount(live)}` : null;
  useEffect(() => {
    if (stage === null) return undefined;
    const timer = setTimeout(reload, REFRESH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [stage, reload]);

  const running = detail !== null && !isRunFinished(live ?? detail);
  useEffect(() => {
    if (!running || connection === "live") return undefined;
    const timer = setInterval(reload, POLL_MS);
    return () => clearInterval(timer);
  }, [running, connection, reload]);

  return { detail, error, reload };
}
