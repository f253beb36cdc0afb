// Durations of things that may still be running.
import { formatDuration } from "../format";

/** Milliseconds from `start` to `end`, or to `now` while unfinished; null before it starts. */
export function elapsedMs(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number,
): number | null {
  if (!start) return null;
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  if (Number.isNaN(from) || Number.isNaN(to)) return null;
  return Math.max(0, to - from);
}

export function elapsedText(
  start: string | null | undefined,
  end: string | null | undefined,
  now: number,
): string {
  const ms = elapsedMs(start, end, now);
  return ms === null ? "—" : formatDuration(ms);
}
