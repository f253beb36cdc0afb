import { commandFor, isTypingTarget } from "./useEditorShortcuts";

const key = (k: string, mods: Partial<Record<"ctrlKey" | "metaKey" | "shiftKey" | "altKey", boolean>> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe("shortcuts", () => {
  it("maps keys to commands on Windows/Linux and macOS", () => {
    expect(commandFor(key("z", { ctrlKey: true }))).toBe("undo");
    expect(commandFor(key("z", { metaKey: true }))).toBe("undo");
    expect(commandFor(key("Z", { ctrlKey: true, shiftKey: true }))).toBe("redo");
    expect(commandFor(key("y", { ctrlKey: true }))).toBe("redo");
    expect(commandFor(key("c", { metaKey: true }))).toBe("copy");
    expect(commandFor(key("v", { ctrlKey: true }))).toBe("paste");
    expect(commandFor(key("Delete"))).toBe("delete");
    expect(commandFor(key("Backspace"))).toBe("delete");
    expect(commandFor(key("z"))).toBeNull();
    expect(commandFor(key("c", { ctrlKey: true, altKey: true }))).toBeNull();
  });

  it("knows when the person is typing", () => {
    document.body.innerHTML = `<input id="i"><div contenteditable="true"><span id="s"></span></div><button id="b"></button>`;
    expect(isTypingTarget(document.getElementById("i"))).toBe(true);
    expect(isTypingTarget(document.getElementById("s"))).toBe(true);
    expect(isTypingTarget(document.getElementById("b"))).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });
});
