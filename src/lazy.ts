/**
 * A value made on first use, for what is costly to load (a tracker's HTTP
 * client, the SQL store's query builder): `lazy(load)` returns a getter that
 * runs `load` on its first call and gives every caller that same promise.
 * A load that fails is forgotten, so the next call tries again rather than
 * failing for ever on a moment's trouble.
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
