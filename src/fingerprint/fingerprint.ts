/**
 * A record's fingerprint: which ticket it belongs to.
 *
 * By default, Logbook's hash of level, channel, call-site file (relative to the
 * project root, so a redeploy elsewhere keeps its tickets) and line. The
 * message is not part of it: the same call with other arguments is the same
 * problem. A per-call `fingerprint` replaces all of that with the caller's own
 * grouping key (one string or several); the salt still applies, so apps that
 * share a store keep their tickets apart.
 */

import { createHash } from 'node:crypto';
import { logbookHash } from './logbook-hash.js';

export interface FingerprintInput {
  readonly level: number;
  readonly channel: string;
  /** The call-site file, relative to the project root. */
  readonly file: string;
  readonly line: number;
  readonly custom?: string | readonly string[] | undefined;
}

/** Logbook's default salt for an app id. */
export function defaultSalt(appId: string): string {
  return `apphash-${appId}`;
}

export function fingerprint(input: FingerprintInput, salt: string): string {
  if (input.custom === undefined) {
    return logbookHash({ level: input.level, channel: input.channel, filename: input.file, lineno: input.line, salt });
  }
  const parts = typeof input.custom === 'string' ? [input.custom] : input.custom.map(String);
  const hash = createHash('sha1');
  // A prefix that no default hash input can produce keeps custom keys apart from call sites.
  hash.update(`custom\u0000${parts.join('\u0000')}`, 'utf8');
  if (salt !== undefined && salt !== null) hash.update(`\u0000${salt}`, 'utf8');
  return hash.digest('hex');
}
