// The credential list and the type catalogue, loaded together for the credentials page.
import { useCallback, useEffect, useState } from "react";
import { errorMessage } from "../api/client";
import type { CredentialTypeView, CredentialView } from "../api/types";
import { listCredentials, loadCredentialTypes } from "./api";

export interface CredentialsState {
  credentials: CredentialView[] | null;
  error: string | null;
  types: CredentialTypeView[] | null;
  typesError: string | null;
}

/** Newest first changes order on every save; names are how people look for a credential. */
export function sortByName(credentials: CredentialView[]): CredentialView[] {
  const byName = (a: CredentialView, b: CredentialView) =>
    a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
  return [...credentials].sort(byName);
}

/** The list after a save: the credential replaced, or added, in name order. */
export function withSaved(credentials: CredentialView[], saved: CredentialView): CredentialView[] {
  return sortByName([...credentials.filter((other) => other.id !== saved.id), saved]);
}

export function useCredentials() {
  const [state, setState] = useState<CredentialsState>({
    credentials: null,
    error: null,
    types: null,
    typesError: null,
  });
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    let live = true;
    setState((current) => ({ ...current, error: null, typesError: null }));
    const merge = (change: Partial<CredentialsState>) => {
      if (live) setState((current) => ({ ...current, ...change }));
    };
    listCredentials().then(
      (credentials) => merge({ credentials: sortByName(credentials) }),
      (error: unknown) => merge({ error: errorMessage(error) }),
    );
    loadCredentialTypes().then(
      (types) => merge({ types }),
      (error: unknown) => merge({ typesError: errorMessage(error) }),
    );
    return () => {
      live = false;
    };
  }, [reloads]);

  const update = useCallback((change: (list: CredentialView[]) => CredentialView[]) => {
    setState((current) => ({ ...current, credentials: change(current.credentials ?? []) }));
  }, []);

  return {
    state,
    reload: useCallback(() => setReloads((count) => count + 1), []),
    saved: useCallback(
      (credential: CredentialView) => update((list) => withSaved(list, credential)),
      [update],
    ),
    removed: useCallback(
      (id: string) => update((list) => list.filter((other) => other.id !== id)),
      [update],
    ),
  };
}
