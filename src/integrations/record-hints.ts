/**
 * What a foreign record may say about itself, in fields the application
 * adds: where it was logged, and how it should be grouped.
 *
 * `callerSite` reads a `caller` field an application adds to every record (a
 * pino mixin, a winston format), so that each logging call is its own ticket
 * as with a logtickets Logger.
 *
 * Accepted forms: a stack line (`at fn (file:line:col)`), the same without
 * `at ` (`fn (file:line:col)`, as pino-caller writes it), `file:line[:col]`
 * (also a `file://` URL), or an object `{ file, line, column?, function? }`
 * (`fileName`/`path`, `lineNumber`, `columnNumber`, `functionName` too).
 */

import type { CallSite } from '../logging/call-site.js';
import { parseCallSite } from './foreign-record.js';

export function callerSite(value: unknown): CallSite | null {
  if (typeof value === 'string') {
    const text = value.trim().slice(0, 2000);
    return text === '' ? null : parseCallSite(text.startsWith('at ') ? text : `at ${text}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  const file = first(o, ['file', 'fileName', 'filename', 'path']);
  const line = first(o, ['line', 'lineNumber', 'lineno']);
  if (typeof file !== 'string' || file === '') return null;
  const lineNumber = Number(line);
  if (!Number.isSafeInteger(lineNumber) || lineNumber < 0) return null;
  const site = parseCallSite(`${file}:${lineNumber}`);
  if (site === null) return null;
  const column = Number(first(o, ['column', 'columnNumber', 'col']) ?? 0);
  const fn = first(o, ['function', 'functionName', 'method']);
  return {
    ...site,
    column: Number.isSafeInteger(column) && column >= 0 ? column : 0,
    function: typeof fn === 'string' && fn !== '' ? fn : null,
  };
}

function first(o: Record<string, unknown>, keys: readonly string[]): unknown {
  for (const key of keys) if (o[key] !== undefined && o[key] !== null) return o[key];
  return undefined;
}

/** An explicit grouping key from a record field: a non-empty string or list of strings; else undefined. */
export function groupingKey(value: unknown): string | string[] | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (Array.isArray(value) && value.length > 0 && value.every((part) => typeof part === 'string')) return value;
  return undefined;
}
