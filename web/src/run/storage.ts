// What the run panel remembers: the last payload per workflow (localStorage, across visits)
// and the run being watched per workflow (sessionStorage: survives a reload of this tab).
// Storage can be full or disabled (private windows); then the panel simply forgets.

export const DEFAULT_PAYLOAD = "{}";

const payloadKey = (workflowId: string) => `portico.payload.${workflowId}`;
const runKey = (workflowId: string) => `portico.run.${workflowId}`;

function read(storage: () => Storage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    return null;
  }
}

function write(storage: () => Storage, key: string, value: string | null): void {
  try {
    if (value === null) storage().removeItem(key);
    else storage().setItem(key, value);
  } catch {
    // Nowhere to keep it: nothing is lost but the convenience.
  }
}

export function loadPayload(workflowId: string): string {
  return read(() => localStorage, payloadKey(workflowId)) ?? DEFAULT_PAYLOAD;
}

export function savePayload(workflowId: string, text: string): void {
  write(() => localStorage, payloadKey(workflowId), text);
}

export function loadRunId(workflowId: string): string | null {
  return read(() => sessionStorage, runKey(workflowId));
}

export function saveRunId(workflowId: string, executionId: string | null): void {
  write(() => sessionStorage, runKey(workflowId), executionId);
}
