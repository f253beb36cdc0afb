import { paletteGroups } from "./categories";
import { TEST_TYPES } from "./testGraphs";

describe("palette groups", () => {
  it("groups by category in trigger, action, logic order", () => {
    const groups = paletteGroups(TEST_TYPES, "");
    expect(groups.map((g) => g.category.label)).toEqual(["Triggers", "Actions", "Logic"]);
    expect(groups[0]?.types.map((t) => t.name)).toEqual(["trigger.manual", "trigger.webhook"]);
  });

  it("filters by name, label or description", () => {
    expect(paletteGroups(TEST_TYPES, "http").flatMap((g) => g.types.map((t) => t.name))).toEqual(["http"]);
    expect(paletteGroups(TEST_TYPES, "WEBHOOK").flatMap((g) => g.types.map((t) => t.name))).toEqual([
      "trigger.webhook",
    ]);
    expect(paletteGroups(TEST_TYPES, "nothing like this")).toEqual([]);
  });
});
