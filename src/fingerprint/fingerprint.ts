/**
 * A record's fingerprint: which ticket it belongs to.
 *
 * By default, Logbook's hash of level, channel, call-site file (relative to the
 * project root, so a redeploy elsewhere keeps its tickets) and line. The
 * message is not part of it: the same call with other arguments is the same
 * problem. A per-call `fingerprint` replaces all of that with the caller's own
 * grouping key (one string or several); the salt still applies, so apps that
 * share a store keep their tickets apart.
 *
 * Mode `function` groups by the calling function instead of the line, so
 * editing code above a logging call does not open a new ticket for an old
 * problem (calls from anonymous functions still use the line). It is not
 * Logbook-compatible, which is why `line` is the default.
 */

import { createHash } from 'node:crypto';
import { LogticketsError } from '../errors.js';
import { logbookHash } from './logbook-hash.js';

export interface FingerprintInput {
  readonly level: number;
  readonly channel: string;
  /** The call-site file: relative to the project root, or as it is with pathStyle `absolute`. */
  readonly file: string;
  readonly line: number;
  /** The calling function's name, used by mode `function`. */
  readonly function?: string | null;
  readonly custom?: string | readonly string[] | undefined;
}

/** Logbook's default salt for an app id. */
export function defaultSalt(appId: string): string {
  return `apphash-${appId}`;
}

export type FingerprintMode = 'line' | 'function';

export const FINGERPRINT_MODES: readonly FingerprintMode[] = ['line', 'function'];

/**
 * How a call-site file is named in the fingerprint (and the ticket's
 * location): `relative` to the project root (the default: a redeploy in
 * another directory keeps its tickets), or `absolute`, the path as it is,
 * which is what Logbook hashes: a service moving from Python keeps meeting
 * the tickets imported from its Logbook store where the paths are the same.
 */
export type PathStyle = 'relative' | 'absolute';

export const PATH_STYLES: readonly PathStyle[] = ['relative', 'absolute'];

export function fingerprint(input: FingerprintInput, salt: string, mode: FingerprintMode = 'line'): string {
  if (input === null || typeof input !== 'object') {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `fingerprint: its input must be an object, got ${input === null ? 'null' : typeof input}`,
    );
  }
  if (input.custom === undefined && mode === 'function' && input.function) {
    return sha1(`function\u0000${input.level}\u0000${input.channel}\u0000${input.file}\u0000${input.function}`, salt);
  }
  if (input.custom === undefined) {
    return logbookHash({ level: input.level, channel: input.channel, filename: input.file, lineno: input.line, salt });
  }
  const parts = typeof input.custom === 'string' ? [input.custom] : input.custom.map(String);
  // A prefix that no default hash input can produce keeps custom keys apart from call sites.
  return sha1(`custom\u0000${parts.join('\u0000')}`, salt);
}

function sha1(text: string, salt: string): string {
  const hash = createHash('sha1');
  hash.update(text, 'utf8');
  if (salt !== undefined && salt !== null) hash.update(`\u0000${salt}`, 'utf8');
  return hash.digest('hex');
}
