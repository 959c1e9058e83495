/**
 * Bounding what the dashboard sends: a store may hold strings far longer than
 * a page should carry (records written by other programs, imported stores),
 * so every string from a record is cut to a length a person can read, with a
 * note of how much was left out. Only length changes here; escaping is the
 * page's job (it writes text, never markup).
 */

import type { JsonValue } from '../logging/json-safe.js';

/** The longest string of a record the API sends. */
export const MAX_TEXT = 20_000;
/** The longest title in a list. */
export const MAX_TITLE = 300;

export function clipText(text: string, max = MAX_TEXT): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** A copy of a JSON value with every string (keys too) cut to `max`. */
export function clipJson(value: JsonValue, max = MAX_TEXT): JsonValue {
  if (typeof value === 'string') return clipText(value, max);
  if (Array.isArray(value)) return value.map((item) => clipJson(item, max));
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value)) out[clipText(key, 200)] = clipJson(item, max);
    return out;
  }
  return value;
}
