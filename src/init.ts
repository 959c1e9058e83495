/**
 * One call that sets logtickets up for a whole application:
 *
 *   import { init } from 'logtickets';
 *   const tickets = init('./logtickets.json');      // or init({ appId: 'shop' }), or init()
 *   // … at shutdown, if the application has one:
 *   await tickets.close();
 *
 * It builds a TicketingHandler — from a config file or object (`config`, or
 * the LOGTICKETS_CONFIG variable when neither a config nor a target is
 * given), with handler options given here taking precedence over the file's
 * `handler` block — and pushes it for the whole application. It records
 * crashes (captureUncaught), and makes sure what is queued is written when
 * the process ends: on its own (the handler's `beforeExit` flush), and on
 * SIGTERM or SIGINT, which end a Node process without it. On such a signal,
 * when the application has no listener of its own, the handler is flushed
 * (bounded by `exitFlushMs`) and the signal raised again, so the process ends
 * as it would have; with a listener of its own, the flush runs and ending
 * is left to that listener.
 *
 * Only one `init` is active at a time: calling it again before `close()`
 * throws, since two application-wide handlers would record everything twice.
 */

import { captureUncaught, type CaptureUncaughtOptions } from './integrations/capture-uncaught.js';
import { handlerOptions, openConfigured } from './config/create-handler.js';
import { loadConfig } from './config/load-config.js';
import { LogticketsError } from './errors.js';
import type { Target } from './backends/open-backend.js';
import { TicketingHandler, type TicketingHandlerOptions } from './ticketing/ticketing-handler.js';

export interface InitOptions extends TicketingHandlerOptions {
  /** A config file path or a config object (default: LOGTICKETS_CONFIG, when set and no `target` is given). */
  readonly config?: string | object;
  /** Where tickets go when no config says: a store URI, a backend, or a list (default ./logtickets.db). */
  readonly target?: Target;
  /** Record uncaught exceptions and unhandled rejections (default true), or how. */
  readonly captureUncaught?: boolean | CaptureUncaughtOptions;
  /** Flush before SIGTERM and SIGINT end the process (default true). */
  readonly signals?: boolean;
}

/** What `init` set up. */
export interface Logtickets {
  readonly handler: TicketingHandler;
  /** Undo all of it: stop capturing crashes and signals, pop the handler, flush and close it. */
  close(options?: { timeoutMs?: number }): Promise<boolean>;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
const OWN_KEYS = new Set(['config', 'target', 'captureUncaught', 'signals']);

let active: Logtickets | undefined;

export function init(source: string | InitOptions = {}): Logtickets {
  if (active !== undefined) {
    throw new LogticketsError('INVALID_ARGUMENT', 'init() was already called: close() what it returned first');
  }
  const options: InitOptions = typeof source === 'string' ? { config: source } : source;
  if (options === null || typeof options !== 'object') {
    throw new LogticketsError('INVALID_ARGUMENT', 'init() takes a config file path or an options object');
  }
  const handler = buildHandler(options);
  handler.pushApplication();
  const undo: Array<() => void> = [() => handler.popApplication()];
  const crashes = options.captureUncaught ?? true;
  if (crashes !== false) undo.push(captureUncaught(handler, crashes === true ? {} : crashes));
  if (options.signals ?? true) undo.push(flushOnSignals(handler));
  let closing: Promise<boolean> | undefined;
  const handle: Logtickets = {
    handler,
    close(closeOptions = {}) {
      closing ??= (() => {
        for (const step of undo.reverse()) step();
        if (active === handle) active = undefined;
        return handler.close(closeOptions);
      })();
      return closing;
    },
  };
  active = handle;
  return handle;
}

function buildHandler(options: InitOptions): TicketingHandler {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (!OWN_KEYS.has(key) && value !== undefined) given[key] = value;
  if (options.config !== undefined && options.target !== undefined) {
    throw new LogticketsError('INVALID_ARGUMENT', 'init(): give either config or target, not both');
  }
  const config =
    options.config ?? (options.target === undefined ? process.env.LOGTICKETS_CONFIG || undefined : undefined);
  if (config === undefined) return new TicketingHandler(options.target, given as TicketingHandlerOptions);
  const loaded = loadConfig(config);
  const { target } = openConfigured(loaded.config);
  try {
    return new TicketingHandler(target, { ...handlerOptions(loaded.config), ...given, closeBackends: true });
  } catch (error) {
    void target.close().catch(() => undefined);
    throw error;
  }
}

/** Flush on SIGTERM/SIGINT; returns the function that stops listening. */
function flushOnSignals(handler: TicketingHandler): () => void {
  const listeners = SIGNALS.map((signal) => {
    let flushing = false;
    const listener = (): void => {
      const alone = process.listenerCount(signal) === 1;
      const end = (): void => {
        if (!alone) return;
        process.off(signal, listener);
        // Nothing else listens: end the way the signal would have ended the process.
        process.kill(process.pid, signal);
      };
      // A second signal while the first one's flush runs: the user insists.
      if (flushing) return end();
      flushing = true;
      void handler.flush({ timeoutMs: handler.exitFlushMs }).finally(end);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
