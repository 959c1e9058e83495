/**
 * Which tracker a config entry points at, so one listed twice is caught.
 *
 * Two entries for the same Trac or the same GitHub repository would each be
 * told of every occurrence (and would share one outbox name), so counts would
 * be told twice; two entries with one `name` could not be told apart in
 * `check-config` and `sync` output. Both are config mistakes, reported with
 * the JSON paths of both entries.
 */

import { maskSecrets } from '../errors.js';

/** `trac https://host/path` or `github api.github.com owner/repo`; undefined when the entry is too broken to tell. */
export function trackerIdentity(entry: unknown): string | undefined {
  if (entry === null || typeof entry !== 'object') return undefined;
  const t = entry as Record<string, unknown>;
  try {
    if (t.type === 'trac' && typeof t.url === 'string') {
      const url = new URL(t.url);
      // One Trac answers at /rpc and /login/rpc (XML-RPC and JSON-RPC alike), over http and https.
      const project = url.pathname.replace(/\/+$/, '').replace(/(\/login)?\/(xml|json)?rpc$/i, '');
      return `trac ${url.host.toLowerCase()}${project}`;
    }
    if (t.type === 'github' && typeof t.owner === 'string' && typeof t.repo === 'string') {
      const host = typeof t.baseUrl === 'string' ? new URL(t.baseUrl).host.toLowerCase() : 'api.github.com';
      // GitHub names are case-insensitive.
      return `github ${host} ${t.owner.toLowerCase()}/${t.repo.toLowerCase()}`;
    }
  } catch {
    return undefined; // a bad URL is reported by the schema
  }
  return undefined;
}

/** Problems for entries that repeat an earlier tracker or its name. */
export function duplicateTrackers(trackers: unknown): string[] {
  if (!Array.isArray(trackers)) return [];
  const problems: string[] = [];
  const identities = new Map<string, number>();
  const names = new Map<string, number>();
  trackers.forEach((entry, index) => {
    const identity = trackerIdentity(entry);
    if (identity !== undefined) {
      const first = identities.get(identity);
      if (first !== undefined) {
        problems.push(
          `trackers[${index}]: the same tracker as trackers[${first}] (${maskSecrets(identity)}); list each tracker once`,
        );
        return;
      }
      identities.set(identity, index);
    }
    const name = (entry as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && name !== '') {
      const first = names.get(name);
      if (first !== undefined) {
        problems.push(`trackers[${index}].name: trackers[${first}] has the same name; give each tracker its own`);
      } else {
        names.set(name, index);
      }
    }
  });
  return problems;
}
