/**
 * Checking option objects: an unknown key (a typo) or a value of the wrong
 * kind is an INVALID_ARGUMENT error that names the option, never silently
 * ignored.
 */

import { LogticketsError } from './errors.js';

export type OptionKind =
  | 'string'
  | 'boolean'
  | 'function'
  | 'object'
  | 'array'
  | 'any'
  | { readonly integer: { readonly min: number; readonly max?: number } }
  | { readonly number: { readonly min: number } };

export function checkOptions(where: string, options: unknown, spec: Readonly<Record<string, OptionKind>>): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new LogticketsError('INVALID_ARGUMENT', `${where} must be an object`);
  }
  for (const [key, value] of Object.entries(options)) {
    const kind = spec[key];
    if (kind === undefined) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `${where}.${key} is not an option (known: ${Object.keys(spec).join(', ')})`,
      );
    }
    if (value === undefined || kind === 'any') continue;
    const problem = mismatch(kind, value);
    if (problem !== null) throw new LogticketsError('INVALID_ARGUMENT', `${where}.${key} must be ${problem}`);
  }
}

function mismatch(kind: OptionKind, value: unknown): string | null {
  if (typeof kind === 'object') {
    if ('integer' in kind) {
      const { min, max } = kind.integer;
      const fits =
        Number.isSafeInteger(value) && (value as number) >= min && (max === undefined || (value as number) <= max);
      return fits ? null : max === undefined ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    }
    return typeof value === 'number' && Number.isFinite(value) && value >= kind.number.min
      ? null
      : `a number ≥ ${kind.number.min}`;
  }
  if (kind === 'array') return Array.isArray(value) ? null : 'an array';
  if (kind === 'object')
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? null : 'an object';
  return typeof value === kind ? null : `a ${kind}`;
}
