/**
 * Where a page's data comes from. Served (`logtickets serve`), pages fetch
 * the JSON API of their own origin and links are real paths, so a URL is
 * shareable. In a static report (`logtickets report`) the answers are
 * embedded in the file, keyed by the API path they stand for, and links are
 * `#` fragments: the file works offline, with every request to the network
 * refused by its own Content-Security-Policy.
 */

export interface Embedded {
  /** When the report was made, and with which filters (the query string). */
  readonly madeAt: string;
  readonly params: string;
  /** API answers by `path?query`. */
  readonly answers: Record<string, unknown>;
}

let embedded: Embedded | null | undefined;

export function staticReport(): Embedded | null {
  if (embedded === undefined) {
    const block = document.getElementById('logtickets-data');
    embedded = block === null ? null : (JSON.parse(block.textContent ?? 'null') as Embedded);
  }
  return embedded;
}

import { apiKey, staticKey } from '../api-key.js';

export class LoadError extends Error {}

export async function load<T>(path: string, params: URLSearchParams): Promise<T> {
  const report = staticReport();
  if (report !== null) {
    // A report holds one set of filters: its answers differ only by page.
    const key = staticKey(path, params);
    if (!(key in report.answers)) throw new LoadError('this part is not included in the report');
    return report.answers[key] as T;
  }
  const key = apiKey(path, params);
  const response = await fetch(key, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new LoadError(body.error ?? `the dashboard answered ${response.status}`);
  return body as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const csrf = document.querySelector('meta[name="logtickets-csrf"]')?.getAttribute('content') ?? '';
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-logtickets-csrf': csrf },
    credentials: 'same-origin',
    body: JSON.stringify(body),
  });
  const answer = (await response.json().catch(() => ({}))) as { error?: string };
  if (!response.ok) throw new LoadError(answer.error ?? `the dashboard answered ${response.status}`);
  return answer as T;
}

/** Whether the served dashboard lets this page change tickets. */
export function writable(): boolean {
  return staticReport() === null && document.querySelector('meta[name="logtickets-csrf"]') !== null;
}

/** The page being shown: its path and parameters, from the URL (served) or the fragment (report). */
export function currentRoute(): { path: string; params: URLSearchParams } {
  if (staticReport() !== null) {
    const hash = location.hash.replace(/^#/, '') || '/';
    const [path, query = ''] = hash.split('?', 2) as [string, string?];
    return { path, params: new URLSearchParams(query) };
  }
  return { path: location.pathname, params: new URLSearchParams(location.search) };
}

/** A link to a page of the dashboard with these parameters (empty ones left out). */
export function link(path: string, params?: URLSearchParams | Record<string, string>): string {
  const query = new URLSearchParams(params instanceof URLSearchParams ? params : Object.entries(params ?? {}));
  for (const [k, v] of [...query.entries()]) if (v === '') query.delete(k);
  const text = query.toString();
  const target = text === '' ? path : `${path}?${text}`;
  return staticReport() === null ? target : `#${target}`;
}
