// Keyboard shortcuts of the canvas, and copy/paste through the system clipboard. None of them
// fire while the person types in a field (there, Backspace and Ctrl+Z are the field's own).
import { useEffect, useRef } from "react";

export interface ShortcutActions {
  undo: () => void;
  redo: () => void;
  deleteSelection: () => void;
  selectAll: () => void;
  /** The selection as clipboard text, or null when nothing is selected. */
  copy: () => string | null;
  /** Paste the first of these texts that holds copied nodes (system clipboard, then memory). */
  paste: (candidates: (string | null)[]) => void;
}

export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof Element)) return false;
  return target.closest('input, textarea, select, [contenteditable=""], [contenteditable="true"]') !== null;
}

const hasTextSelection = () => (window.getSelection()?.toString() ?? "") !== "";

export type ShortcutCommand = "undo" | "redo" | "delete" | "selectAll" | "copy" | "paste" | null;

/** Which command a key press means (pure, for the tests). */
export function commandFor(event: Pick<KeyboardEvent, "key" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">): ShortcutCommand {
  const mod = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (event.altKey) return null;
  if (!mod) return event.key === "Delete" || event.key === "Backspace" ? "delete" : null;
  if (key === "z") return event.shiftKey ? "redo" : "undo";
  if (key === "y" && !event.shiftKey) return "redo";
  if (key === "a") return "selectAll";
  if (key === "c" && !event.shiftKey) return "copy";
  if (key === "v" && !event.shiftKey) return "paste";
  return null;
}

export function useEditorShortcuts(actions: ShortcutActions) {
  const latest = useRef(actions);
  useEffect(() => {
    latest.current = actions;
  });

  useEffect(() => {
    // Copy and paste prefer the clipboard events (no permission prompt); the key handler
    // notes what is wanted and finishes the job itself if no event follows.
    let pendingCopy: string | null = null;
    let pendingPaste = false;
    let memory: string | null = null;

    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || isTypingTarget(event.target)) return;
      const command = commandFor(event);
      if (!command) return;
      const act = latest.current;
      switch (command) {
        case "undo":
        case "redo":
        case "selectAll":
        case "delete":
          event.preventDefault();
          if (command === "undo") act.undo();
          else if (command === "redo") act.redo();
          else if (command === "selectAll") act.selectAll();
          else act.deleteSelection();
          return;
        case "copy": {
          if (hasTextSelection()) return; // copying text of the page, not nodes
          const text = act.copy();
          if (text === null) return;
          memory = text;
          pendingCopy = text;
          setTimeout(() => {
            if (pendingCopy === null) return;
            pendingCopy = null;
            void navigator.clipboard?.writeText(text).catch(() => undefined);
          }, 0);
          return;
        }
        case "paste":
          pendingPaste = true;
          setTimeout(() => {
            if (!pendingPaste) return;
            pendingPaste = false;
            latest.current.paste([memory]);
          }, 0);
          return;
      }
    };
    const onCopy = (event: ClipboardEvent) => {
      if (pendingCopy === null || !event.clipboardData) return;
      event.clipboardData.setData("text/plain", pendingCopy);
      event.preventDefault();
      pendingCopy = null;
    };
    const onPaste = (event: ClipboardEvent) => {
      if (isTypingTarget(event.target)) return;
      pendingPaste = false;
      event.preventDefault();
      latest.current.paste([event.clipboardData?.getData("text/plain") ?? null, memory]);
    };
    window.addEventListener("keydown", onKeyDown);
    document.addEventListener("copy", onCopy);
    document.addEventListener("paste", onPaste);
    return () => {
      window.removeEventListener("keydown", onKeyDown);
      document.removeEventListener("copy", onCopy);
      document.removeEventListener("paste", onPaste);
    };
  }, []);
}
