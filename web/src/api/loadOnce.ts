/** A loader for what is fixed while the gateway runs (the node and credential catalogues):
 * fetched once per page load and shared; a failure is not kept, so the next caller retries. */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | null = null;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = null;
      throw error;
    });
    return loaded;
  };
}
