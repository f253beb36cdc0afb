import { loadOnce } from "./loadOnce";

describe("loadOnce", () => {
  it("asks once and shares the answer", async () => {
    const fetch = vi.fn().mockResolvedValue(["a"]);
    const load = loadOnce(fetch);
    expect(await Promise.all([load(), load()])).toEqual([["a"], ["a"]]);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("asks again after a failure", async () => {
    const fetch = vi.fn().mockRejectedValueOnce(new Error("down")).mockResolvedValue(["b"]);
    const load = loadOnce(fetch);
    await expect(load()).rejects.toThrow("down");
    expect(await load()).toEqual(["b"]);
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});
