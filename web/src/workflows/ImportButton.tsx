// "Import": pick a .json file made by Export; the gateway checks it like a save, and what it
// finds wrong is listed node by node.
import { useRef, useState } from "react";
import { errorMessage } from "../api/client";
import type { WorkflowDetail } from "../api/types";
import { Modal } from "../components/Modal";
import { importWorkflow } from "./api";
import { ImportFileError, importProblemLines, readImportFile } from "./files";

interface ImportFailure {
  fileName: string;
  message: string;
  problems: string[];
}

export function ImportButton({ onImported }: { onImported: (workflow: WorkflowDetail) => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<ImportFailure | null>(null);

  const importFile = async (file: File) => {
    setBusy(true);
    setFailure(null);
    try {
      onImported(await importWorkflow(await readImportFile(file)));
    } catch (error) {
      const problems = error instanceof ImportFileError ? [] : importProblemLines(error);
      const message =
        problems.length > 0 ? "The workflow in this file has problems:" : errorMessage(error);
      setFailure({ fileName: file.name, message, problems });
    } finally {
      setBusy(false);
      // Choosing the same file again (after fixing it) must fire a change again.
      if (input.current) input.current.value = "";
    }
  };

  return (
    <>
      <input
        ref={input}
        type="file"
        accept=".json,application/json"
        className="visually-hidden"
        tabIndex={-1}
        aria-hidden="true"
        data-testid="import-file"
        onChange={(event) => {
          const file = event.target.files?.[0];
          if (file) void importFile(file);
        }}
      />
      <button
        type="button"
        data-testid="import-workflow"
        disabled={busy}
        onClick={() => input.current?.click()}
      >
        {busy ? "Importing…" : "Import"}
      </button>
      {failure && (
        <Modal title="Import failed" onClose={() => setFailure(null)}>
          <div data-testid="import-problems">
            <p>
              Could not import <strong>{failure.fileName}</strong>. {failure.message}
            </p>
            {failure.problems.length > 0 && (
              <ul className="import-problems">
                {failure.problems.map((problem, index) => (
                  <li key={index}>{problem}</li>
                ))}
              </ul>
            )}
          </div>
          <div className="actions">
            <button type="button" className="primary" onClick={() => setFailure(null)}>
              OK
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}
