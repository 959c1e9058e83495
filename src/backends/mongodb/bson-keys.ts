/**
 * Record data is stored as real BSON sub-documents, so it can be queried. Log
 * records may hold any key, and some are not allowed (or are dangerous) as
 * BSON field names: a leading `$` reads as an operator, `.` as a path, NUL
 * ends the name. Keys are escaped reversibly with `%` sequences on the way in
 * and restored on the way out.
 */

import type { JsonValue } from '../../logging/json-safe.js';

const NEEDS_ESCAPE = /[%.\u0000]|^\$/;

function escapeKey(key: string): string {
  if (!NEEDS_ESCAPE.test(key)) return key;
  return key
    .replace(/%/g, '%25')
    .replace(/\./g, '%2E')
    .replace(/\u0000/g, '%00')
    .replace(/^\$/, '%24');
}

function unescapeKey(key: string): string {
  return key.includes('%')
    ? key.replace(/%(25|2E|00|24)/g, (_, code: string) => String.fromCharCode(parseInt(code, 16)))
    : key;
}

function mapKeys(value: JsonValue, rename: (key: string) => string): JsonValue {
  if (Array.isArray(value)) return value.map((item) => mapKeys(item, rename));
  if (value === null || typeof value !== 'object') return value;
  const out: { [key: string]: JsonValue } = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, rename(key), {
      value: mapKeys(item, rename),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

export const toBsonKeys = (value: JsonValue): JsonValue => mapKeys(value, escapeKey);
export const fromBsonKeys = (value: JsonValue): JsonValue => mapKeys(value, unescapeKey);
