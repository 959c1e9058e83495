/**
 * Records from other logging libraries (pino, winston) and from process
 * events, handed to a logtickets handler.
 *
 * Such a record arrives already formatted and without our stack capture, so
 * grouping needs care: the call site is the one the logger gives (a `caller`
 * field), else the first application frame of the record's error, else none.
 * Without a call site every record of one level and channel would share a
 * single ticket; instead the record is grouped by its message with the parts
 * that vary between occurrences (numbers, ids, hex, quoted values) masked, so
 * `user 17 not found` and `user 42 not found` are one problem.
 */

import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallSite } from '../logging/call-site.js';
import type { Handler } from '../logging/handler.js';
import { reportInternalError } from '../logging/internal-error.js';
import { LogRecord } from '../logging/record.js';

export interface ForeignRecord {
  readonly level: number;
  readonly channel: string;
  readonly message: string;
  /** When the record was made: epoch ms, a Date or an ISO string (default: now). */
  readonly time?: number | Date | string;
  readonly extra?: Record<string, unknown>;
  readonly error?: unknown;
  /** The call site, if the logger recorded it: a CallSite, or a stack line / `file:line[:column]` text. */
  readonly callSite?: CallSite | string | null;
  /** An explicit grouping key, as for a logtickets logger call. */
  readonly fingerprint?: string | readonly string[];
}

/**
 * Offer a foreign record to a handler, honouring its level and filter.
 * Returns true when the handler took it. Never throws.
 */
export function handleForeign(handler: Handler, input: ForeignRecord): boolean {
  try {
    if (input.level < handler.level) return false;
    const record = toLogRecord(input);
    if (handler.filter !== undefined && !handler.filter(record, handler)) return false;
    handler.handle(record);
    return true;
  } catch (error) {
    reportInternalError(`record from ${String(input?.channel)}`, error);
    return false;
  }
}

export function toLogRecord(input: ForeignRecord): LogRecord {
  const site =
    (typeof input.callSite === 'string' ? parseCallSite(input.callSite) : (input.callSite ?? null)) ??
    callSiteFromError(input.error);
  const fingerprint =
    input.fingerprint ??
    (site === null
      ? ['logtickets:message', String(input.level), input.channel, groupingText(input.message)]
      : undefined);
  const options = {
    ...(input.extra === undefined ? {} : { extra: input.extra }),
    ...(input.error === undefined ? {} : { error: input.error }),
    ...(fingerprint === undefined ? {} : { fingerprint }),
  };
  const message = String(input.message ?? '');
  // Already formatted: with no arguments the message is taken as it is (a `%` in it stays).
  return new LogRecord(String(input.channel), input.level, message, [], options, null, [], {
    timestamp: toEpochMs(input.time),
    ...(site === null ? {} : { callSite: site }),
  });
}

function toEpochMs(time: ForeignRecord['time']): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'string' ? Date.parse(time) : time;
  return typeof ms === 'number' && Number.isFinite(ms) ? ms : Date.now();
}

const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+)(?::(\d+))?\)?\s*$/;
const BARE = /^\s*(.+?):(\d+)(?::(\d+))?\s*$/;

/** Read a stack line (`at fn (file:line:col)`) or `file:line[:col]`; null when it names no file. */
export function parseCallSite(text: string): CallSite | null {
  if (typeof text !== 'string') return null;
  const frame = FRAME.exec(text);
  const bare = frame === null ? BARE.exec(text) : null;
  const m = frame ?? bare;
  if (m === null) return null;
  const [fn, file, line, column] = frame !== null ? [m[1], m[2], m[3], m[4]] : [undefined, m[1], m[2], m[3]];
  if (file === undefined || line === undefined) return null;
  let path = file;
  if (path.startsWith('file://')) {
    try {
      path = fileURLToPath(path);
    } catch {
      return null;
    }
  }
  return {
    path,
    line: Number(line),
    column: column === undefined ? 0 : Number(column),
    function: fn === undefined || fn === '' ? null : fn.replace(/^async /, ''),
  };
}

/** The first frame of an error's stack that is the application's (not Node's, not a dependency's). */
export function callSiteFromError(error: unknown): CallSite | null {
  const stack = (error as { stack?: unknown } | null | undefined)?.stack;
  if (typeof stack !== 'string') return null;
  let fallback: CallSite | null = null;
  for (const line of stack.split('\n')) {
    if (!/^\s*at /.test(line)) continue;
    const site = parseCallSite(line);
    if (site === null || site.path.startsWith('node:') || !(isAbsolute(site.path) || site.path.includes('/'))) continue;
    if (/[\\/]node_modules[\\/]/.test(site.path)) {
      fallback ??= site;
      continue;
    }
    return site;
  }
  return fallback;
}

/** The message with what varies between occurrences of one problem masked. */
export function groupingText(message: string): string {
  return String(message)
    .slice(0, 500)
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/"[^"]*"|'[^']*'/g, '<str>')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}
