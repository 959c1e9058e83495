/**
 * What every store's analytics (analytics.ts) share beyond the contract: the
 * checks of each method's arguments, in one place so that every store
 * rejects the same bad input with the same INVALID_ARGUMENT, and the rules
 * that say which writes add to a ticket's history (`ticket_events`).
 *
 * The history rules:
 * - a state change that is applied and changes the ticket's state adds one
 *   event: `solved` (with the release it was solved in), `muted`, and for a
 *   change to open `unmuted` from muted or `reopened` from solved or
 *   regressed. A change that is not applied (older than the last one), or
 *   that leaves the state as it was (solving a solved ticket), adds none;
 * - a batch that regresses a ticket adds `regressed` at the regression's
 *   time (ticket-merge.ts: regressionTime) with the release of the batch's
 *   latest occurrence (regressionRelease).
 */

import { LogticketsError } from '../errors.js';
import {
  checkBucket,
  checkLimit,
  checkPoints,
  checkWindow,
  MAX_MESSAGE_SAMPLE,
  MAX_SPARK_TICKETS,
  MESSAGE_SAMPLE,
  TICKET_EVENT_KINDS,
  type Bucket,
  type CheckedWindow,
  type TicketEventKind,
} from './analytics.js';
import type { TicketFilter } from './contract.js';
import { checkFilter, checkTicketId } from './query-options.js';
import type { TicketState } from './ticket-state.js';

/** How many messages `messages` returns by default, and tickets `topTickets`. */
export const DEFAULT_MESSAGES = 20;
export const DEFAULT_TOP = 10;

function bad(message: string): never {
  throw new LogticketsError('INVALID_ARGUMENT', message);
}

/**
 * Options must be an object. Keys a method does not read are let through: a
 * caller may well spread a window it keeps with more in it (a CheckedWindow's
 * milliseconds).
 */
function optionsObject(what: string, options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    bad(`${what} options must be an object`);
  }
  return options as Record<string, unknown>;
}

export interface HistogramArgs {
  readonly window: CheckedWindow;
  readonly bucket: Bucket;
  readonly filter: TicketFilter;
}

/** The arguments of `histogram` (ticketId given) or `newTickets` and the all-tickets histogram (null). */
export function histogramArgs(ticketId: number | null, options: unknown, what = 'histogram'): HistogramArgs {
  if (ticketId !== null) checkTicketId(ticketId);
  const o = optionsObject(what, options);
  const window = checkWindow(o as { from?: string; to?: string });
  const bucket = checkBucket(o.bucket, window);
  // A filter would be silently ignored for one ticket's histogram: only an empty one is let through.
  if (ticketId !== null && o.filter != null && Object.keys(o.filter as object).length > 0) {
    bad(`${what}: filter is only for the histogram of all tickets (ticketId null)`);
  }
  return { window, bucket, filter: checkFilter((o.filter as TicketFilter | undefined) ?? {}) };
}

export interface SparklineArgs {
  /** The ids asked for, each once, in the order given. */
  readonly ids: readonly number[];
  readonly window: CheckedWindow;
  readonly points: number;
}

export function sparklineArgs(ticketIds: unknown, options: unknown): SparklineArgs {
  if (!Array.isArray(ticketIds)) bad('ticketIds must be an array of ticket ids');
  const list = ticketIds as unknown[];
  if (list.length > MAX_SPARK_TICKETS) {
    bad(`ticketIds: at most ${MAX_SPARK_TICKETS} tickets in one call, got ${list.length}`);
  }
  const ids = [...new Set(list.map(checkTicketId))];
  const o = optionsObject('sparklines', options);
  const window = checkWindow(o as { from?: string; to?: string });
  return { ids, window, points: checkPoints(o.points) };
}

export interface TopArgs {
  readonly window: CheckedWindow;
  readonly limit: number;
  readonly filter: TicketFilter;
}

export function topArgs(options: unknown): TopArgs {
  const o = optionsObject('topTickets', options);
  const window = checkWindow(o as { from?: string; to?: string });
  return {
    window,
    limit: checkLimit(o.limit, DEFAULT_TOP),
    filter: checkFilter((o.filter as TicketFilter | undefined) ?? {}),
  };
}

/** The arguments of `messages`: the ticket id and the limit. */
export function messagesArgs(ticketId: unknown, options: unknown): { id: number; limit: number; newest: number } {
  const id = checkTicketId(ticketId);
  const o = optionsObject('messages', options);
  const newest = o.newest ?? MESSAGE_SAMPLE;
  if (typeof newest !== 'number' || !Number.isInteger(newest) || newest < 1 || newest > MAX_MESSAGE_SAMPLE) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `newest must be an integer from 1 to ${MAX_MESSAGE_SAMPLE}, got ${String(newest)}`,
    );
  }
  return { id, limit: checkLimit(o.limit, DEFAULT_MESSAGES), newest };
}

/** The event an applied state change adds to a ticket's history, from its state before and after; null for none. */
export function stateChangeEvent(before: TicketState, after: TicketState): TicketEventKind | null {
  if (before === after) return null;
  switch (after) {
    case 'solved':
      return 'solved';
    case 'muted':
      return 'muted';
    case 'open':
      return before === 'muted' ? 'unmuted' : 'reopened';
    // Only a recurrence regresses a ticket (a batch adds that event).
    case 'regressed':
      return null;
  }
}

/** Events in the order the contract gives them: oldest first, then by kind (TICKET_EVENT_KINDS). */
export function compareEvents(a: { at: string; kind: TicketEventKind }, b: { at: string; kind: TicketEventKind }) {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return TICKET_EVENT_KINDS.indexOf(a.kind) - TICKET_EVENT_KINDS.indexOf(b.kind);
}
