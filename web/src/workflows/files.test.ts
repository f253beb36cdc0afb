import { ApiError } from "../api/client";
import {
  ImportFileError,
  MAX_IMPORT_BYTES,
  exportFileName,
  importProblemLines,
  parseImportText,
  readImportFile,
} from "./files";

describe("exportFileName", () => {
  it.each([
    ["Order sync (v2)!", "order-sync-v2.portico.json"],
    ["Café Crème", "cafe-creme.portico.json"],
    ["../../etc/passwd", "etc-passwd.portico.json"],
    ["???", "workflow.portico.json"],
    ["", "workflow.portico.json"],
  ])("names %j %s", (name, fileName) => {
    expect(exportFileName(name)).toBe(fileName);
  });

  it("keeps file names short", () => {
    expect(exportFileName("x".repeat(500)).length).toBeLessThanOrEqual(80 + ".portico.json".length);
  });
});

describe("import files", () => {
  it("reads a JSON object", () => {
    expect(parseImportText('{"format": "portico.workflow", "graph": {}}')).toEqual({
      format: "portico.workflow",
      graph: {},
    });
  });

  it("says what is wrong with a file that is not a workflow", () => {
    expect(() => parseImportText("{nope")).toThrow(ImportFileError);
    expect(() => parseImportText("{nope")).toThrow(/not valid JSON/);
    expect(() => parseImportText("[1, 2]")).toThrow(/expected a JSON object/);
    expect(() => parseImportText("null")).toThrow(/expected a JSON object/);
  });

  it("refuses a file larger than the gateway takes, before reading it", async () => {
    const file = new File(["{}"], "big.json");
    Object.defineProperty(file, "size", { value: MAX_IMPORT_BYTES + 1 });
    await expect(readImportFile(file)).rejects.toThrow(/larger than 5 MiB/);
    await expect(readImportFile(new File(['{"name": "x"}'], "ok.json"))).resolves.toEqual({ name: "x" });
  });

  it("lists the gateway's graph problems", () => {
    const error = new ApiError(422, "invalid_workflow", "the workflow has 2 problems", [
      { code: "unknown_node_type", message: "node 'a': unknown type 'nope'", node_id: "a", field: "type" },
      { code: "dangling_edge", message: "edge 0: target 'zz' is not a node" },
      "not a problem",
    ]);
    expect(importProblemLines(error)).toEqual([
      "node 'a': unknown type 'nope'",
      "edge 0: target 'zz' is not a node",
    ]);
    expect(importProblemLines(new ApiError(422, "invalid_request", "unknown export format"))).toEqual([]);
    expect(importProblemLines(new Error("x"))).toEqual([]);
  });
});
