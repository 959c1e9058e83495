/**
 * The Logger: named channels with one method per level.
 *
 *   log.error('payment %s failed', id)
 *   log.error({ error, extra: { orderId } }, 'payment %s failed', id)
 *   log.exception(error, 'payment %s failed', id)
 *
 * An options object may come first: `extra` (structured data), `error`, and
 * `fingerprint` (replaces the default grouping). An Error may come first too
 * (`log.error(err)`): it becomes the record's error, its message the default. The message uses printf-style
 * placeholders (see format.ts). A call never throws and never waits: when no
 * active handler wants its level it returns at once; otherwise it takes the
 * raw stack and hands the record to the handlers. The methods are bound, so
 * `const { error } = log` works.
 *
 * While breadcrumbs are on (context/breadcrumbs.ts: a ticketing handler asks
 * for them), every call of every level also leaves a breadcrumb in the ring of
 * its async scope (context/scope.ts) — the channel, level, time and references
 * to the template and arguments, nothing formatted, no stack taken. A record
 * the handlers get is kept only after they had it, so an occurrence lists the
 * records before it and the next occurrence lists it too.
 */

import { LogticketsError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { WrapperMatcher } from './call-site.js';
import { captureStack } from './call-site.js';
import { breadcrumbsOn } from '../context/breadcrumbs.js';
import { currentRing } from '../context/scope.js';
import { dispatch, isWanted } from './handler-stack.js';
import { reportInternalError } from './internal-error.js';
import { Level, parseLevel } from './level.js';
import { LogRecord, type LogOptions } from './record.js';
import { isError, readKey, safeText } from './safe-read.js';

export interface LoggerOptions {
  /**
   * Functions that wrap this logger in your code (by name, or a pattern tested
   * against the function name and the file path). Their frames are skipped so
   * the call site is the caller of the wrapper.
   */
  readonly wrappers?: readonly WrapperMatcher[];
  /** How many stack frames to keep at a call (default 4, or 12 with wrappers). */
  readonly stackDepth?: number;
}

type LogMethod = {
  (msg: string, ...args: unknown[]): void;
  (options: LogOptions, msg: string, ...args: unknown[]): void;
  (error: Error, msg?: string, ...args: unknown[]): void;
};

const NO_OPTIONS: LogOptions = Object.freeze({});

export class Logger {
  readonly name: string;
  private readonly wrappers: readonly WrapperMatcher[];
  private readonly stackDepth: number;

  constructor(name: string, options: LoggerOptions = {}) {
    checkOptions('Logger options', options, { wrappers: 'array', stackDepth: { integer: { min: 1 } } });
    this.name = String(name);
    this.wrappers = (options.wrappers ?? []).map((w, i) => {
      if (typeof w === 'string' && w !== '') return w;
      // A copy without the g and y flags: their lastIndex would make test() alternate between calls.
      if (w instanceof RegExp) return new RegExp(w.source, w.flags.replace(/[gy]/g, ''));
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `Logger options.wrappers[${i}] must be a function name or a RegExp, got ${w === null ? 'null' : typeof w}`,
      );
    });
    this.stackDepth = options.stackDepth ?? (this.wrappers.length > 0 ? 12 : 4);
  }

  readonly critical: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.CRITICAL)) this.emit(Level.CRITICAL, this.critical, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.CRITICAL, first, rest);
  };

  readonly error: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.ERROR)) this.emit(Level.ERROR, this.error, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.ERROR, first, rest);
  };

  readonly warning: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.WARNING)) this.emit(Level.WARNING, this.warning, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.WARNING, first, rest);
  };

  readonly warn: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.WARNING)) this.emit(Level.WARNING, this.warn, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.WARNING, first, rest);
  };

  readonly notice: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.NOTICE)) this.emit(Level.NOTICE, this.notice, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.NOTICE, first, rest);
  };

  readonly info: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.INFO)) this.emit(Level.INFO, this.info, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.INFO, first, rest);
  };

  readonly debug: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.DEBUG)) this.emit(Level.DEBUG, this.debug, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.DEBUG, first, rest);
  };

  readonly trace: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.TRACE)) this.emit(Level.TRACE, this.trace, first, rest);
    else if (breadcrumbsOn) this.crumb(Level.TRACE, first, rest);
  };

  /** Log `error` at ERROR level, with an optional message (default: the error's own). */
  readonly exception = (error: unknown, msg?: string, ...args: unknown[]): void => {
    const wanted = isWanted(Level.ERROR);
    if (!wanted && !breadcrumbsOn) return;
    let text: unknown = msg;
    if (text === undefined) {
      const message = isError(error) ? readKey(error, 'message') : { ok: true as const, value: error };
      text = message.ok ? safeText(message.value) : message.marker;
    }
    if (wanted) this.emit(Level.ERROR, this.exception, { error }, [text, ...args]);
    else this.crumb(Level.ERROR, typeof text === 'string' ? text : safeText(text), args);
  };

  /** Log at any level number. */
  readonly log = (level: number | string, first: string | LogOptions | Error, ...rest: unknown[]): void => {
    const number = typeof level === 'string' ? parseLevel(level) : level;
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0 || number > 1000) {
      reportInternalError(
        `logger ${this.name}`,
        new RangeError(
          `level must be a level name or an integer from 0 to 1000, got ${typeof level === 'string' ? JSON.stringify(level.slice(0, 40)) : String(level)}: record not logged`,
        ),
      );
      return;
    }
    if (isWanted(number)) this.emit(number, this.log, first, rest);
    else if (breadcrumbsOn) this.crumb(number, first, rest);
  };

  private emit(level: number, below: Function, first: string | LogOptions | Error, rest: unknown[]): void {
    try {
      if (!Number.isSafeInteger(level) || level < 0 || level > 1000) {
        reportInternalError(
          `logger ${this.name}`,
          new RangeError(`level must be an integer from 0 to 1000, got ${String(level)}: record not logged`),
        );
        return;
      }
      const call = callParts(first, rest);
      const stack = captureStack(below, this.stackDepth);
      const record = new LogRecord(this.name, level, call.msg, call.args, call.options, stack, this.wrappers);
      dispatch(record);
      // Kept after the handlers had it: an occurrence lists what came before it, not itself.
      if (breadcrumbsOn) currentRing()?.push(record.timestamp, level, this.name, call.msg, call.args);
    } catch (error) {
      reportInternalError(`logger ${this.name}`, error);
    }
  }

  /**
   * A record no handler wants, kept only as a breadcrumb: no stack, no
   * record object, no formatting; references to the template and arguments.
   */
  private crumb(level: number, first: unknown, rest: unknown[]): void {
    try {
      const ring = currentRing();
      if (ring === null) return;
      if (typeof first === 'string') {
        ring.push(Date.now(), level, this.name, first, rest);
      } else {
        const call = callParts(first, rest);
        ring.push(Date.now(), level, this.name, call.msg, call.args);
      }
    } catch (error) {
      reportInternalError(`logger ${this.name}`, error);
    }
  }
}

/**
 * What a call's arguments say: its options, message template and format
 * arguments. Every read of the caller's values is guarded (safe-read.ts): a
 * throwing getter, Proxy trap or toString leaves a marker, never a lost record.
 */
function callParts(first: unknown, rest: unknown[]): { options: LogOptions; msg: string; args: unknown[] } {
  if (typeof first === 'string') return { options: NO_OPTIONS, msg: first, args: rest };
  if (isError(first)) {
    // log.error(err) and log.error(err, 'context %s', x), as with console and pino.
    const options: LogOptions = { error: first };
    if (typeof rest[0] === 'string') return { options, msg: rest[0], args: rest.slice(1) };
    const message = readKey(first, 'message');
    return { options, msg: message.ok ? safeText(message.value) : message.marker, args: rest };
  }
  if (first !== null && typeof first === 'object') {
    const msg = typeof rest[0] === 'string' ? rest[0] : rest.length === 0 ? '' : safeText(rest[0]);
    return { options: first as LogOptions, msg, args: rest.slice(1) };
  }
  return { options: NO_OPTIONS, msg: safeText(first), args: rest };
}
