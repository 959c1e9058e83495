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
 */

import { LogticketsError } from '../errors.js';
import { checkOptions } from '../options.js';
import type { WrapperMatcher } from './call-site.js';
import { captureStack } from './call-site.js';
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
  };

  readonly error: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.ERROR)) this.emit(Level.ERROR, this.error, first, rest);
  };

  readonly warning: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.WARNING)) this.emit(Level.WARNING, this.warning, first, rest);
  };

  readonly warn: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.WARNING)) this.emit(Level.WARNING, this.warn, first, rest);
  };

  readonly notice: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.NOTICE)) this.emit(Level.NOTICE, this.notice, first, rest);
  };

  readonly info: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.INFO)) this.emit(Level.INFO, this.info, first, rest);
  };

  readonly debug: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.DEBUG)) this.emit(Level.DEBUG, this.debug, first, rest);
  };

  readonly trace: LogMethod = (first: string | LogOptions | Error, ...rest: unknown[]) => {
    if (isWanted(Level.TRACE)) this.emit(Level.TRACE, this.trace, first, rest);
  };

  /** Log `error` at ERROR level, with an optional message (default: the error's own). */
  readonly exception = (error: unknown, msg?: string, ...args: unknown[]): void => {
    if (!isWanted(Level.ERROR)) return;
    let text: unknown = msg;
    if (text === undefined) {
      const message = isError(error) ? readKey(error, 'message') : { ok: true as const, value: error };
      text = message.ok ? safeText(message.value) : message.marker;
    }
    this.emit(Level.ERROR, this.exception, { error }, [text, ...args]);
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
      let options = NO_OPTIONS;
      let msg: string;
      let args: unknown[] = rest;
      // Every read of the caller's values is guarded (safe-read.ts): a throwing
      // getter, Proxy trap or toString leaves a marker, never a lost record.
      if (typeof first === 'string') {
        msg = first;
      } else if (isError(first)) {
        // log.error(err) and log.error(err, 'context %s', x), as with console and pino.
        options = { error: first };
        if (typeof rest[0] === 'string') {
          msg = rest[0];
          args = rest.slice(1);
        } else {
          const message = readKey(first, 'message');
          msg = message.ok ? safeText(message.value) : message.marker;
        }
      } else if (first !== null && typeof first === 'object') {
        options = first;
        msg = typeof rest[0] === 'string' ? rest[0] : rest.length === 0 ? '' : safeText(rest[0]);
        args = rest.slice(1);
      } else {
        msg = safeText(first);
      }
      const stack = captureStack(below, this.stackDepth);
      dispatch(new LogRecord(this.name, level, msg, args, options, stack, this.wrappers));
    } catch (error) {
      reportInternalError(`logger ${this.name}`, error);
    }
  }
}
