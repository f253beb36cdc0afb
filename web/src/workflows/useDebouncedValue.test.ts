import { act, renderHook } from "@testing-library/react";
import { useDebouncedValue } from "./useDebouncedValue";

describe("useDebouncedValue", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("settles on the last value once typing pauses", () => {
    const { result, rerender } = renderHook(({ value }) => useDebouncedValue(value, 250), {
      initialProps: { value: "" },
    });
    rerender({ value: "o" });
    act(() => vi.advanceTimersByTime(200));
    rerender({ value: "or" });
    act(() => vi.advanceTimersByTime(200));
    // 400 ms since the first key, but only 200 since the last: still the old value.
    expect(result.current).toBe("");
    act(() => vi.advanceTimersByTime(50));
    expect(result.current).toBe("or");
  });
});
