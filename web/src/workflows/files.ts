// Export to and import from .json files.
import { ApiError } from "../api/client";

/** "Order sync (v2)!" → "order-sync-v2.portico.json": safe on every file system. */
export function exportFileName(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80);
  return `${slug || "workflow"}.portico.json`;
}

/** Have the browser save `data` as a pretty-printed JSON file. */
export function downloadJson(fileName: string, data: unknown): void {
  const blob = new Blob([JSON.stringify(data, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The click has started the download; the object URL is no longer needed after it.
  window.setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** The gateway's import limit is its 5 MiB body cap; refuse bigger files before sending. */
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

export class ImportFileError extends Error {}

/** The JSON object in an import file, or an ImportFileError saying what is wrong with it. */
export function parseImportText(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ImportFileError(`This file is not valid JSON (${reason}).`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ImportFileError(
      "This file is not a workflow: expected a JSON object as made by Export.",
    );
  }
  return parsed as Record<string, unknown>;
}

export async function readImportFile(file: File): Promise<Record<string, unknown>> {
  if (file.size > MAX_IMPORT_BYTES) {
    throw new ImportFileError("This file is larger than 5 MiB, the most Portico imports.");
  }
  return parseImportText(await readText(file));
}

/** A file's text (through FileReader, which every browser and jsdom have). */
function readText(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new ImportFileError("This file could not be read."));
    reader.readAsText(file);
  });
}

/**
 * The problems the gateway found in an imported workflow, one line each (each message already
 * names its node and field); empty when the error is not a list of graph problems.
 */
export function importProblemLines(error: unknown): string[] {
  if (!(error instanceof ApiError)) return [];
  return error.problems.map((problem) => problem.message);
}
