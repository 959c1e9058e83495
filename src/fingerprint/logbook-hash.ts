/**
 * Logbook's ticket hash, byte for byte, so that logtickets can share a store
 * with services that use Logbook: SHA-1 over the UTF-8 bytes of
 * `"{level}\0{channel}\0{filename}\0{lineno}"`, then `"\0{salt}"` when there
 * is a salt; lowercase hex.
 *
 * A missing value is treated the way Logbook's `hash_record_raw` treats
 * Python's None, input by input — never as the text "null" or "undefined":
 *
 * - level: formatted with `'%d'`, which raises for None, NaN and infinities,
 *   so those are an INVALID_ARGUMENT error here; a finite number is
 *   truncated toward zero as `'%d'` does (14.9 → "14").
 * - channel: Logbook writes `record.channel or ''`, so null and undefined
 *   hash as the empty string (the same as '').
 * - filename: Logbook calls `.encode()` on it, which raises for None: a
 *   record without a file name has no Logbook hash, so null and undefined
 *   are an INVALID_ARGUMENT error rather than a made-up value.
 * - lineno: Logbook writes `str(record.lineno)`, so null and undefined hash
 *   as "None" (a record rebuilt from a dict can lack its line). Other values
 *   must be integers: `str()` of a Python float ("42.0", "nan") has no
 *   JavaScript number that prints the same.
 * - salt: added only when it is not None, so null and undefined mean no salt
 *   while '' still adds the separator.
 *
 * Any other kind of value (a number as channel, a string as level) would
 * raise in Logbook too, and is an INVALID_ARGUMENT error. Text with a lone
 * UTF-16 surrogate, which Python could not encode, is hashed with U+FFFD in
 * its place (Node's UTF-8 encoding) so such a record still gets a ticket.
 */

import { createHash } from 'node:crypto';
import { LogticketsError } from '../errors.js';

export interface LogbookHashInput {
  readonly level: number;
  /** null and undefined hash as '' (Logbook's `channel or ''`). */
  readonly channel?: string | null;
  readonly filename: string;
  /** null and undefined hash as "None" (Logbook's `str(lineno)`). */
  readonly lineno?: number | null;
  /** Logbook's handler uses `apphash-<app id>`. As in Logbook, only undefined/null means none: '' still adds the separator. */
  readonly salt?: string | null;
}

export function logbookHash(input: LogbookHashInput): string {
  if (input === null || typeof input !== 'object') throw invalid('its input', 'an object', input);
  const { level, channel, filename, lineno, salt } = input;
  if (typeof filename !== 'string') throw invalid('filename', 'a string (Logbook has no hash without one)', filename);
  const hash = createHash('sha1');
  hash.update(
    `${levelText(level)}\u0000${stringOrNone('channel', channel) ?? ''}\u0000${filename}\u0000${linenoText(lineno)}`,
    'utf8',
  );
  const saltText = stringOrNone('salt', salt);
  if (saltText !== undefined) hash.update(`\u0000${saltText}`, 'utf8');
  return hash.digest('hex');
}

function invalid(name: string, expected: string, value: unknown): LogticketsError {
  const got = value === null ? 'null' : typeof value === 'number' ? String(value) : typeof value;
  return new LogticketsError('INVALID_ARGUMENT', `logbookHash: ${name} must be ${expected}, got ${got}`);
}

/** Python's `'%d' % level`: finite numbers only, truncated toward zero, in full digits (never "1e+21"). */
function levelText(level: unknown): string {
  if (typeof level !== 'number' || !Number.isFinite(level)) throw invalid('level', 'a finite number', level);
  return BigInt(Math.trunc(level)).toString();
}

/** Python's `str(lineno)` for what a JavaScript number can match: an integer, or None. */
function linenoText(lineno: unknown): string {
  if (lineno === undefined || lineno === null) return 'None';
  if (!Number.isSafeInteger(lineno)) throw invalid('lineno', 'an integer, null or undefined', lineno);
  return String(lineno);
}

/** A string, or undefined for Python's None (null or undefined). */
function stringOrNone(name: string, value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return undefined;
  throw invalid(name, 'a string, null or undefined', value);
}
