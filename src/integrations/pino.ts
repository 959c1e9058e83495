/**
 * logtickets as a pino transport: a service keeps logging with pino, and
 * its records at WARNING and above become tickets.
 *
 * ```ts
 * // In a worker thread, configured from a logtickets config file:
 * const logger = pino(pino.transport({ target: 'logtickets/pino', options: { config: './logtickets.json' } }));
 * // In the same thread, with a handler you built:
 * const logger = pino({}, await logticketsTransport({ handler }));
 * ```
 *
 * Each JSON line pino writes is read back into a record: pino's level
 * (trace 10 … fatal 60; a custom number counts as the nearest standard level
 * below it), the message, the serialized error (`err`, or `error`) kept with
 * its type as `name`, its message and stack, pino's `time` (epoch ms, or
 * epoch seconds or ISO text with another `timestamp` option), a `caller`
 * field as the call site when the application adds one, and every other
 * field — bindings and merged objects, but not pid, hostname, level and
 * time — as the record's extra data. The channel is the record's `name`.
 *
 * When the stream ends, the handler is flushed, and closed if it was made
 * from a config (see integration-handler.ts).
 *
 * Breadcrumbs: every line the transport receives is kept as a breadcrumb
 * (context/breadcrumbs.ts), at every level. Lines at or above the threshold —
 * the `level` option and the handler's own level, whichever is higher — go to
 * the handler and are kept after it had them; lower lines are only kept. So
 * the transport has to receive the low levels: pino hands it what passes the
 * logger's `level` and, with `targets`, the target's own `level` too (pino's
 * default there is `info`, and a single target given a `level` is filtered
 * the same way). The rule: give pino's logger and target the lowest level you
 * want to see before a ticket (`'info'`, `'debug'`), and leave the ticket
 * threshold to this transport's `level` option (or the handler's level). In
 * pino's worker thread the lines arrive on their own, outside the
 * application's async context: they go to that thread's process-wide ring, in
 * the order the worker reads them, so request scopes of the application
 * (runInScope) are not told apart there. In the same thread pino writes inside
 * the logging call, and the scope's ring is used.
 *
 * At process exit, in a worker thread: pino ends the transport from the main
 * thread's `exit` event and blocks that thread until this stream has closed,
 * which is after the handler's flush, for at most 10 s (thread-stream's own
 * limit). Node emits `exit` when the event loop empties, on `process.exit()`,
 * and after it has reported an uncaught exception or unhandled rejection, so
 * in each of these cases what was logged before is written, as long as the
 * stores take it within `closeTimeoutMs` (default 5 s; keep it under 10 s).
 * What a store does not take in that time is counted as dropped. A signal
 * the process does not handle (SIGTERM, SIGKILL) runs no `exit` handler:
 * what the worker had not written yet is lost. `logger.flush()` waits only
 * until the worker has read the lines, not for the stores.
 *
 * In the same thread, `logger.flush(cb)` calls back once the stores have the
 * records; end the stream to flush and release the handler, or rely on the
 * handler's own bounded flush when the event loop empties (`process.exit()`
 * skips that one).
 *
 * Failing safe: logging must never be what stops an application. A bad
 * option (unknown key, wrong kind or value), a config file that is missing
 * or invalid, or anything else that stops the transport from starting is
 * reported as one line on stderr (`logtickets: logtickets/pino is off, its
 * records are dropped: …`, naming the option, the file or the JSON path,
 * never a value from the config) and the factory still resolves: the
 * transport is then off for the life of the stream. It reads and drops
 * every line (so pino never waits on it), counts them in `dropped`, and
 * keeps the reason in `failure`. Throwing instead would reject pino's worker
 * start-up, which ends every target of the transport and crashes the
 * application with an unhandled 'error' event. A store that cannot be
 * reached is not a start-up failure: the handler keeps retrying and reports
 * it as one line per 30 s, and what it cannot write is counted as dropped.
 * In the worker thread these lines are written straight to the stderr file
 * descriptor: pino blocks the main thread at exit, and a line forwarded
 * through it would be lost.
 */

import type { Transform } from 'node:stream';
import build from 'pino-abstract-transport';
import { createHandlerFromConfig } from '../config/create-handler.js';
import { LogticketsError } from '../errors.js';
import { rateLimitedStderr, type RateLimitedReporter } from '../logging/internal-error.js';
import { Level, parseLevel } from '../logging/level.js';
import { checkOptions } from '../options.js';
import { TicketingHandler, type ErrorHook } from '../ticketing/ticketing-handler.js';
import { callerSite, groupingKey } from './record-hints.js';
import { foreignBreadcrumb, handleForeign, type ForeignRecord } from './foreign-record.js';
import {
  describeFailure,
  integrationHandler,
  type IntegrationHandler,
  type IntegrationHandlerOptions,
} from './integration-handler.js';

export interface PinoTransportOptions extends IntegrationHandlerOptions {
  /** The channel of every record (default: the record's `name` binding, else `pino`). */
  readonly channel?: string;
  /**
   * The lowest level offered to the handler: a pino level name or number
   * (`'warn'`, `50`), or a logtickets level name (`'WARNING'`). The handler's
   * own level (WARNING by default) applies as well. Lines below it are kept
   * as breadcrumbs only.
   */
  readonly level?: string | number;
  /** Where pino writes the message, if you changed pino's `messageKey` (default `msg`). */
  readonly messageKey?: string;
  /** Where pino writes the error, if you changed pino's `errorKey` (default `err`; `error` is read too). */
  readonly errorKey?: string;
  /** Your pino `customLevels`, needed only when a level formatter writes levels as names. */
  readonly customLevels?: Readonly<Record<string, number>>;
  /** A field naming the record's grouping explicitly (a string or list of strings), as a logger call's `fingerprint`. */
  readonly fingerprintKey?: string;
  /** How long ending the stream waits for the stores (default 5000 ms). */
  readonly closeTimeoutMs?: number;
}

/** The stream pino writes to; `flush(cb)` (pino's `logger.flush(cb)`) waits until handed records are written. */
export type LogticketsPinoStream = Transform & {
  flush(cb?: (error?: Error | null) => void): void;
  /** Why the transport is off (a bad option or config), or undefined when it started. */
  readonly failure: Error | undefined;
  /** Lines received while the transport is off: dropped, not written. */
  readonly dropped: number;
};

const WHERE = 'logtickets/pino options';

const PINO_LEVELS: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

/** A pino level number as a logtickets level: a custom number counts as the standard level below it. */
export function fromPinoLevel(level: number): number {
  if (level >= 60) return Level.CRITICAL;
  if (level >= 50) return Level.ERROR;
  if (level >= 40) return Level.WARNING;
  if (level >= 30) return Level.INFO;
  if (level >= 20) return Level.DEBUG;
  return Level.TRACE;
}

// Fields that describe the record rather than the application's data.
const RECORD_KEYS = new Set(['level', 'time', 'pid', 'hostname']);

interface Settings {
  readonly channel: string | undefined;
  readonly minLevel: number;
  readonly messageKey: string;
  readonly errorKeys: readonly string[];
  readonly labels: Readonly<Record<string, number>>;
  readonly fingerprintKey: string | undefined;
}

interface Started {
  readonly target: IntegrationHandler;
  readonly settings: Settings;
  readonly closeTimeoutMs: number;
}

/**
 * The transport factory: `target: 'logtickets/pino'` loads it in pino's
 * worker thread; in the same thread, pass its stream to `pino()` or to a
 * `pino.multistream`. Never rejects: with a bad option or config it reports
 * one line on stderr and resolves to a stream that drops what it receives
 * (see `failure` and `dropped`).
 */
export default async function logticketsTransport(options: PinoTransportOptions = {}): Promise<LogticketsPinoStream> {
  const report = rateLimitedStderr();
  let started: Started | undefined;
  let failure: Error | undefined;
  try {
    started = start(options, report);
  } catch (error) {
    failure = error instanceof Error ? error : new LogticketsError('INVALID_ARGUMENT', String(error));
    report('start', `logtickets/pino is off, its records are dropped: ${describeFailure(failure)}`);
  }
  let dropped = 0;
  const stream = build(
    (source) => {
      source.on('data', (line: unknown) => {
        if (started === undefined) {
          dropped++;
          return;
        }
        // In the same thread this runs inside pino's write: nothing may be thrown from here.
        try {
          const record = toForeign(line, started.settings);
          // handleForeign keeps it as a breadcrumb too, after the handler had it.
          if (record !== null) handleForeign(started.target.handler, record);
        } catch (error) {
          report('record', `logtickets/pino record failed: ${describeFailure(error)}`);
        }
      });
    },
    {
      close(error: Error, done: Function) {
        if (started === undefined) done(error);
        else void started.target.release(started.closeTimeoutMs).then(() => done(error));
      },
    },
  );
  return Object.defineProperties(stream, {
    flush: {
      value(cb?: (error?: Error | null) => void): void {
        if (started === undefined) cb?.(null);
        else void started.target.flush(started.closeTimeoutMs).then(() => cb?.(null));
      },
    },
    failure: { value: failure, enumerable: true },
    dropped: { get: () => dropped, enumerable: true },
  }) as LogticketsPinoStream;
}

/** Check the options and make the handler; throws INVALID_ARGUMENT or a config error. */
function start(options: PinoTransportOptions, report: RateLimitedReporter): Started {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new LogticketsError('INVALID_ARGUMENT', `${WHERE} must be an object`);
  }
  // pino and its thread-stream add these to a single target's options: not ours to check.
  const {
    pinoWillSendConfig: _flag,
    $context: _context,
    ...own
  } = options as PinoTransportOptions & { pinoWillSendConfig?: unknown; $context?: unknown };
  checkOptions(WHERE, own, {
    config: 'any',
    handler: 'object',
    channel: 'string',
    level: 'any',
    messageKey: 'string',
    errorKey: 'string',
    customLevels: 'object',
    fingerprintKey: 'string',
    closeTimeoutMs: { integer: { min: 0 } },
  });
  for (const key of ['channel', 'messageKey', 'errorKey', 'fingerprintKey'] as const) {
    if (own[key] === '') throw new LogticketsError('INVALID_ARGUMENT', `${WHERE}.${key} must not be empty`);
  }
  for (const [name, value] of Object.entries(own.customLevels ?? {})) {
    if (!Number.isFinite(value)) {
      throw new LogticketsError('INVALID_ARGUMENT', `${WHERE}.customLevels.${name} must be a level number`);
    }
  }
  const labels = { ...PINO_LEVELS, ...own.customLevels };
  const minLevel = own.level === undefined ? Level.TRACE : levelOf(own.level, labels);
  if (minLevel === undefined) {
    throw new LogticketsError('INVALID_ARGUMENT', `${WHERE}.level: unknown level ${JSON.stringify(own.level)}`);
  }
  const target = handlerFor(own, report);
  return {
    target,
    settings: {
      channel: own.channel,
      // Below the handler's own level a line is only a breadcrumb: not worth reading further.
      minLevel: Math.max(minLevel, target.handler.level),
      messageKey: own.messageKey ?? 'msg',
      errorKeys: [...new Set([own.errorKey ?? 'err', 'err', 'error'])],
      labels,
      fingerprintKey: own.fingerprintKey,
    },
    closeTimeoutMs: own.closeTimeoutMs ?? 5_000,
  };
}

/**
 * The handler for the options. One this transport makes (from `config`, or
 * on the default store) reports store errors through `report`, which in the
 * worker thread writes to the stderr descriptor directly; otherwise it is
 * the same as integrationHandler's, and closed when the stream ends.
 */
function handlerFor(own: IntegrationHandlerOptions, report: RateLimitedReporter): IntegrationHandler {
  const { config } = own;
  if (own.handler !== undefined) return integrationHandler(WHERE, own);
  if (config !== undefined && (config === null || (typeof config !== 'string' && typeof config !== 'object'))) {
    throw new LogticketsError('INVALID_ARGUMENT', `${WHERE}.config must be a config file path or a config object`);
  }
  // The same line as the handler's default hook, through this transport's writer.
  const onError: ErrorHook = (error, info) => {
    const next = info.willRetry ? 'will retry' : 'records dropped';
    report(`${info.backend}|${error.code}`, `${info.backend}: ${error.code}: ${describeFailure(error)} (${next})`);
  };
  const handler =
    config === undefined ? new TicketingHandler(undefined, { onError }) : createHandlerFromConfig(config, { onError });
  return {
    handler,
    owned: true,
    flush: (timeoutMs) => handler.flush({ timeoutMs }).catch(() => false),
    release: (timeoutMs) => handler.close({ timeoutMs }).catch(() => false),
  };
}

export { logticketsTransport };

/** A level from a record or an option: a pino number or name, a numeric string, or a logtickets name. */
function levelOf(value: unknown, labels: Readonly<Record<string, number>>): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? fromPinoLevel(value) : undefined;
  if (typeof value !== 'string') return undefined;
  const pino = labels[value] ?? labels[value.toLowerCase()];
  if (typeof pino === 'number') return fromPinoLevel(pino);
  if (/^\s*\d+\s*$/.test(value)) return fromPinoLevel(Number(value));
  return parseLevel(value);
}

/**
 * One parsed pino line as a foreign record, or null when it is not a record
 * or below the level: such a line is only kept as a breadcrumb.
 */
function toForeign(line: unknown, settings: Settings): ForeignRecord | null {
  if (line === null || typeof line !== 'object' || Array.isArray(line)) return null;
  const obj = line as Record<string, unknown>;
  const level = levelOf(obj.level, settings.labels);
  // A level nobody mapped is not skipped silently: handleForeign refuses it and the handler counts it (invalid).
  if (level === undefined) {
    return obj.level === undefined ? null : { level: obj.level as number, channel: 'pino', message: '' };
  }
  if (level < settings.minLevel) {
    // The few fields a breadcrumb shows, and nothing else read; `msg` is already formatted by pino.
    const msg = obj[settings.messageKey];
    const text = typeof msg === 'string' ? msg : messageText(msg, firstError(obj, settings));
    foreignBreadcrumb(level, channelOf(obj, settings), text, epochMs(obj.time));
    return null;
  }

  const errorKey = settings.errorKeys.find((key) => serializedError(obj[key]) !== undefined);
  const error = errorKey === undefined ? undefined : serializedError(obj[errorKey]);
  const site = callerSite(obj.caller);
  const fingerprint = settings.fingerprintKey === undefined ? undefined : groupingKey(obj[settings.fingerprintKey]);

  // A null prototype: a `__proto__` key in the JSON stays a plain key here.
  const extra: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (RECORD_KEYS.has(key) || key === settings.messageKey || key === errorKey) continue;
    if ((key === 'caller' && site !== null) || (key === settings.fingerprintKey && fingerprint !== undefined)) continue;
    extra[key] = obj[key];
  }

  return {
    level,
    channel: channelOf(obj, settings),
    message: messageText(obj[settings.messageKey], error),
    time: epochMs(obj.time),
    extra,
    ...(error === undefined ? {} : { error }),
    ...(site === null ? {} : { callSite: site }),
    ...(fingerprint === undefined ? {} : { fingerprint }),
  };
}

/** The record's channel: the `channel` option, else the `name` binding, else `pino`. */
function channelOf(obj: Record<string, unknown>, settings: Settings): string {
  const name = obj.name;
  return settings.channel ?? (typeof name === 'string' && name !== '' ? name : 'pino');
}

/** The message as text: pino's message field, else the error's name and message, else empty. */
function messageText(msg: unknown, error: Record<string, unknown> | undefined): string {
  if (typeof msg === 'string') return msg;
  if (msg === undefined || msg === null) {
    return error === undefined ? '' : `${String(error.name)}: ${String(error.message ?? '')}`;
  }
  return typeof msg === 'object' ? JSON.stringify(msg) : String(msg);
}

function firstError(obj: Record<string, unknown>, settings: Settings): Record<string, unknown> | undefined {
  for (const key of settings.errorKeys) {
    const error = serializedError(obj[key]);
    if (error !== undefined) return error;
  }
  return undefined;
}

/** pino's serialized error (`{ type, message, stack, ... }`) with its type as `name`; undefined if it is none. */
function serializedError(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { type, name, message, stack, ...rest } = value as Record<string, unknown>;
  if (typeof message !== 'string' && typeof stack !== 'string') return undefined;
  const errorName = typeof type === 'string' ? type : typeof name === 'string' ? name : 'Error';
  return { name: errorName, message, stack, ...rest };
}

/** pino's `time`: epoch ms (the default), epoch seconds (`unixTime`) or ISO text (`isoTime`). */
function epochMs(time: unknown): number | string | undefined {
  if (typeof time === 'number') return Number.isFinite(time) && Math.abs(time) < 1e11 ? time * 1000 : time;
  return typeof time === 'string' ? time : undefined;
}
