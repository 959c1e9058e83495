/**
 * Crashes as tickets: an uncaught exception or an unhandled promise
 * rejection is recorded at CRITICAL before the process ends.
 *
 * Listening to these events turns off what Node does by default (print the
 * error, exit with code 1), so this module does it itself, after a bounded
 * flush of the handler:
 *
 * - an uncaught exception is printed as Node prints it (the error inspected,
 *   then the Node version; Node's excerpt of the throwing source line cannot
 *   be had from outside) and the process exits with code 1;
 * - an unhandled rejection is handed back to Node once the listeners are
 *   removed, so Node prints and exits exactly as it would have (or passes it
 *   to the application's own uncaughtException listener, after which
 *   recording resumes), and `--unhandled-rejections` is honoured (with
 *   `warn`, `none` or `warn-with-error-code` nothing ends; the rejection is
 *   only recorded).
 *
 * When the application has listeners of its own for the event, Node's
 * default would not apply either: the crash is recorded and the rest is left
 * to them. A second crash while the first is being flushed ends the process
 * at once. The crash's call site is read from the error's stack, so
 * different crashes are different tickets.
 */

import { writeSync } from 'node:fs';
import { inspect, types } from 'node:util';
import { LogticketsError } from '../errors.js';
import type { Handler } from '../logging/handler.js';
import { Level } from '../logging/level.js';
import { checkOptions } from '../options.js';
import { handleForeign } from './foreign-record.js';

export interface CaptureUncaughtOptions {
  /** End the process as Node would after recording (default true); false: only record. */
  readonly exit?: boolean;
  /** How long to wait for the stores before exiting (default 5000 ms). */
  readonly timeoutMs?: number;
  /** The channel of the crash records (default `process`). */
  readonly channel?: string;
}

type Kind = 'uncaughtException' | 'unhandledRejection';

interface Flushable {
  flush(options: { timeoutMs?: number }): Promise<boolean>;
}

interface Install {
  readonly handler: Handler;
  readonly exit: boolean;
  readonly timeoutMs: number;
  readonly channel: string;
  readonly recorded: WeakSet<object>;
}

// One pair of process listeners serves every install, so that installing twice (an application
// and a library, two handlers) records into each handler and still ends the process once.
const installs = new Set<Install>();
// The crash being flushed before the process ends.
let crash: { kind: Kind; reason: unknown } | undefined;

/**
 * Record uncaught exceptions and unhandled rejections with `handler`
 * (usually a TicketingHandler). Returns a function that removes the
 * listeners again. Throws INVALID_ARGUMENT for bad arguments only.
 */
export function captureUncaught(handler: Handler, options: CaptureUncaughtOptions = {}): () => void {
  if (handler === null || typeof handler !== 'object' || typeof handler.handle !== 'function') {
    throw new LogticketsError('INVALID_ARGUMENT', 'captureUncaught: handler must be a logtickets Handler');
  }
  checkOptions('captureUncaught options', options, {
    exit: 'boolean',
    timeoutMs: { integer: { min: 0 } },
    channel: 'string',
  });
  const install: Install = {
    handler,
    exit: options.exit ?? true,
    timeoutMs: options.timeoutMs ?? 5_000,
    channel: options.channel ?? 'process',
    recorded: new WeakSet<object>(),
  };
  if (installs.size === 0) listen(true);
  installs.add(install);
  return () => {
    if (installs.delete(install) && installs.size === 0) listen(false);
  };
}

function listen(on: boolean): void {
  if (on) {
    process.on('uncaughtException', onException);
    process.on('unhandledRejection', onRejection);
  } else {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  }
}

/**
 * Record the crash with every install's handler. `origin` is Node's: an
 * uncaught exception from a promise (an ES module's top-level throw, or
 * `--unhandled-rejections=strict`) says 'unhandledRejection'.
 */
function record(event: Kind, reason: unknown, origin: string = event): void {
  for (const install of installs) {
    if (reason !== null && typeof reason === 'object') {
      if (install.recorded.has(reason)) continue;
      install.recorded.add(reason);
    }
    handleForeign(install.handler, crashRecord(event, origin, reason, install.channel));
  }
}

/** Whether Node's default (print, exit) is ours to keep: an install asks for it and nobody else listens. */
function endsProcess(event: Kind, own: Function): boolean {
  return (
    [...installs].some((install) => install.exit) &&
    !process.listeners(event as 'uncaughtException').some((listener) => listener !== own)
  );
}

function onException(error: unknown, origin?: string): void {
  const kind: Kind = origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException';
  record('uncaughtException', error, origin);
  if (!endsProcess('uncaughtException', onException)) return;
  if (crash !== undefined) return endNow(crash, error);
  crash = { kind, reason: error };
  process.exitCode = 1;
  afterFlush(() => {
    writeStderr(nodeStyleReport(kind, error));
    process.exit(1);
  });
}

function onRejection(reason: unknown): void {
  record('unhandledRejection', reason);
  if (crash !== undefined) {
    // Under --unhandled-rejections=strict the same rejection came as an exception first.
    if (crash.reason !== reason && endsProcess('unhandledRejection', onRejection)) endNow(crash, reason);
    return;
  }
  if (!endsProcess('unhandledRejection', onRejection)) return;
  const mode = rejectionsMode();
  if (mode === 'warn-with-error-code') process.exitCode = 1;
  if (mode !== 'throw' && mode !== 'strict') return;
  crash = { kind: 'unhandledRejection', reason };
  const exitCode = process.exitCode;
  process.exitCode = 1;
  afterFlush(() => {
    listen(false);
    // Handed back to Node: it prints and ends the process as it would have without us...
    void Promise.reject(reason);
    // ...unless an uncaughtException listener of the application took it: then carry on recording.
    setImmediate(() => {
      crash = undefined;
      process.exitCode = exitCode;
      if (installs.size > 0) listen(true);
    });
  });
}

/** A second crash while the first is flushed: report the first as Node would, and end now. */
function endNow(first: { kind: Kind; reason: unknown }, second: unknown): void {
  writeStderr(nodeStyleReport(first.kind, first.reason));
  writeStderr(`logtickets: another crash while the first was being recorded: ${describe(second)}\n`);
  process.exit(1);
}

/**
 * Run `then` once every handler has flushed, or when the longest timeout
 * (and a little) has passed.
 */
function afterFlush(then: () => void): void {
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(deadline);
    then();
  };
  const ending = [...installs].filter((install) => install.exit);
  const timeoutMs = Math.max(...ending.map((install) => install.timeoutMs));
  // Ref'd: keeps the process alive while the stores are written, and bounds the wait.
  const deadline = setTimeout(finish, timeoutMs + 1_000);
  const flushes = [...installs].map(({ handler }) => {
    const flushable = handler as Partial<Flushable>;
    try {
      return typeof flushable.flush === 'function' ? flushable.flush({ timeoutMs }).catch(() => false) : true;
    } catch {
      return false;
    }
  });
  void Promise.all(flushes).then(finish);
}

/** Node's `--unhandled-rejections` mode, from the process's flags and NODE_OPTIONS (default `throw`). */
function rejectionsMode(): string {
  const args = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  let mode = 'throw';
  args.forEach((arg, i) => {
    if (arg.startsWith('--unhandled-rejections=')) mode = arg.slice('--unhandled-rejections='.length);
    else if (arg === '--unhandled-rejections' && args[i + 1] !== undefined) mode = args[i + 1]!;
  });
  return mode;
}

function crashRecord(event: Kind, origin: string, reason: unknown, channel: string) {
  const isError = types.isNativeError(reason) || looksLikeError(reason);
  const prefix = event === 'uncaughtException' ? 'Uncaught' : 'Unhandled rejection:';
  return {
    level: Level.CRITICAL,
    channel,
    message: `${prefix} ${describe(reason)}`,
    extra: isError ? { origin } : { origin, reason },
    ...(isError ? { error: reason } : {}),
  };
}

function looksLikeError(value: unknown): boolean {
  try {
    const e = value as { stack?: unknown; message?: unknown } | null;
    return e !== null && typeof e === 'object' && typeof e.stack === 'string' && typeof e.message === 'string';
  } catch {
    return false;
  }
}

/** `Name: message` for an error, the value inspected (briefly) otherwise. */
function describe(reason: unknown): string {
  try {
    if (types.isNativeError(reason) || looksLikeError(reason)) {
      const e = reason as { name?: unknown; message?: unknown };
      return `${String(e.name ?? 'Error')}: ${String(e.message)}`;
    }
    return typeof reason === 'string' ? reason : inspect(reason, { depth: 2, breakLength: Infinity });
  } catch {
    return '[unprintable value]';
  }
}

/** What Node prints when this crash ends the process (without the source excerpt). */
function nodeStyleReport(kind: Kind, reason: unknown): string {
  let body: string;
  try {
    if (types.isNativeError(reason) || looksLikeError(reason)) {
      body = inspect(reason);
    } else if (kind === 'unhandledRejection') {
      const error = Object.assign(
        new Error(
          'This error originated either by throwing inside of an async function without a catch block, ' +
            'or by rejecting a promise which was not handled with .catch(). The promise rejected with the reason ' +
            `"${inspect(reason)}".`,
        ),
        { code: 'ERR_UNHANDLED_REJECTION' },
      );
      error.name = 'UnhandledPromiseRejection';
      error.stack = `${error.name}: ${error.message}`;
      body = inspect(error);
    } else {
      body =
        (typeof reason === 'string' ? reason : inspect(reason)) +
        '\n(Use `node --trace-uncaught ...` to show where the exception was thrown)';
    }
  } catch {
    body = '[unprintable value]';
  }
  return `${body}\n\nNode.js ${process.version}\n`;
}

function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    try {
      process.stderr.write(text);
    } catch {
      // Nowhere left to report to.
    }
  }
}
