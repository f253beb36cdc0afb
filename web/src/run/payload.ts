// The run payload as typed: JSON, checked on every keystroke, with a message that says where.

export type PayloadCheck =
  | { ok: true; value: unknown }
  | { ok: false; message: string };

/** Parse the payload text; blank means an empty object. */
export function checkPayload(text: string): PayloadCheck {
  if (text.trim() === "") return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: describeJsonError(text, error) };
  }
}

/** "Line 2, column 5: Expected ':' after property name" from whatever the engine said. */
export function describeJsonError(text: string, error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  // Engines differ: V8 says "… in JSON at position 12 (line 2 column 5)", Firefox
  // "JSON.parse: … at line 2 column 5 of the JSON data".
  const detail = raw
    .replace(/^JSON\.parse:\s*/, "")
    .replace(/,?\s*(in JSON\s*)?at (position \d+|line \d+ column \d+).*$/s, "")
    .replace(/^Unexpected end of JSON input$/, "Unexpected end of input")
    .trim();
  const where = locate(text, raw);
  return where ? `Line ${where.line}, column ${where.column}: ${detail}` : detail;
}

function locate(text: string, message: string): { line: number; column: number } | null {
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /position (\d+)/.exec(message);
  const offset = position ? Number(position[1]) : /end of (JSON )?(input|data)/i.test(message) ? text.length : null;
  if (offset === null) return null;
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}
