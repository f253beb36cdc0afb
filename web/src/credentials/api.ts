// The credential page's calls to the gateway. Secret `data` only ever travels outwards: no
// answer contains it, and nothing here keeps or logs it.
import { api, call } from "../api/client";
import { loadOnce } from "../api/loadOnce";
import type { CredentialView } from "../api/types";

export type CredentialType = CredentialView["type"];

export function listCredentials(): Promise<CredentialView[]> {
  return call(api.GET("/api/credentials"));
}

/** The credential catalogue, fixed while the gateway runs: fetched once per page load. */
export const loadCredentialTypes = loadOnce(() => call(api.GET("/api/credential-types")));

export function createCredential(
  name: string,
  type: CredentialType,
  data: Record<string, unknown>,
): Promise<CredentialView> {
  return call(api.POST("/api/credentials", { body: { name, type, data } }));
}

/** Rename, replace the secret, or both: what is left undefined stays as it is. */
export function updateCredential(
  id: string,
  change: { name?: string; data?: Record<string, unknown> },
): Promise<CredentialView> {
  return call(
    api.PUT("/api/credentials/{credential_id}", {
      params: { path: { credential_id: id } },
      body: change,
    }),
  );
}

export async function deleteCredential(id: string): Promise<void> {
  await call(
    api.DELETE("/api/credentials/{credential_id}", { params: { path: { credential_id: id } } }),
  );
}
