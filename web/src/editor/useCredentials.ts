// The account's credentials (metadata only) for the credential picker; read again when the
// window regains focus, so one created in another tab shows up.
import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../api/client";
import type { CredentialView } from "../api/types";
import { listCredentials } from "../credentials/api";

export interface CredentialsState {
  credentials: CredentialView[] | null;
  error: string | null;
}

export function useCredentials(): CredentialsState {
  const [state, setState] = useState<CredentialsState>({ credentials: null, error: null });
  const load = useCallback(() => {
    listCredentials().then(
      (credentials) => setState({ credentials, error: null }),
      (error: unknown) => setState((current) => ({ ...current, error: errorMessage(error) })),
    );
  }, []);
  useEffect(() => {
    load();
    window.addEventListener("focus", load);
    return () => window.removeEventListener("focus", load);
  }, [load]);
  return state;
}
