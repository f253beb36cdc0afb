// How node types look: a glyph per type and a colour per category, shared by palette and canvas.
import type { NodeTypeView } from "../api/types";

export interface CategoryInfo {
  key: string;
  label: string;
  /** Palette order. */
  order: number;
}

const CATEGORIES: Record<string, CategoryInfo> = {
  trigger: { key: "trigger", label: "Triggers", order: 0 },
  action: { key: "action", label: "Actions", order: 1 },
  logic: { key: "logic", label: "Logic", order: 2 },
};

export function categoryInfo(category: string): CategoryInfo {
  return (
    CATEGORIES[category] ?? {
      key: category,
      label: category.charAt(0).toUpperCase() + category.slice(1),
      order: 99,
    }
  );
}

// Characters every common font has (no emoji): a browser without an emoji font draws boxes.
const GLYPHS: Record<string, string> = {
  "trigger.manual": "▶",
  "trigger.webhook": "⇄",
  "trigger.cron": "◷",
  "trigger.event": "✉",
  http: "↗",
  ai: "✦",
  slack: "#",
  discord: "◉",
  transform: "ƒ",
  condition: "◇",
  merge: "⋈",
  wait: "◔",
};

export function typeGlyph(typeName: string, category: string | undefined): string {
  return GLYPHS[typeName] ?? (category === "trigger" ? "⚡" : category === "logic" ? "◆" : "●");
}

export interface PaletteGroup {
  category: CategoryInfo;
  types: NodeTypeView[];
}

/** Node types grouped by category (triggers, actions, logic), filtered by a search text. */
export function paletteGroups(types: readonly NodeTypeView[], search: string): PaletteGroup[] {
  const needle = search.trim().toLowerCase();
  const matches = (type: NodeTypeView) =>
    !needle ||
    [type.name, type.label, type.description, type.category].some((text) =>
      text.toLowerCase().includes(needle),
    );
  const groups = new Map<string, PaletteGroup>();
  for (const type of types) {
    if (!matches(type)) continue;
    const info = categoryInfo(type.category);
    const group = groups.get(info.key) ?? { category: info, types: [] };
    group.types.push(type);
    groups.set(info.key, group);
  }
  return [...groups.values()].sort((a, b) => a.category.order - b.category.order);
}
