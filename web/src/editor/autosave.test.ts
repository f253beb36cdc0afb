import {
  clearDraft,
  draftOffer,
  draftStorageKey,
  readDraft,
  type SaveSnapshot,
  saveLabel,
  saveStateKind,
  shouldSave,
  writeDraft,
} from "./autosave";
import { graphKey } from "./graphModel";
import { sampleGraph } from "./testGraphs";

const snapshot = (over: Partial<SaveSnapshot>): SaveSnapshot => ({
  currentKey: "a",
  savedKey: "a",
  saving: false,
  rejected: null,
  conflict: false,
  ...over,
});

describe("save indicator", () => {
  it("says exactly one state", () => {
    expect(saveLabel(snapshot({}))).toBe("Saved");
    expect(saveLabel(snapshot({ currentKey: "b" }))).toBe("Unsaved changes");
    expect(saveLabel(snapshot({ currentKey: "b", saving: true }))).toBe("Saving…");
    expect(saveLabel(snapshot({ currentKey: "b", rejected: { key: "b", count: 3 } }))).toBe("Not saved: 3 problems");
    expect(saveLabel(snapshot({ currentKey: "b", rejected: { key: "b", count: 1 } }))).toBe("Not saved: 1 problem");
    // Edited since the refusal: the problems are of an older graph.
    expect(saveLabel(snapshot({ currentKey: "c", rejected: { key: "b", count: 3 } }))).toBe("Unsaved changes");
    expect(saveStateKind(snapshot({ currentKey: "b", rejected: { key: "b", count: 3 } }))).toBe("problems");
  });
});

describe("autosave decision", () => {
  it("saves a changed graph once nothing else is under way", () => {
    expect(shouldSave(snapshot({ currentKey: "b" }))).toBe(true);
    expect(shouldSave(snapshot({}))).toBe(false); // identical to the last saved
    expect(shouldSave(snapshot({ currentKey: "b", saving: true }))).toBe(false);
    expect(shouldSave(snapshot({ currentKey: "b", conflict: true }))).toBe(false);
  });

  it("does not resend a graph the server refused, but sends the next edit", () => {
    expect(shouldSave(snapshot({ currentKey: "b", rejected: { key: "b", count: 1 } }))).toBe(false);
    expect(shouldSave(snapshot({ currentKey: "c", rejected: { key: "b", count: 1 } }))).toBe(true);
  });
});

describe("draft backup", () => {
  beforeEach(() => localStorage.clear());

  it("stores, reads and clears a draft under portico.draft.<id>", () => {
    const draft = { graph: sampleGraph(), baseVersion: 3, savedAt: "2025-01-01T00:00:00Z" };
    writeDraft(localStorage, "w1", draft);
    expect(localStorage.getItem(draftStorageKey("w1"))).not.toBeNull();
    expect(draftStorageKey("w1")).toBe("portico.draft.w1");
    expect(readDraft(localStorage, "w1")).toEqual(draft);
    clearDraft(localStorage, "w1");
    expect(readDraft(localStorage, "w1")).toBeNull();
  });

  it("ignores a damaged draft", () => {
    localStorage.setItem(draftStorageKey("w1"), "{not json");
    expect(readDraft(localStorage, "w1")).toBeNull();
    localStorage.setItem(draftStorageKey("w1"), JSON.stringify({ graph: { nodes: 1 }, baseVersion: 1, savedAt: "x" }));
    expect(readDraft(localStorage, "w1")).toBeNull();
  });

  it("offers a draft newer than the server copy, warns when the server moved on", () => {
    const server = { graph: sampleGraph(), version: 4 };
    const edited = { ...sampleGraph(), name: "Edited" };
    expect(draftOffer(null, server)).toEqual({ kind: "none" });
    expect(draftOffer({ graph: sampleGraph(), baseVersion: 4, savedAt: "x" }, server).kind).toBe("discard");
    expect(draftOffer({ graph: edited, baseVersion: 4, savedAt: "x" }, server).kind).toBe("restore");
    expect(draftOffer({ graph: edited, baseVersion: 2, savedAt: "x" }, server)).toMatchObject({
      kind: "restoreStale",
      serverVersion: 4,
    });
    expect(graphKey(edited)).not.toBe(graphKey(server.graph));
  });
});
