// renameWorkflow against a stand-in for the HTTP client (the real `call` and ApiError).
import { renameWorkflow } from "./api";

const requests = vi.hoisted(() => ({
  get: [] as unknown[],
  put: [] as { query: unknown; body: unknown }[],
  versions: [] as number[],
  putStatuses: [] as number[],
}));

vi.mock("../api/client", async (importOriginal) => {
  const original = await importOriginal<typeof import("../api/client")>();
  const ok = (data: unknown) => ({ data, response: new Response(null, { status: 200 }) });
  const fake = {
    GET: async (path: string) => {
      requests.get.push(path);
      const version = requests.versions.shift() ?? 1;
      return ok({ id: "wf_1", version, graph: { name: "Old", nodes: [{ id: "t" }], edges: [] } });
    },
    PUT: async (_path: string, init: { params: { query: unknown }; body: unknown }) => {
      requests.put.push({ query: init.params.query, body: init.body });
      const status = requests.putStatuses.shift() ?? 200;
      if (status === 200) return ok({ id: "wf_1", name: "New" });
      const error = { error: { code: "conflict", message: "version 3 was saved since version 2" } };
      return { error, response: new Response(null, { status }) };
    },
  };
  return { ...original, api: fake };
});

describe("renameWorkflow", () => {
  beforeEach(() => {
    requests.get.length = 0;
    requests.put.length = 0;
  });

  it("saves the latest graph under the new name, naming the version it read", async () => {
    requests.versions.push(4);
    await renameWorkflow("wf_1", "New");
    expect(requests.put).toEqual([
      { query: { expected_version: 4 }, body: { name: "New", nodes: [{ id: "t" }], edges: [] } },
    ]);
  });

  it("reads again and retries once when someone saved meanwhile", async () => {
    requests.versions.push(2, 3);
    requests.putStatuses.push(409);
    await renameWorkflow("wf_1", "New");
    expect(requests.get).toHaveLength(2);
    expect(requests.put.map((put) => put.query)).toEqual([{ expected_version: 2 }, { expected_version: 3 }]);
  });

  it("gives up with the API's message after a second conflict", async () => {
    requests.putStatuses.push(409, 409);
    await expect(renameWorkflow("wf_1", "New")).rejects.toMatchObject({
      status: 409,
      message: "version 3 was saved since version 2",
    });
    expect(requests.put).toHaveLength(2);
  });

  it("does not retry other errors", async () => {
    requests.putStatuses.push(422);
    await expect(renameWorkflow("wf_1", "New")).rejects.toMatchObject({ status: 422 });
    expect(requests.put).toHaveLength(1);
  });
});
