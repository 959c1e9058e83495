/**
 * logtickets as a winston transport: a service keeps logging with winston,
 * and its records at WARNING and above become tickets.
 *
 * ```ts
 * const logger = winston.createLogger({
 *   transports: [new winston.transports.Console(), new LogticketsTransport({ config: './logtickets.json' })],
 * });
 * ```
 *
 * Each `info` object is read into a record: its level (npm levels: error,
 * warn, info, http, verbose, debug, silly; syslog levels: emerg, alert, crit,
 * error, warning, notice, info, debug; other names through `levelMap`), its
 * message, the error it carries — `logger.error(err)`, `logger.error('text',
 * err)`, `{ message: err }`, an `error`/`err` field, or the `stack` that
 * `format.errors({ stack: true })` leaves — kept with name, message and stack,
 * a `timestamp` (from `format.timestamp()`) as the record's time, a `caller`
 * field as the call site when the application adds one, and the other
 * metadata as extra data (winston's symbol keys, level and message left out).
 * The channel is `info.label` (`format.label()`), else `info.service` (the
 * usual `defaultMeta`), else `winston`.
 *
 * Breadcrumbs: every info the transport receives is also kept as one (below
 * the handler's level, only that). winston passes on what reaches the
 * transport's `level` (default: the logger's): set it to the lowest level you
 * want to see before a ticket. `log()` runs inside the logging call, so the
 * caller's scope (runInScope) gets the breadcrumb — unless another transport
 * holds winston back, when infos come later, into the ring current then.
 *
 * Ending: `logger.end()` waits (its `finish` event) until this transport has
 * flushed the handler; `logger.close()` / `transport.close()` start the same
 * and `await transport.close()` waits for it. A handler made from a config
 * is closed then; one passed in is only flushed. A process whose event loop
 * empties gets the handler's own bounded flush on `beforeExit`;
 * `process.exit()` skips that, so await `transport.close()` before it.
 *
 * Failing safe: the constructor never throws. A bad option (unknown key,
 * wrong kind or value, a `level` the logger does not have), or a config file
 * that is missing or invalid, is reported as one line on stderr
 * (`logtickets: LogticketsTransport is off, its records are dropped: …`,
 * naming the option, the file or the JSON path, never a config value). The
 * transport then stays off: it drops what winston gives it (counted in
 * `dropped`, the reason in `failure`), never emits 'error' (winston would
 * re-emit it on the logger, where applications rarely listen), resolves
 * `close()`/`flush()` false once something was dropped, and does not claim
 * winston's exception handling, so a crash is still reported elsewhere. A
 * store that cannot be reached is not such a failure: the handler retries,
 * reports it as one line per 30 s, and counts what it cannot write.
 */

import TransportStream from 'winston-transport';
import { LogticketsError } from '../errors.js';
import { Handler } from '../logging/handler.js';
import { rateLimitedStderr, reportInternalError, type RateLimitedReporter } from '../logging/internal-error.js';
import { Level, parseLevel } from '../logging/level.js';
import { checkOptions } from '../options.js';
import { callerSite, groupingKey } from './record-hints.js';
import { foreignBreadcrumb, handleForeign, type ForeignRecord } from './foreign-record.js';
import {
  describeFailure,
  integrationHandler,
  type IntegrationHandler,
  type IntegrationHandlerOptions,
} from './integration-handler.js';

export interface LogticketsTransportOptions extends TransportStream.TransportStreamOptions, IntegrationHandlerOptions {
  /** The channel of every record (default: `info.label`, else `info.service`, else `winston`). */
  readonly channel?: string;
  /** Levels of your own (winston `levels`) as logtickets levels: `{ fatal: 'CRITICAL', audit: 'NOTICE' }`. */
  readonly levelMap?: Readonly<Record<string, string | number>>;
  /** A metadata field naming the record's grouping explicitly (a string or list of strings). */
  readonly fingerprintKey?: string;
  /** How long `close()` and `logger.end()` wait for the stores (default 5000 ms). */
  readonly closeTimeoutMs?: number;
  /** winston's stream buffer size, passed on. */
  readonly highWaterMark?: number;
}

const WHERE = 'LogticketsTransport options';
const LEVEL = Symbol.for('level');
const SPLAT = Symbol.for('splat');

/** npm and syslog level names (and a few common others) as logtickets levels. */
export const WINSTON_LEVELS: Readonly<Record<string, number>> = {
  emerg: Level.CRITICAL,
  alert: Level.CRITICAL,
  crit: Level.CRITICAL,
  critical: Level.CRITICAL,
  fatal: Level.CRITICAL,
  error: Level.ERROR,
  warn: Level.WARNING,
  warning: Level.WARNING,
  notice: Level.NOTICE,
  info: Level.INFO,
  http: Level.INFO,
  verbose: Level.DEBUG,
  debug: Level.DEBUG,
  silly: Level.TRACE,
  trace: Level.TRACE,
};

type Info = Record<string | symbol, unknown>;

export class LogticketsTransport extends TransportStream {
  private target: IntegrationHandler;
  private readonly channel: string | undefined;
  private readonly levelNames: Readonly<Record<string, number>>;
  private readonly fingerprintKey: string | undefined;
  private readonly closeTimeoutMs: number;
  private closing: Promise<boolean> | undefined;
  private failed: Error | undefined;
  private readonly report: RateLimitedReporter = rateLimitedStderr();

  /** Never throws: a bad option or config is reported on stderr and leaves the transport off (see `failure`). */
  constructor(options: LogticketsTransportOptions = {}) {
    const setup = setUp(options);
    super(setup.transportOptions);
    this.levelNames = setup.levels;
    this.channel = setup.channel;
    this.fingerprintKey = setup.fingerprintKey;
    this.closeTimeoutMs = setup.closeTimeoutMs;
    this.target = setup.target ?? droppingTarget();
    if (setup.failure !== undefined) this.fail(setup.failure);
    // A level the logger does not have lets no record through: winston compares it as undefined.
    this.once('pipe', (logger: { levels?: Readonly<Record<string, number>> }) => {
      const level: unknown = this.level;
      const levels = logger?.levels;
      if (this.failed !== undefined || typeof level !== 'string' || levels === undefined) return;
      if (Object.hasOwn(levels, level)) return;
      const known = Object.keys(levels).join(', ');
      const error = new LogticketsError(
        'INVALID_ARGUMENT',
        `${WHERE}.level: ${JSON.stringify(level)} is not a level of the logger (its levels: ${known})`,
      );
      const previous = this.target;
      this.target = droppingTarget();
      this.fail(error);
      void previous.release(this.closeTimeoutMs);
    });
  }

  /** Why the transport is off (a bad option or config), or undefined when it works. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** Records received while the transport is off: dropped, not written. */
  get dropped(): number {
    const handler = this.target.handler;
    return handler instanceof DroppedRecords ? handler.count : 0;
  }

  /** The handler records go to (made from `config`, or the one passed in; while off, one that only counts). */
  get handler(): IntegrationHandler['handler'] {
    return this.target.handler;
  }

  override log(info: Info, next: () => void): void {
    const handler = this.target.handler;
    if (handler instanceof DroppedRecords) {
      handler.count++;
      next();
      return;
    }
    // This runs inside the application's logging call: nothing may be thrown from here.
    try {
      const record = this.toForeign(info);
      // handleForeign keeps it as a breadcrumb too, after the handler had it.
      if (record !== null) handleForeign(handler, record);
    } catch (error) {
      reportInternalError('LogticketsTransport record', error);
    }
    next();
  }

  /**
   * Flush the handler, and close it if it was made from a config. Resolves
   * true when nothing was lost. winston calls this when the transport is
   * removed or the logger is closed.
   */
  override close(): Promise<boolean> {
    this.closing ??= this.target.release(this.closeTimeoutMs);
    return this.closing;
  }

  /** Wait until what was logged so far is written (at most `timeoutMs`, default `closeTimeoutMs`). */
  flush(timeoutMs = this.closeTimeoutMs): Promise<boolean> {
    return this.target.flush(timeoutMs);
  }

  /** `logger.end()`: its `finish` event comes after the handler is flushed (and closed, if ours). */
  override _final(callback: (error?: Error | null) => void): void {
    void this.close().then(() => callback());
  }

  private fail(error: Error): void {
    this.failed = error;
    this.report('start', `LogticketsTransport is off, its records are dropped: ${describeFailure(error)}`);
  }

  private toForeign(info: Info): ForeignRecord | null {
    if (info === null || typeof info !== 'object') return null;
    const name = info[LEVEL] ?? info.level;
    const known = typeof name === 'string' ? (this.levelNames[name] ?? parseLevel(name)) : undefined;
    // A level nobody mapped is not skipped silently: handleForeign refuses it and the handler counts it (invalid).
    if (known === undefined) return { level: name as number, channel: this.channel ?? 'winston', message: '' };
    const level = known;
    if (level < this.target.handler.level) {
      // Below the handler's level: only a breadcrumb, of the few fields it shows.
      foreignBreadcrumb(level, this.channelOf(info), messageOf(info.message), info.timestamp as ForeignRecord['time']);
      return null;
    }

    const found = errorOf(info);
    const site = callerSite(info.caller);
    const fingerprint = this.fingerprintKey === undefined ? undefined : groupingKey(info[this.fingerprintKey]);
    const extra: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(info)) {
      if (key === 'level' || key === 'message' || key === 'timestamp' || found.keys.includes(key)) continue;
      if ((key === 'caller' && site !== null) || (key === this.fingerprintKey && fingerprint !== undefined)) continue;
      // Copied as a property, not read: a getter that throws is reported in the stored data, not here.
      const property = Object.getOwnPropertyDescriptor(info, key);
      if (property !== undefined)
        Object.defineProperty(extra, key, { ...property, enumerable: true, configurable: true });
    }
    const time = info.timestamp;
    return {
      level,
      channel: this.channelOf(info),
      message: messageOf(info.message),
      ...(typeof time === 'string' || typeof time === 'number' ? { time } : {}),
      extra,
      ...(found.error === undefined ? {} : { error: found.error }),
      ...(site === null ? {} : { callSite: site }),
      ...(fingerprint === undefined ? {} : { fingerprint }),
    };
  }

  /** The channel: the `channel` option, else `info.label`, else `info.service`, else `winston`. */
  private channelOf(info: Info): string {
    const label = typeof info.label === 'string' && info.label !== '' ? info.label : undefined;
    const service = typeof info.service === 'string' && info.service !== '' ? info.service : undefined;
    return this.channel ?? label ?? service ?? 'winston';
  }
}

export default LogticketsTransport;

interface Setup {
  /** What winston's TransportStream gets: none of it when the transport is off. */
  readonly transportOptions: TransportStream.TransportStreamOptions;
  readonly target: IntegrationHandler | undefined;
  readonly levels: Readonly<Record<string, number>>;
  readonly channel: string | undefined;
  readonly fingerprintKey: string | undefined;
  readonly closeTimeoutMs: number;
  readonly failure: Error | undefined;
}

/** Check the options and make the handler; a failure is returned, never thrown. */
function setUp(options: LogticketsTransportOptions): Setup {
  try {
    checkOptions(WHERE, options, {
      config: 'any',
      handler: 'object',
      channel: 'string',
      levelMap: 'object',
      fingerprintKey: 'string',
      closeTimeoutMs: { integer: { min: 0 } },
      // winston's own transport options
      format: 'object',
      level: 'string',
      silent: 'boolean',
      handleExceptions: 'boolean',
      handleRejections: 'boolean',
      highWaterMark: { integer: { min: 1 } },
      log: 'function',
      logv: 'function',
      close: 'function',
    });
    const { config, handler, channel, levelMap, fingerprintKey, closeTimeoutMs, ...transportOptions } = options;
    // An empty winston `level` is left alone: winston reads it as the logger's level.
    for (const [key, value] of Object.entries({ channel, fingerprintKey })) {
      if (value === '') throw new LogticketsError('INVALID_ARGUMENT', `${WHERE}.${key} must not be empty`);
    }
    const format = transportOptions.format as { transform?: unknown } | undefined;
    if (format !== undefined && typeof format.transform !== 'function') {
      throw new LogticketsError('INVALID_ARGUMENT', `${WHERE}.format must be a winston format (with a transform)`);
    }
    const levels: Record<string, number> = { ...WINSTON_LEVELS };
    for (const [name, value] of Object.entries(levelMap ?? {})) {
      const level = parseLevel(value);
      if (level === undefined) {
        throw new LogticketsError(
          'INVALID_ARGUMENT',
          `${WHERE}.levelMap.${name}: unknown level ${JSON.stringify(value)}`,
        );
      }
      levels[name] = level;
    }
    const target = integrationHandler(WHERE, {
      ...(config === undefined ? {} : { config }),
      ...(handler === undefined ? {} : { handler }),
    });
    return {
      transportOptions,
      target,
      levels,
      channel,
      fingerprintKey,
      closeTimeoutMs: closeTimeoutMs ?? 5_000,
      failure: undefined,
    };
  } catch (error) {
    return {
      // Off, the transport must not claim winston's exception handling: a crash would be logged only here.
      transportOptions: {},
      target: undefined,
      levels: WINSTON_LEVELS,
      channel: undefined,
      fingerprintKey: undefined,
      closeTimeoutMs: 0,
      failure: error instanceof Error ? error : new LogticketsError('INVALID_ARGUMENT', String(error)),
    };
  }
}

/** The handler of a transport that is off: counts what it is given. */
class DroppedRecords extends Handler {
  count = 0;

  constructor() {
    super({}, Level.TRACE);
  }

  handle(): void {
    this.count++;
  }
}

function droppingTarget(): IntegrationHandler {
  const handler = new DroppedRecords();
  const nothingLost = async () => handler.count === 0;
  return { handler, owned: true, flush: nothingLost, release: nothingLost };
}

function messageOf(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  if (message === undefined || message === null) return '';
  if (typeof message === 'object') {
    try {
      return JSON.stringify(message) ?? '';
    } catch {
      return String(message);
    }
  }
  return String(message);
}

/**
 * The error an info carries, and the info keys that only repeat it (left
 * out of extra). In order: the info is the error (`logger.error(err)`), its
 * message is (`{ message: err }`), an error among the format arguments
 * (`logger.error('text', err)`), an `error` or `err` field, or a `stack`
 * left by `format.errors({ stack: true })`.
 */
function errorOf(info: Info): { error: unknown; keys: readonly string[] } {
  if (info instanceof Error) return { error: info, keys: ['stack', 'cause'] };
  if (info.message instanceof Error) return { error: info.message, keys: ['stack', 'cause'] };
  const splat = info[SPLAT];
  if (Array.isArray(splat)) {
    const error = splat.find((arg): arg is Error => arg instanceof Error);
    if (error !== undefined) return { error, keys: ['stack', 'cause'] };
  }
  for (const key of ['error', 'err']) {
    if (info[key] instanceof Error) return { error: info[key], keys: [key] };
  }
  if (typeof info.stack === 'string') {
    const first = info.stack.split('\n', 1)[0] ?? '';
    const named = /^([A-Za-z_$][\w$]*)(?::|$)/.exec(first);
    const name = named?.[1] ?? 'Error';
    const message = first.startsWith(`${name}: `) ? first.slice(name.length + 2) : messageOf(info.message);
    return {
      error: { name, message, stack: info.stack, ...(info.cause === undefined ? {} : { cause: info.cause }) },
      keys: ['stack', 'cause'],
    };
  }
  return { error: undefined, keys: [] };
}
