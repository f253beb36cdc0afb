// When each node ran: a bar per node run on a time axis from the execution's start. Bars that
// overlap on the axis ran in parallel. Layout maths: timelineLayout.ts.
import type { CSSProperties } from "react";
import type { TimelineLayout, TimelineRow } from "./timelineLayout";
import { barLabel } from "./timelineLayout";

const pct = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;

export function Timeline({
  layout,
  selectedNodeId,
  onSelectNode,
}: {
  layout: TimelineLayout;
  selectedNodeId: string | null;
  onSelectNode: (nodeId: string) => void;
}) {
  return (
    <section className="timeline card" data-testid="timeline" aria-label="Timeline">
      <h2>Timeline</h2>
      {layout.ticks.length === 0 ? (
        <p className="muted">The execution has not started yet.</p>
      ) : (
        <div className="timeline-grid">
          <div className="timeline-row timeline-axis-row" aria-hidden="true">
            <span className="timeline-label" />
            <div className="timeline-track timeline-axis" data-testid="timeline-axis">
              {layout.ticks.map((tick) => (
                <span key={tick.ms} className="timeline-tick" style={tickStyle(tick.at)}>
                  {tick.label}
                </span>
              ))}
            </div>
          </div>
          {layout.rows.map((row) => (
            <Row
              key={row.nodeId}
              row={row}
              ticks={layout.ticks.map((tick) => tick.at)}
              selected={row.nodeId === selectedNodeId}
              onSelect={() => onSelectNode(row.nodeId)}
            />
          ))}
        </div>
      )}
    </section>
  );
}

/** Tick labels sit centred on their line, except at the ends where they would overflow. */
function tickStyle(at: number): CSSProperties {
  if (at <= 0) return { left: 0 };
  if (at >= 0.999) return { right: 0 };
  return { left: pct(at), transform: "translateX(-50%)" };
}

function Row({
  row,
  ticks,
  selected,
  onSelect,
}: {
  row: TimelineRow;
  ticks: number[];
  selected: boolean;
  onSelect: () => void;
}) {
  const label = barLabel(row);
  return (
    <div
      className={`timeline-row${selected ? " selected" : ""}`}
      data-testid="timeline-row"
      data-node-id={row.nodeId}
      data-status={row.status}
      data-kind={row.kind}
    >
      <button type="button" className="timeline-label" onClick={onSelect} title={`Show ${row.nodeId}`}>
        {row.nodeId}
      </button>
      <div className="timeline-track">
        {ticks.map((at) => (
          <span key={at} className="timeline-gridline" style={{ left: pct(at) }} />
        ))}
        {row.kind === "bar" ? (
          <Bar row={row} label={label} onSelect={onSelect} />
        ) : (
          <span className={`timeline-flat timeline-${row.kind}`}>{label}</span>
        )}
      </div>
    </div>
  );
}

function Bar({ row, label, onSelect }: { row: TimelineRow; label: string; onSelect: () => void }) {
  // Past 80 % of the axis the label goes to the bar's left, so it stays on screen.
  const labelLeft = row.left + row.width > 0.8;
  const attempt = row.attempt && row.attempt > 1 ? ` (attempt ${row.attempt})` : "";
  return (
    <>
      <button
        type="button"
        className={`timeline-bar bar-${row.status}${row.running ? " bar-running" : ""}`}
        style={{ left: pct(row.left), width: pct(row.width) }}
        onClick={onSelect}
        data-testid="timeline-bar"
        title={`${row.nodeId}: ${row.status}${attempt}, ${label}`}
        aria-label={`${row.nodeId} ${row.status}${attempt}, ${label}`}
      />
      <span
        className="timeline-duration"
        data-testid="timeline-duration"
        style={labelLeft ? { right: pct(1 - row.left) } : { left: pct(row.left + row.width) }}
      >
        {label}
      </span>
    </>
  );
}
