// A message in the corner after an action: successes fade out, errors stay until closed.
import { useCallback, useEffect, useState } from "react";
import type { ReactNode } from "react";

export interface NoticeValue {
  kind: "info" | "error";
  content: ReactNode;
}

const INFO_MS = 6000;

export function useNotice(): [NoticeValue | null, (notice: NoticeValue | null) => void] {
  const [notice, setNotice] = useState<NoticeValue | null>(null);
  useEffect(() => {
    if (notice?.kind !== "info") return;
    const timer = window.setTimeout(() => setNotice(null), INFO_MS);
    return () => window.clearTimeout(timer);
  }, [notice]);
  return [notice, useCallback((next: NoticeValue | null) => setNotice(next), [])];
}

export function Notice({ notice, onClose }: { notice: NoticeValue | null; onClose: () => void }) {
  if (!notice) return null;
  const error = notice.kind === "error";
  return (
    <div
      className={`toast notice${error ? " error" : ""}`}
      role={error ? "alert" : "status"}
      data-testid="notice"
    >
      <div className="notice-content">{notice.content}</div>
      <button type="button" className="notice-close" aria-label="Close" onClick={onClose}>
        ×
      </button>
    </div>
  );
}
