import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { ApiError } from "../api/client";
import { startRun } from "../executions/api";
import { LiveClientContext } from "../live/client";
import { fakeLiveClient } from "../live/fakeSocket";
import { detail, event } from "../live/testData";
import type { RunState } from "../live/types";
import { CANVAS_HAS_PROBLEMS, RunPanel } from "./RunPanel";

vi.mock("../executions/api", () => ({
  startRun: vi.fn(),
  cancelExecution: vi.fn(),
}));
const startRunMock = vi.mocked(startRun);

let live: ReturnType<typeof fakeLiveClient>;

function renderPanel(ensureSaved: () => Promise<boolean> = () => Promise.resolve(true)) {
  const runs: (RunState | null)[] = [];
  render(
    <LiveClientContext.Provider value={live.client}>
      <MemoryRouter>
        <RunPanel workflowId="wf1" ensureSaved={ensureSaved} onRunChange={(run) => runs.push(run)} />
      </MemoryRouter>
    </LiveClientContext.Provider>,
  );
  return { runs };
}

function typePayload(text: string) {
  fireEvent.change(screen.getByTestId("run-payload"), { target: { value: text } });
}

beforeEach(() => {
  live = fakeLiveClient();
  localStorage.clear();
  sessionStorage.clear();
  startRunMock.mockReset();
});

afterEach(() => {
  cleanup();
  live.client.dispose();
});

describe("RunPanel", () => {
  it("checks the payload as it is typed and remembers it per workflow", () => {
    renderPanel();
    typePayload('{"a": ');
    expect(screen.getByTestId("run-payload-error").textContent).toMatch(/^Line 1, column 7/);
    expect(screen.getByTestId<HTMLButtonElement>("run-button").disabled).toBe(true);
    typePayload('{"a": 1}');
    expect(screen.queryByTestId("run-payload-error")).toBeNull();
    expect(localStorage.getItem("portico.payload.wf1")).toBe('{"a": 1}');
  });

  it("does not run while the canvas cannot be saved", async () => {
    renderPanel(() => Promise.resolve(false));
    fireEvent.click(screen.getByTestId("run-button"));
    expect(await screen.findByText(CANVAS_HAS_PROBLEMS)).toBeTruthy();
    expect(startRunMock).not.toHaveBeenCalled();
  });

  it("shows the API's message when the run is refused", async () => {
    startRunMock.mockRejectedValue(new ApiError(429, "rate_limited", "too many runs; try again in 3 s"));
    renderPanel();
    fireEvent.click(screen.getByTestId("run-button"));
    expect(await screen.findByText("too many runs; try again in 3 s")).toBeTruthy();
  });

  it("runs with the payload, follows the run live and reports every change", async () => {
    startRunMock.mockResolvedValue({ execution_id: "ex1" });
    const { runs } = renderPanel();
    typePayload('{"user": 7}');
    fireEvent.click(screen.getByTestId("run-button"));

    await waitFor(() => expect(sessionStorage.getItem("portico.run.wf1")).toBe("ex1"));
    expect(startRunMock).toHaveBeenCalledWith("wf1", { user: 7 });
    expect(screen.getByTestId("run-status").dataset.status).toBe("starting");
    expect(screen.getByTestId("open-execution").getAttribute("href")).toBe("/executions/ex1");

    act(() => live.latest().open());
    expect(live.latest().subscribes()).toEqual([{ type: "subscribe", execution_id: "ex1" }]);
    act(() => live.latest().receive({ type: "snapshot", execution: detail() }));
    expect(screen.getByTestId("run-status").dataset.status).toBe("running");
    expect(screen.getByRole("button", { name: "Cancel" })).toBeTruthy();

    act(() => live.latest().receive({ type: "event", event: event(3, "execution.succeeded") }));
    expect(screen.getByTestId("run-status").dataset.status).toBe("succeeded");
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
    expect(runs.at(-1)?.status).toBe("succeeded");
    expect(runs.filter(Boolean).map((run) => run?.lastSeq)).toEqual([2, 3]);
  });

  it("resumes the run it was watching after a reload", () => {
    sessionStorage.setItem("portico.run.wf1", "ex1");
    renderPanel();
    act(() => live.latest().open());
    expect(live.latest().subscribes()).toEqual([{ type: "subscribe", execution_id: "ex1" }]);
    act(() => live.latest().receive({ type: "snapshot", execution: detail({ status: "failed", last_seq: 6 }) }));
    expect(screen.getByTestId("run-status").dataset.status).toBe("failed");
  });

  it("forgets a remembered run that no longer exists", async () => {
    vi.useFakeTimers();
    try {
      sessionStorage.setItem("portico.run.wf1", "gone");
      renderPanel();
      act(() => live.latest().open());
      const notFound = { type: "error", code: "not_found", message: "no execution gone" };
      for (let attempt = 0; attempt < 4; attempt += 1) {
        act(() => live.latest().receive(notFound));
        act(() => vi.advanceTimersByTime(5_000));
      }
      expect(sessionStorage.getItem("portico.run.wf1")).toBeNull();
      expect(screen.queryByTestId("run-status")).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});
