import { durationBetween, formatDuration, formatWhen } from "./format";

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [850.4, "850 ms"],
    [4200, "4.20 s"],
    [12_340, "12.3 s"],
    [185_000, "3 min 5 s"],
    [7_800_000, "2 h 10 min"],
    [-1, "—"],
  ])("%s ms reads %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("measures between two instants and waits for both", () => {
    expect(durationBetween("2026-01-01T00:00:00Z", "2026-01-01T00:00:01.5Z")).toBe("1.50 s");
    expect(durationBetween("2026-01-01T00:00:00Z", null)).toBe("—");
  });
});

describe("formatWhen", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  it("is relative when recent", () => {
    expect(formatWhen("2026-01-01T11:59:55Z", now)).toBe("just now");
    expect(formatWhen("2026-01-01T11:55:00Z", now)).toBe("5 min ago");
    expect(formatWhen("2026-01-01T09:00:00Z", now)).toBe("3 h ago");
  });
  it("says nothing of a missing or broken time", () => {
    expect(formatWhen(null, now)).toBe("—");
    expect(formatWhen("yesterday", now)).toBe("—");
  });
});
