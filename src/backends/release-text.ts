/**
 * What a release or an environment name may be, wherever a store is handed
 * one (an occurrence, a state change, a filter): one line of 1 to 200
 * characters, without control characters. Stores keep them as given.
 */

import { LogticketsError } from '../errors.js';

export const MAX_RELEASE_LENGTH = 200;

// Control characters (line breaks among them) have no place in a name.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function isReleaseText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_RELEASE_LENGTH && !CONTROL.test(value);
}

/**
 * `value` checked: a name, null (none) or undefined (not given). Anything
 * else is an INVALID_ARGUMENT error naming `what` (e.g. `options.release`).
 */
export function checkReleaseText(value: unknown, what: string): string | null | undefined {
  if (value === undefined || value === null || isReleaseText(value)) return value;
  throw new LogticketsError(
    'INVALID_ARGUMENT',
    `${what} must be null or one line of 1 to ${MAX_RELEASE_LENGTH} characters, got ${describe(value)}`,
  );
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
}
