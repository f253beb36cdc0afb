// The node types, grouped and searchable: drag one onto the canvas, or click it to add it at
// the middle of the view.
import { useMemo, useState } from "react";
import type { NodeTypeView } from "../api/types";
import { paletteGroups, typeGlyph } from "./categories";

/** The drag data type a palette item carries (its value: the node type's name). */
export const PALETTE_MIME = "application/portico-node";

export function Palette({ types, onAdd }: { types: NodeTypeView[]; onAdd: (typeName: string) => void }) {
  const [search, setSearch] = useState("");
  const groups = useMemo(() => paletteGroups(types, search), [types, search]);
  return (
    <aside className="palette" aria-label="Node types">
      <div className="palette-search">
        <input
          type="search"
          placeholder="Search nodes…"
          aria-label="Search node types"
          data-testid="palette-search"
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
      </div>
      <div className="palette-list">
        {groups.length === 0 && <p className="muted small">No node type matches “{search}”.</p>}
        {groups.map((group) => (
          <section key={group.category.key} className="palette-group">
            <h3>{group.category.label}</h3>
            {group.types.map((type) => (
              <PaletteItem key={type.name} type={type} onAdd={onAdd} />
            ))}
          </section>
        ))}
      </div>
    </aside>
  );
}

function PaletteItem({ type, onAdd }: { type: NodeTypeView; onAdd: (typeName: string) => void }) {
  return (
    <button
      type="button"
      className={`palette-item pn-cat-${type.category}`}
      data-testid={`palette-item-${type.name}`}
      draggable
      title={`${type.description} Drag onto the canvas, or click to add.`}
      onDragStart={(event) => {
        event.dataTransfer.setData(PALETTE_MIME, type.name);
        event.dataTransfer.effectAllowed = "move";
      }}
      onClick={() => onAdd(type.name)}
    >
      <span className="pn-glyph" aria-hidden="true">
        {typeGlyph(type.name, type.category)}
      </span>
      <span className="palette-text">
        <span className="palette-label">{type.label}</span>
        <span className="palette-desc">{type.description}</span>
      </span>
    </button>
  );
}
