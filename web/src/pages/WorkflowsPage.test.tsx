// The workflow list page against a stand-in for its API module.
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { ApiError } from "../api/client";
import type { WorkflowSummary } from "../api/types";
import * as workflowsApi from "../workflows/api";
import { WorkflowsPage } from "./WorkflowsPage";

vi.mock("../workflows/api", async (importOriginal) => {
  const original = await importOriginal<typeof import("../workflows/api")>();
  return {
    ...original,
    listWorkflows: vi.fn(),
    createWorkflow: vi.fn(),
    setWorkflowActive: vi.fn(),
    importWorkflow: vi.fn(),
  };
});

const listWorkflows = vi.mocked(workflowsApi.listWorkflows);
const createWorkflow = vi.mocked(workflowsApi.createWorkflow);
const setWorkflowActive = vi.mocked(workflowsApi.setWorkflowActive);
const importWorkflow = vi.mocked(workflowsApi.importWorkflow);

const ORDERS: WorkflowSummary = {
  id: "wf_orders",
  name: "Orders",
  active: false,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  latest_version: 3,
  last_execution: {
    id: "ex_9",
    status: "failed",
    created_at: "2026-01-01T00:00:00Z",
    started_at: "2026-01-01T00:00:01Z",
    finished_at: "2026-01-01T00:00:02Z",
  },
};
const HELLO: WorkflowSummary = { ...ORDERS, id: "wf_hello", name: "Hello", last_execution: null };

function renderPage(path = "/") {
  render(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/" element={<WorkflowsPage />} />
        <Route path="/workflows/:id" element={<p>editor page</p>} />
      </Routes>
    </MemoryRouter>,
  );
  return userEvent.setup();
}

beforeEach(() => {
  vi.clearAllMocks();
  listWorkflows.mockResolvedValue({ items: [ORDERS, HELLO], total: 2 });
});

describe("WorkflowsPage", () => {
  it("lists workflows with their switch and last run", async () => {
    renderPage();
    const rows = await screen.findAllByTestId("workflow-row");
    expect(rows.map((row) => row.dataset.workflowId)).toEqual(["wf_orders", "wf_hello"]);
    const lastRun = within(rows[0]!).getByTestId("last-run");
    expect(within(lastRun).getByRole("link").getAttribute("href")).toBe("/executions/ex_9");
    expect(within(lastRun).getByText("failed")).toBeTruthy();
    expect(within(rows[1]!).getByTestId("last-run").textContent).toBe("Never run");
    expect(within(rows[0]!).getByRole("link", { name: "Orders" }).getAttribute("href")).toBe("/workflows/wf_orders");
  });

  it("searches on the server once typing pauses", async () => {
    const user = renderPage();
    await screen.findAllByTestId("workflow-row");
    listWorkflows.mockResolvedValue({ items: [ORDERS], total: 1 });
    await user.type(screen.getByTestId("workflow-search"), "ord");
    await waitFor(() => expect(screen.getAllByTestId("workflow-row")).toHaveLength(1));
    const queries = listWorkflows.mock.calls.map((args) => args[0]);
    expect(queries).toEqual(["", "ord"]);
  });

  it("starts from the search in the address", async () => {
    renderPage("/?q=hel");
    await screen.findAllByTestId("workflow-row");
    expect(listWorkflows.mock.calls[0]?.[0]).toBe("hel");
    expect((screen.getByTestId("workflow-search") as HTMLInputElement).value).toBe("hel");
  });

  it("shows why a workflow cannot be activated", async () => {
    setWorkflowActive.mockRejectedValue(
      new ApiError(422, "invalid_workflow", "the workflow has no trigger that can be activated"),
    );
    const user = renderPage();
    const [orders] = await screen.findAllByTestId("workflow-row");
    await user.click(within(orders!).getByTestId("activate-toggle"));
    expect(setWorkflowActive).toHaveBeenCalledWith("wf_orders", true);
    expect((await screen.findByRole("alert")).textContent).toContain(
      "Could not activate: the workflow has no trigger that can be activated",
    );
    expect((within(orders!).getByTestId("activate-toggle") as HTMLInputElement).checked).toBe(false);
  });

  it("turns a workflow on", async () => {
    setWorkflowActive.mockResolvedValue({ ...ORDERS, active: true, graph: {}, version: 3 });
    const user = renderPage();
    const [orders] = await screen.findAllByTestId("workflow-row");
    await user.click(within(orders!).getByTestId("activate-toggle"));
    await waitFor(() => expect((within(orders!).getByTestId("activate-toggle") as HTMLInputElement).checked).toBe(true));
  });

  it("creates a workflow and opens it", async () => {
    createWorkflow.mockResolvedValue({ ...HELLO, id: "wf_new", graph: {}, version: 1 });
    const user = renderPage();
    await user.click(screen.getByTestId("new-workflow"));
    expect(await screen.findByText("editor page")).toBeTruthy();
  });

  it("invites to create the first workflow when there is none", async () => {
    listWorkflows.mockResolvedValue({ items: [], total: 0 });
    renderPage();
    expect(await screen.findByText("No workflows yet")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Create your first workflow" })).toBeTruthy();
  });

  it("offers a retry when the list cannot be loaded", async () => {
    listWorkflows.mockRejectedValueOnce(new ApiError(503, "database_unavailable", "the database is not answering"));
    const user = renderPage();
    expect((await screen.findByRole("alert")).textContent).toContain("the database is not answering");
    await user.click(screen.getByRole("button", { name: "Retry" }));
    expect(await screen.findAllByTestId("workflow-row")).toHaveLength(2);
  });

  it("imports an exported file and lists the result", async () => {
    importWorkflow.mockResolvedValue({ ...HELLO, id: "wf_imported", name: "Imported one", graph: {}, version: 1 });
    const user = renderPage();
    await screen.findAllByTestId("workflow-row");
    const document = { format: "portico.workflow", format_version: 1, graph: { name: "Imported one" } };
    await user.upload(screen.getByTestId("import-file"), new File([JSON.stringify(document)], "one.json"));
    expect(importWorkflow).toHaveBeenCalledWith(document);
    const notice = await screen.findByTestId("notice");
    expect(within(notice).getByRole("link", { name: "Imported one" }).getAttribute("href")).toBe("/workflows/wf_imported");
    await waitFor(() => expect(listWorkflows).toHaveBeenCalledTimes(2));
  });

  it("lists what is wrong with a workflow that cannot be imported", async () => {
    importWorkflow.mockRejectedValue(
      new ApiError(422, "invalid_workflow", "the workflow has 1 problem", [
        { code: "unknown_node_type", message: "node 'x': unknown type 'nope'", node_id: "x", field: "type" },
      ]),
    );
    const user = renderPage();
    await user.upload(screen.getByTestId("import-file"), new File(['{"name": "x"}'], "broken.json"));
    const problems = await screen.findByTestId("import-problems");
    expect(problems.textContent).toContain("broken.json");
    expect(within(problems).getByRole("listitem").textContent).toBe("node 'x': unknown type 'nope'");
  });

  it("says when a file is not JSON, without sending it", async () => {
    const user = renderPage();
    await user.upload(screen.getByTestId("import-file"), new File(["not json"], "notes.json"));
    expect((await screen.findByTestId("import-problems")).textContent).toContain("not valid JSON");
    expect(importWorkflow).not.toHaveBeenCalled();
  });
});
