/**
 * The handler a logging-library integration (pino, winston) writes to: one
 * the application passes in, or one made from a logtickets config file.
 *
 * Who made the handler decides how it ends. One made here from a config is
 * the integration's own: ending the stream closes it (flush, then close its
 * stores and trackers). One passed in belongs to the application, which may
 * use it elsewhere too: ending the stream only flushes it.
 */

import { createHandlerFromConfig } from '../config/create-handler.js';
import { LogticketsError } from '../errors.js';
import type { Handler } from '../logging/handler.js';
import { TicketingHandler } from '../ticketing/ticketing-handler.js';

export interface IntegrationHandlerOptions {
  /** A config file path, or a config object (as read from such a file). */
  readonly config?: string | object;
  /** A handler you built (in the same thread only). Left open when the integration ends; flushed. */
  readonly handler?: Handler;
}

export interface IntegrationHandler {
  readonly handler: Handler;
  /** True when the handler was made here (from a config, or the default store). */
  readonly owned: boolean;
  /** Flush (and, if owned, close) within `timeoutMs`; true when nothing was lost. Never rejects. */
  release(timeoutMs: number): Promise<boolean>;
  /** Wait until what was handed to the handler is written, within `timeoutMs`. Never rejects. */
  flush(timeoutMs: number): Promise<boolean>;
}

interface Flushable {
  flush(options: { timeoutMs?: number }): Promise<boolean>;
}

function canFlush(handler: Handler): handler is Handler & Flushable {
  return typeof (handler as Partial<Flushable>).flush === 'function';
}

/**
 * The handler for `options`: `handler` if given, else one made from
 * `config`, else a TicketingHandler on the default store (`./logtickets.db`).
 * Throws INVALID_ARGUMENT when both are given, or a config error.
 */
export function integrationHandler(where: string, options: IntegrationHandlerOptions): IntegrationHandler {
  const { config, handler: given } = options;
  if (config !== undefined && given !== undefined) {
    throw new LogticketsError('INVALID_ARGUMENT', `${where}: give either config or handler, not both`);
  }
  if (given !== undefined && (given === null || typeof given.handle !== 'function')) {
    throw new LogticketsError('INVALID_ARGUMENT', `${where}.handler must be a logtickets Handler`);
  }
  if (config !== undefined && (config === null || (typeof config !== 'string' && typeof config !== 'object'))) {
    throw new LogticketsError('INVALID_ARGUMENT', `${where}.config must be a config file path or a config object`);
  }
  const handler = given ?? (config === undefined ? new TicketingHandler() : createHandlerFromConfig(config));
  const owned = given === undefined;
  const flush = async (timeoutMs: number): Promise<boolean> =>
    canFlush(handler) ? handler.flush({ timeoutMs }).catch(() => false) : true;
  return {
    handler,
    owned,
    flush,
    release: async (timeoutMs) =>
      owned && handler instanceof TicketingHandler ? handler.close({ timeoutMs }).catch(() => false) : flush(timeoutMs),
  };
}

/** An integration's problem as one stderr line: a config error's list of problems joined with `;`. */
export function describeFailure(error: unknown): string {
  const text =
    error instanceof LogticketsError
      ? error.message
      : error instanceof Error
        ? `${error.name}: ${error.message}`
        : String(error);
  return text
    .split(/\r?\n/)
    .map((line) => line.trim().replace(/^- /, ''))
    .filter((line) => line !== '')
    .join('; ');
}
