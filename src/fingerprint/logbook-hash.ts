/**
 * Logbook's ticket hash, byte for byte, so that logtickets can share a store
 * with services that use Logbook: SHA-1 over the UTF-8 bytes of level,
 * channel, file name and line number joined by NUL characters, then NUL and
 * the salt unless it is null or undefined; lowercase hex.
 */

import { createHash } from 'node:crypto';

export interface LogbookHashInput {
  readonly level: number;
  readonly channel: string;
  readonly filename: string;
  readonly lineno: number;
  /** Logbook's handler uses `apphash-<app id>`. As in Logbook, only undefined/null means none: '' still adds the separator. */
  readonly salt?: string | null;
}

export function logbookHash({ level, channel, filename, lineno, salt }: LogbookHashInput): string {
  const hash = createHash('sha1');
  hash.update(`${level}\u0000${channel}\u0000${filename}\u0000${lineno}`, 'utf8');
  if (salt !== undefined && salt !== null) hash.update(`\u0000${salt}`, 'utf8');
  return hash.digest('hex');
}
