import { at, T0 } from "../live/testData";
import {
  MIN_BAR_WIDTH,
  barLabel,
  formatTick,
  layoutTimeline,
  tickStep,
  type TimelineNode,
} from "./timelineLayout";

const NOW = Date.parse(T0) + 60_000;

function layout(nodes: TimelineNode[], finishedAt: string | null = at(1000), startedAt: string | null = T0) {
  return layoutTimeline({ startedAt, finishedAt, nodes, now: NOW });
}

function ran(nodeId: string, from: number, to: number | null, status: TimelineNode["status"] = "succeeded"): TimelineNode {
  return { nodeId, status, attempt: 1, startedAt: at(from), finishedAt: to === null ? null : at(to) };
}

describe("layoutTimeline", () => {
  it("places each bar by its start and finish on an axis from the execution start", () => {
    const { rows, totalMs } = layout([ran("start", 0, 0), ran("fetch", 100, 600), ran("save", 600, 1000)]);
    expect(totalMs).toBe(1000);
    expect(rows.map((row) => [row.nodeId, row.left, row.width, row.durationMs])).toEqual([
      ["start", 0, MIN_BAR_WIDTH, 0],
      ["fetch", 0.1, 0.5, 500],
      ["save", 0.6, 0.4, 400],
    ]);
  });

  it("gives parallel nodes their own rows with overlapping spans", () => {
    const { rows } = layout([ran("left", 100, 700), ran("right", 150, 900)]);
    const [left, right] = rows;
    expect(left?.left).toBeCloseTo(0.1);
    expect(right?.left).toBeCloseTo(0.15);
    // The second starts before the first ends: they overlap on the axis.
    expect(right!.left).toBeLessThan(left!.left + left!.width);
  });

  it("orders rows by start time, graph order breaking ties", () => {
    const { rows } = layout([ran("late", 500, 600), ran("b", 100, 200), ran("a", 100, 300)]);
    expect(rows.map((row) => row.nodeId)).toEqual(["b", "a", "late"]);
  });

  it("grows a running bar and the axis up to now", () => {
    const { rows, totalMs } = layout([ran("slow", 1000, null, "running")], null);
    expect(totalMs).toBe(60_000);
    expect(rows[0]).toMatchObject({ running: true, durationMs: null, elapsedMs: 59_000 });
    expect(rows[0]!.left + rows[0]!.width).toBeCloseTo(1);
    expect(barLabel(rows[0]!)).toBe("59.0 s…");
  });

  it("lists nodes that never started after the bars, with their status", () => {
    const { rows } = layout([
      { nodeId: "never", status: "skipped" },
      ran("start", 0, 0),
      { nodeId: "next", status: "queued", attempt: 0 },
    ]);
    expect(rows.map((row) => [row.nodeId, row.kind])).toEqual([
      ["start", "bar"],
      ["never", "waiting"],
      ["next", "waiting"],
    ]);
    expect(barLabel(rows[1]!)).toBe("skipped");
  });

  it("marks nodes reused from the retried execution instead of stretching the axis back", () => {
    const reused = { nodeId: "old", status: "succeeded" as const, startedAt: at(-50_000), finishedAt: at(-49_000) };
    const { rows, totalMs } = layout([reused, ran("new", 10, 500)]);
    expect(totalMs).toBe(1000);
    expect(rows.map((row) => [row.nodeId, row.kind])).toEqual([
      ["new", "bar"],
      ["old", "reused"],
    ]);
  });

  it("clamps a start a little before the execution's (clock skew) to the axis start", () => {
    const { rows } = layout([ran("early", -5, 400)]);
    expect(rows[0]).toMatchObject({ kind: "bar", left: 0, durationMs: 405 });
  });

  it("extends the axis to a node that finished after the execution's recorded end", () => {
    const { totalMs } = layout([ran("a", 0, 1500)], at(1000));
    expect(totalMs).toBe(1500);
  });

  it("keeps a short bar at the end inside the axis", () => {
    const { rows } = layout([ran("a", 0, 1000), ran("last", 1000, 1000)]);
    expect(rows[1]!.left + rows[1]!.width).toBeLessThanOrEqual(1);
  });

  it("has no bars and no ticks before the execution starts", () => {
    const result = layout([{ nodeId: "a", status: "queued" }], null, null);
    expect(result.ticks).toEqual([]);
    expect(result.rows).toEqual([expect.objectContaining({ nodeId: "a", kind: "waiting" })]);
  });
});

describe("ticks", () => {
  it("spaces round ticks across the axis, starting at 0", () => {
    const { ticks } = layout([ran("a", 0, 1000)]);
    expect(ticks.map((tick) => tick.label)).toEqual(["0", "200 ms", "400 ms", "600 ms", "800 ms", "1 s"]);
    expect(ticks.map((tick) => tick.at)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it.each([
    [7, 1],
    [1000, 200],
    [3_500, 500],
    [59_000, 10_000],
    [600_000, 120_000],
    [5 * 3_600_000, 3_600_000],
    [30 * 86_400_000, 4 * 86_400_000],
  ])("a %s ms axis gets a %s ms step", (total, step) => {
    expect(tickStep(total)).toBe(step);
    expect(total / step).toBeLessThanOrEqual(8);
  });

  it.each([
    [0, "0"],
    [250, "250 ms"],
    [1_500, "1.5 s"],
    [15_000, "15 s"],
    [120_000, "2 min"],
    [90_000, "1 min 30 s"],
    [7_200_000, "2 h"],
    [5_400_000, "1 h 30 min"],
  ])("%s ms reads %s", (ms, label) => {
    expect(formatTick(ms)).toBe(label);
  });
});
