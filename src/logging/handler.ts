/**
 * Handlers decide what happens to records: each has a level threshold, an
 * optional filter and a bubble flag, and is active either for an async scope
 * (`run`) or for the whole application (`pushApplication`).
 */

import { LogticketsError } from '../errors.js';
import { popApplicationHandler, pushApplicationHandler, runWithHandler } from './handler-stack.js';
import { reportInternalError } from './internal-error.js';
import { Level, parseLevel } from './level.js';
import type { LogRecord } from './record.js';

export type RecordFilter = (record: LogRecord, handler: Handler) => boolean;

/**
 * Why a record offered to a handler was lost: its filter threw, its
 * `handle` threw, or the record itself was unusable (a foreign record with
 * no valid level, say).
 */
export type LostReason = 'filter_error' | 'handler_error' | 'invalid';

export interface HandlerOptions {
  /** The lowest level handled, as a number or a name (default depends on the handler). */
  readonly level?: number | string;
  /** Handle only records for which this returns true. */
  readonly filter?: RecordFilter;
  /**
   * Pass records this handler handled on to the handlers below it
   * (default false: a handled record stops here, as in Logbook).
   */
  readonly bubble?: boolean;
}

export abstract class Handler {
  readonly level: number;
  readonly filter: RecordFilter | undefined;
  readonly bubble: boolean;

  constructor(options: HandlerOptions = {}, defaultLevel: number = Level.TRACE) {
    const level = options.level === undefined ? defaultLevel : parseLevel(options.level);
    if (level === undefined) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `level: expected a level name or an integer from 0 to 1000, got ${JSON.stringify(options.level) ?? typeof options.level}`,
      );
    }
    if (options.filter !== undefined && typeof options.filter !== 'function') {
      throw new LogticketsError('INVALID_ARGUMENT', 'filter must be a function (record, handler) => boolean');
    }
    this.level = level;
    this.filter = options.filter;
    this.bubble = options.bubble ?? false;
  }

  /** Process one record. Called only for records at or above `level` that pass the filter. */
  abstract handle(record: LogRecord): void;

  /**
   * A record offered to this handler was lost (see LostReason). The default
   * reports it on stderr (rate-limited); handlers that keep statistics also
   * count it, so no record is ever both lost and uncounted.
   */
  recordLost(reason: LostReason, error: unknown): void {
    reportInternalError(`handler ${this.constructor.name} (${reason})`, error);
  }

  /** Run `fn` with this handler active for it and everything it awaits (Logbook's `with handler:`). */
  run<T>(fn: () => T): T {
    return runWithHandler(this, fn);
  }

  /** Make this handler active for the whole application, on top of those already pushed. */
  pushApplication(): this {
    pushApplicationHandler(this);
    return this;
  }

  /** Remove this handler from the application-wide stack. */
  popApplication(): this {
    popApplicationHandler(this);
    return this;
  }
}
