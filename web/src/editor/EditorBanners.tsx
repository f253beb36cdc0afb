// Messages across the top of the editor that ask for a decision: a draft to restore, someone
// else's save, a save that keeps failing, an action that did not work.
import type { DraftBackup, DraftOffer } from "./autosave";
import { formatWhen } from "../format";
import type { Conflict } from "./useWorkflowSaver";

interface EditorBannersProps {
  offer: DraftOffer;
  onRestore: (draft: DraftBackup) => void;
  onDiscard: () => void;
  conflict: Conflict | null;
  onReload: () => void;
  onOverwrite: () => void;
  failure: string | null;
  notice: string | null;
  onDismissNotice: () => void;
}

export function EditorBanners(props: EditorBannersProps) {
  const { offer, conflict, failure, notice } = props;
  return (
    <>
      {(offer.kind === "restore" || offer.kind === "restoreStale") && (
        <div className="editor-banner warn" data-testid="draft-restore" role="status">
          <span>
            This browser kept unsaved changes to this workflow from {formatWhen(offer.draft.savedAt)}.
            {offer.kind === "restoreStale" &&
              ` They were made to version ${offer.draft.baseVersion}; version ${offer.serverVersion} was saved since, and restoring replaces it.`}
          </span>
          <span className="spacer" />
          <button type="button" className="primary" data-testid="draft-restore-button" onClick={() => props.onRestore(offer.draft)}>
            Restore them
          </button>
          <button type="button" data-testid="draft-discard-button" onClick={props.onDiscard}>
            Discard
          </button>
        </div>
      )}
      {conflict && (
        <div className="editor-banner error" data-testid="save-conflict" role="alert">
          <span>
            Someone else saved this workflow
            {conflict.latestVersion ? ` (version ${conflict.latestVersion})` : ""} while you were editing, so your changes
            were not saved. They are still here, and kept in this browser.
          </span>
          <span className="spacer" />
          <button type="button" className="primary" data-testid="conflict-reload" onClick={props.onReload}>
            Load their version
          </button>
          <button type="button" className="danger" data-testid="conflict-overwrite" onClick={props.onOverwrite}>
            Save mine over it
          </button>
        </div>
      )}
      {failure && !conflict && (
        <div className="editor-banner error" data-testid="save-error" role="alert">
          <span>Could not save: {failure} Trying again in a few seconds; your changes are kept in this browser.</span>
        </div>
      )}
      {notice && (
        <div className="editor-banner error" data-testid="editor-notice" role="alert">
          <span>{notice}</span>
          <span className="spacer" />
          <button type="button" className="link" onClick={props.onDismissNotice}>
            Dismiss
          </button>
        </div>
      )}
    </>
  );
}
