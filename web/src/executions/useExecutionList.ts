// A workflow's executions: pages from GET /api/executions, kept current by a live workflow
// subscription (new runs appear, statuses change).
import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage } from "../api/client";
import type { ExecutionSummary, StatusEvent } from "../api/types";
import { useLiveClient } from "../live/client";
import { getExecution, listExecutions } from "./api";
import { applyEventToRows, isTerminalEvent, mergeRows, toSummary, type StatusFilter } from "./executionList";

export interface ExecutionList {
  rows: ExecutionSummary[];
  loading: boolean;
  loadingMore: boolean;
  error: string | null;
  hasMore: boolean;
  loadMore: () => void;
}

export function useExecutionList(workflowId: string, filter: StatusFilter): ExecutionList {
  const [rows, setRows] = useState<ExecutionSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Answers to an earlier filter are dropped when they arrive after a newer one was asked.
  const generation = useRef(0);
  const filterRef = useRef(filter);
  const rowsRef = useRef(rows);
  // Until the first page is in, live snapshots wait (the page brings the same rows in order).
  const floorRef = useRef<string | null | undefined>(undefined);
  useEffect(() => {
    filterRef.current = filter;
    rowsRef.current = rows;
    floorRef.current = loading ? undefined : cursor === null ? null : (rows.at(-1)?.created_at ?? null);
  });

  useEffect(() => {
    const mine = ++generation.current;
    setRows([]);
    setCursor(null);
    setLoading(true);
    setError(null);
    listExecutions(workflowId, filter, null).then(
      (page) => {
        if (mine !== generation.current) return;
        setRows((current) => mergeRows(current, page.items, filter));
        setCursor(page.next_cursor ?? null);
        setLoading(false);
      },
      (failure: unknown) => {
        if (mine !== generation.current) return;
        setError(errorMessage(failure));
        setLoading(false);
      },
    );
  }, [workflowId, filter]);

  const loadMore = useCallback(() => {
    if (!cursor || loadingMore) return;
    const mine = generation.current;
    setLoadingMore(true);
    listExecutions(workflowId, filter, cursor).then(
      (page) => {
        if (mine !== generation.current) return;
        setRows((current) => mergeRows(current, page.items, filter));
        setCursor(page.next_cursor ?? null);
        setLoadingMore(false);
      },
      (failure: unknown) => {
        if (mine !== generation.current) return;
        setError(errorMessage(failure));
        setLoadingMore(false);
      },
    );
  }, [workflowId, filter, cursor, loadingMore]);

  useLiveRows(workflowId, { filter: filterRef, rows: rowsRef, floor: floorRef }, setRows);

  return { rows, loading, loadingMore, error, hasMore: cursor !== null, loadMore };
}

type SetRows = (update: (rows: ExecutionSummary[]) => ExecutionSummary[]) => void;

/** Snapshots and events of the workflow's subscription, merged into the rows. */
function useLiveRows(
  workflowId: string,
  refs: {
    filter: { current: StatusFilter };
    rows: { current: ExecutionSummary[] };
    /** undefined: the first page is not in yet. */
    floor: { current: string | null | undefined };
  },
  setRows: SetRows,
) {
  const client = useLiveClient();
  useEffect(() => {
    const fetching = new Set<string>();
    let active = true;
    // A run the list has not seen, or one that just ended (its cost is final): fetch its row.
    const fetchRow = (executionId: string) => {
      if (fetching.has(executionId)) return;
      fetching.add(executionId);
      getExecution(executionId)
        .then((detail) => {
          if (!active) return;
          const row = toSummary(detail);
          setRows((rows) => mergeRows(rows, [row], refs.filter.current, refs.floor.current ?? null));
        })
        .catch(() => undefined) // the next event or a reload brings it
        .finally(() => fetching.delete(executionId));
    };
    const onEvent = (event: StatusEvent) => {
      const known = refs.rows.current.some((row) => row.id === event.execution_id);
      setRows((rows) => applyEventToRows(rows, event).rows);
      if ((!known && event.type.startsWith("execution.")) || isTerminalEvent(event)) {
        fetchRow(event.execution_id);
      }
    };
    const stop = client.watchWorkflow(workflowId, {
      onSnapshot: (executions) => {
        const floor = refs.floor.current;
        if (floor === undefined) return;
        setRows((rows) => mergeRows(rows, executions, refs.filter.current, floor));
      },
      onEvent,
    });
    return () => {
      active = false;
      stop();
    };
  }, [client, workflowId, refs.filter, refs.rows, refs.floor, setRows]);
}
