import { act, renderHook } from "@testing-library/react";
import type { ReactNode } from "react";
import { LiveClientContext } from "./client";
import { fakeLiveClient } from "./fakeSocket";
import { useExecution } from "./hooks";
import { detail } from "./testData";

let live: ReturnType<typeof fakeLiveClient>;

function wrapper({ children }: { children: ReactNode }) {
  return <LiveClientContext.Provider value={live.client}>{children}</LiveClientContext.Provider>;
}

beforeEach(() => {
  live = fakeLiveClient();
});

afterEach(() => live.client.dispose());

describe("useExecution", () => {
  it("gives the run as it arrives, and the connection state", () => {
    const { result } = renderHook(() => useExecution("ex1"), { wrapper });
    expect(result.current).toEqual({ run: null, error: null, connection: "connecting" });
    act(() => live.latest().open());
    expect(result.current.connection).toBe("live");
    act(() => live.latest().receive({ type: "snapshot", execution: detail() }));
    expect(result.current.run?.executionId).toBe("ex1");
  });

  it("forgets the previous execution's run the moment the id changes", () => {
    const { result, rerender } = renderHook(({ id }) => useExecution(id), {
      wrapper,
      initialProps: { id: "ex1" as string | null },
    });
    act(() => live.latest().open());
    act(() => live.latest().receive({ type: "snapshot", execution: detail() }));
    rerender({ id: "ex2" });
    expect(result.current.run).toBeNull();
    expect(live.latest().sent.slice(-2)).toEqual([
      { type: "unsubscribe", execution_id: "ex1" },
      { type: "subscribe", execution_id: "ex2" },
    ]);
    rerender({ id: null });
    expect(result.current.run).toBeNull();
    expect(live.latest().sent.at(-1)).toEqual({ type: "unsubscribe", execution_id: "ex2" });
  });

  it("passes a subscription's error on", () => {
    const { result } = renderHook(() => useExecution("nope"), { wrapper });
    act(() => live.latest().open());
    act(() => live.latest().receive({ type: "error", code: "invalid_request", message: "bad id nope" }));
    expect(result.current.error).toEqual({ code: "invalid_request", message: "bad id nope", fatal: true });
  });
});
