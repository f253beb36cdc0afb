// The gateway's answer to a refused credential, sorted onto the fields of the dialog.
import { ApiError, errorMessage } from "../api/client";

export interface CredentialProblems {
  name: string | null;
  type: string | null;
  /** Keyed by the data field's path, as SchemaForm shows them ("api_key"). */
  data: Record<string, string>;
  /** What belongs to no field. */
  message: string | null;
}

interface Detail {
  field?: unknown;
  message?: unknown;
}

export function credentialProblems(error: unknown): CredentialProblems {
  const problems: CredentialProblems = { name: null, type: null, data: {}, message: null };
  if (!(error instanceof ApiError) || !Array.isArray(error.details)) {
    return { ...problems, message: errorMessage(error) };
  }
  const unplaced: string[] = [];
  for (const detail of error.details as Detail[]) {
    if (typeof detail !== "object" || detail === null) continue;
    // Request validation says "body.name"; the data check says "data.api_key".
    const field = String(detail.field ?? "").replace(/^body\./, "");
    const message = String(detail.message ?? "");
    if (field === "name") problems.name = message;
    else if (field === "type") problems.type = message;
    else if (field.startsWith("data.")) problems.data[field.slice("data.".length)] = message;
    // A problem of `data` as a whole ("fields it does not take") or of anything else.
    else unplaced.push(field === "data" || field === "" ? message : `${field}: ${message}`);
  }
  const placedAny = problems.name || problems.type || Object.keys(problems.data).length > 0;
  if (unplaced.length > 0) problems.message = unplaced.join("; ");
  else if (!placedAny) problems.message = error.message;
  return problems;
}
