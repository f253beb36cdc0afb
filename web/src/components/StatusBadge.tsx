/** A coloured pill for an execution or node run status (`status-<name>` in styles.css). */
export function StatusBadge({ status, attempt }: { status: string; attempt?: number | null }) {
  const label = status === "retrying" && attempt ? `retrying (attempt ${attempt})` : status;
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {label}
    </span>
  );
}
