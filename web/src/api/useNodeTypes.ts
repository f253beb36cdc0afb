// The node catalogue (GET /api/node-types): fixed while the gateway runs, so fetched once per
// page load and shared by the palette, the forms and every graph view.
import { useEffect, useState } from "react";
import { api, call, errorMessage } from "./client";
import { loadOnce } from "./loadOnce";
import type { NodeTypeView } from "./types";

export const loadNodeTypes = loadOnce(() => call(api.GET("/api/node-types")));

export function useNodeTypes(): { types: NodeTypeView[] | null; error: string | null } {
  const [types, setTypes] = useState<NodeTypeView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    loadNodeTypes().then(
      (loaded) => live && setTypes(loaded),
      (failure: unknown) => live && setError(errorMessage(failure)),
    );
    return () => {
      live = false;
    };
  }, []);
  return { types, error };
}
