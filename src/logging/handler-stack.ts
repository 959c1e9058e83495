/**
 * Which handlers are active now: those of the current async scope (innermost
 * first), then the application-wide ones (most recently pushed first).
 *
 * The lowest level any active handler accepts is kept next to each stack, so
 * a logger can drop a record nobody wants with one comparison.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Handler, LostReason } from './handler.js';
import { reportInternalError } from './internal-error.js';
import type { LogRecord } from './record.js';

interface Scope {
  /** Outermost first. */
  readonly handlers: readonly Handler[];
  readonly minLevel: number;
}

const scopes = new AsyncLocalStorage<Scope>();
let application: Handler[] = [];
let applicationMin = Infinity;

export function runWithHandler<T>(handler: Handler, fn: () => T): T {
  const outer = scopes.getStore();
  const handlers = outer === undefined ? [handler] : [...outer.handlers, handler];
  return scopes.run({ handlers, minLevel: Math.min(outer?.minLevel ?? Infinity, handler.level) }, fn);
}

export function pushApplicationHandler(handler: Handler): void {
  application = [...application, handler];
  applicationMin = Math.min(applicationMin, handler.level);
}

export function popApplicationHandler(handler: Handler): void {
  const index = application.lastIndexOf(handler);
  if (index === -1) return;
  application = application.filter((_, i) => i !== index);
  applicationMin = application.reduce((min, h) => Math.min(min, h.level), Infinity);
}

/** True when some active handler accepts records of this level. */
export function isWanted(level: number): boolean {
  if (level >= applicationMin) return true;
  const scope = scopes.getStore();
  return scope !== undefined && level >= scope.minLevel;
}

/**
 * How deep records may be logged from inside a handler's filter or handling
 * (a filter that logs, say). Past it, a record is counted as lost by each
 * handler instead of recursing until the stack runs out.
 */
const MAX_NESTING = 16;
let nesting = 0;

/** Offer the record to the active handlers, innermost first, until one that does not bubble handles it. */
export function dispatch(record: LogRecord): void {
  if (nesting >= MAX_NESTING) {
    refuseNested(record);
    return;
  }
  nesting++;
  try {
    offerAll(record);
  } finally {
    nesting--;
  }
}

function offerAll(record: LogRecord): void {
  const scope = scopes.getStore();
  if (scope !== undefined) {
    for (let i = scope.handlers.length - 1; i >= 0; i--) if (offer(scope.handlers[i]!, record)) return;
  }
  const app = application;
  for (let i = app.length - 1; i >= 0; i--) if (offer(app[i]!, record)) return;
}

/** Returns true when the record must go no further. */
function offer(handler: Handler, record: LogRecord): boolean {
  if (record.level < handler.level) return false;
  return offerRecord(handler, record) !== 'filtered' && !handler.bubble;
}

/**
 * Give one record to one handler (its level already checked): the filter,
 * then `handle`. What either throws is told to the handler's `recordLost`, so
 * the record is counted there rather than vanishing.
 */
export function offerRecord(handler: Handler, record: LogRecord): 'handled' | 'filtered' | 'lost' {
  try {
    if (handler.filter !== undefined && !handler.filter(record, handler)) return 'filtered';
  } catch (error) {
    lost(handler, 'filter_error', error);
    return 'lost';
  }
  try {
    handler.handle(record);
    return 'handled';
  } catch (error) {
    lost(handler, 'handler_error', error);
    return 'lost';
  }
}

function refuseNested(record: LogRecord): void {
  const error = new RangeError(`records logged from inside a handler nest deeper than ${MAX_NESTING}`);
  const scope = scopes.getStore();
  for (const handler of [...(scope?.handlers ?? []), ...application]) {
    if (record.level >= handler.level) lost(handler, 'handler_error', error);
  }
}

function lost(handler: Handler, reason: LostReason, error: unknown): void {
  try {
    handler.recordLost(reason, error);
  } catch (thrown) {
    reportInternalError(`handler ${handler.constructor.name}`, thrown);
  }
}
