/**
 * The key of an API request: its path and its non-empty query parameters,
 * sorted. The static report stores each answer under the key the page will
 * ask for, and the page (client/source.ts) makes the same key.
 */
export function apiKey(path: string, params: URLSearchParams): string {
  const entries = [...params.entries()].filter(([, v]) => v !== '');
  entries.sort(([a, va], [b, vb]) => (a < b ? -1 : a > b ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  const query = new URLSearchParams(entries).toString();
  return query === '' ? path : `${path}?${query}`;
}

/** The key of an answer in a static report: its path and page (`offset`) only. */
export function staticKey(path: string, params: URLSearchParams): string {
  const offset = params.get('offset');
  return offset === null || offset === '' || offset === '0' ? path : `${path}?offset=${offset}`;
}
