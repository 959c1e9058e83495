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
import { breadcrumbsOn } from '../context/breadcrumbs.js';
import { addBreadcrumb } from '../context/scope.js';
import type { CallSite } from '../logging/call-site.js';
import { readKey, safeText } from '../logging/safe-read.js';
import type { Handler } from '../logging/handler.js';
import { reportInternalError } from '../logging/internal-error.js';
import { LogRecord } from '../logging/record.js';
import { offerRecord } from '../logging/handler-stack.js';
import { parseLevel } from '../logging/level.js';
import { LogticketsError } from '../errors.js';

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
 *
 * Whatever its level, the record is also kept as a breadcrumb in the current
 * ring (context/scope.ts) while breadcrumbs are on — after the handler had
 * it, so that its own occurrence does not list it and the next one does.
 */
export function handleForeign(handler: Handler, input: ForeignRecord): boolean {
  let record: LogRecord;
  try {
    const level = foreignLevel(input.level);
    if (level < handler.level) {
      if (breadcrumbsOn) keepBreadcrumb(input, level);
      return false;
    }
    record = toLogRecord(input, level);
  } catch (error) {
    // Not even a record: counted by the handler as lost, never silently gone.
    try {
      handler.recordLost('invalid', error);
    } catch (thrown) {
      reportInternalError('foreign record', thrown);
    }
    return false;
  }
  const taken = offerRecord(handler, record) === 'handled';
  addBreadcrumb(record.level, record.channel, record.msg, NO_ARGS, record.timestamp);
  return taken;
}

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/**
 * Keep a record an integration received below its ticket threshold as a
 * breadcrumb only: its level, channel, finished message and time.
 */
export function foreignBreadcrumb(level: number, channel: string, message: string, time?: ForeignRecord['time']): void {
  if (breadcrumbsOn) addBreadcrumb(level, channel, message, NO_ARGS, toEpochMs(time));
}

/** A record below the handler's level, kept only as a breadcrumb: the few fields it shows, each read guarded. */
function keepBreadcrumb(input: ForeignRecord, level: number): void {
  const read = (key: keyof ForeignRecord): unknown => {
    const got = readKey(input, key);
    return got.ok ? got.value : got.marker;
  };
  const message = read('message');
  addBreadcrumb(
    level,
    safeText(read('channel')),
    typeof message === 'string' ? message : safeText(message ?? ''),
    NO_ARGS,
    toEpochMs(read('time') as ForeignRecord['time']),
  );
}

/** A level as a number: Logbook's numbers (0 to 1000) or a level name; anything else is refused. */
function foreignLevel(level: unknown): number {
  const parsed = typeof level === 'string' ? parseLevel(level) : level;
  if (typeof parsed !== 'number' || !Number.isSafeInteger(parsed) || parsed < 0 || parsed > 1000) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `a foreign record needs a level name or an integer from 0 to 1000, got ${describeLevel(level)}`,
    );
  }
  return parsed;
}

function describeLevel(level: unknown): string {
  if (typeof level === 'number') return String(level);
  if (typeof level === 'string') return JSON.stringify(level.slice(0, 40));
  return level === null ? 'null' : typeof level;
}

export function toLogRecord(input: ForeignRecord, level: number = input.level): LogRecord {
  // Each field is read on its own: one throwing getter leaves a marker, the rest is kept.
  const read = (key: keyof ForeignRecord): unknown => {
    const got = readKey(input, key);
    return got.ok ? got.value : got.marker;
  };
  const channel = safeText(read('channel'));
  const message = safeText(read('message') ?? '');
  const error = read('error');
  const extra = read('extra');
  const callSite = read('callSite');
  let site: CallSite | null;
  try {
    site =
      (typeof callSite === 'string' ? parseCallSite(callSite) : callSiteObject(callSite)) ?? callSiteFromError(error);
  } catch {
    site = null;
  }
  // A fingerprint that cannot be read leaves the default grouping (never its marker text as the key).
  const given = readKey(input, 'fingerprint');
  const fingerprint =
    (given.ok ? (given.value as ForeignRecord['fingerprint']) : undefined) ??
    (site === null ? ['logtickets:message', String(level), channel, groupingText(message)] : undefined);
  const options = {
    ...(extra === undefined ? {} : { extra: extra as Record<string, unknown> }),
    ...(error === undefined ? {} : { error }),
    ...(fingerprint === undefined ? {} : { fingerprint }),
  };
  // Already formatted: with no arguments the message is taken as it is (a `%` in it stays).
  return new LogRecord(channel, level, message, [], options, null, [], {
    timestamp: toEpochMs(read('time') as ForeignRecord['time']),
    ...(site === null ? {} : { callSite: site }),
  });
}

/** A call site given as an object, copied when it has the shape of one; otherwise none. */
function callSiteObject(value: unknown): CallSite | null {
  if (value === null || typeof value !== 'object') return null;
  const { path, line, column, function: fn } = value as Record<string, unknown>;
  if (typeof path !== 'string' || path === '' || typeof line !== 'number' || !Number.isFinite(line)) return null;
  return {
    path,
    line,
    column: typeof column === 'number' && Number.isFinite(column) ? column : 0,
    function: typeof fn === 'string' && fn !== '' ? fn : null,
  };
}

/** The latest and earliest times a Date can hold (±100,000,000 days from 1970). */
const MAX_TIME_MS = 8.64e15;

function toEpochMs(time: ForeignRecord['time']): number {
  let ms: unknown;
  try {
    ms = time instanceof Date ? time.getTime() : typeof time === 'string' ? Date.parse(time) : time;
  } catch {
    ms = undefined; // a broken Date-like value: the record keeps the time it arrived
  }
  // A time no Date can hold (a nanosecond timestamp, say) is not a reason to lose the record: it gets the time it arrived.
  return typeof ms === 'number' && Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME_MS ? ms : Date.now();
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
