/**
 * Defaults and checks for the options of the backend contract (reads, the
 * regression grace of a batch, link states), shared by every backend so that
 * all of them reject the same bad input the same way.
 */

import { LogticketsError } from '../errors.js';
import {
  TICKET_ORDER_FIELDS,
  type GetOccurrencesOptions,
  type GetTicketsOptions,
  type RecordOptions,
  type TicketFilter,
  type TicketOrderField,
} from './contract.js';
import {
  checkSettableState,
  MAX_REGRESSION_GRACE_MS,
  REGRESSION_GRACE_MS,
  TICKET_STATES,
  type SettableState,
  type TicketState,
} from './ticket-state.js';

export interface PageQuery {
  readonly limit: number;
  readonly offset: number;
}

export interface TicketQuery extends PageQuery {
  readonly field: TicketOrderField;
  readonly descending: boolean;
  readonly filter: TicketFilter;
}

export interface OccurrenceQuery extends PageQuery {
  readonly descending: boolean;
}

function page(limit: unknown, offset: unknown): PageQuery {
  const l = limit ?? 50;
  const o = offset ?? 0;
  if (typeof l !== 'number' || !Number.isSafeInteger(l) || l < 0) {
    throw new LogticketsError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${String(l)}`);
  }
  if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) {
    throw new LogticketsError('INVALID_ARGUMENT', `offset must be a non-negative integer, got ${String(o)}`);
  }
  return { limit: l, offset: o };
}

export function ticketQuery(options: GetTicketsOptions = {}): TicketQuery {
  const order = options.orderBy ?? '-lastSeen';
  const descending = order.startsWith('-');
  const field = (descending ? order.slice(1) : order) as TicketOrderField;
  if (!TICKET_ORDER_FIELDS.includes(field)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `orderBy must be one of ${TICKET_ORDER_FIELDS.join(', ')} (prefixed with - for descending), got ${String(order)}`,
    );
  }
  return { ...page(options.limit, options.offset), field, descending, filter: checkFilter(options.filter ?? {}) };
}

export function occurrenceQuery(options: GetOccurrencesOptions = {}): OccurrenceQuery {
  const order = options.orderBy ?? '-time';
  if (order !== 'time' && order !== '-time') {
    throw new LogticketsError('INVALID_ARGUMENT', `orderBy must be time or -time, got ${String(order)}`);
  }
  return { ...page(options.limit, options.offset), descending: order === '-time' };
}

const FILTER_KEYS = new Set([
  'hash',
  'solved',
  'state',
  'muted',
  'level',
  'minLevel',
  'appId',
  'channel',
  'release',
  'environment',
  'search',
  'seenSince',
  'seenBefore',
]);

/** The longest text a ticket search takes. */
export const MAX_SEARCH_LENGTH = 200;

export function checkFilter(filter: TicketFilter): TicketFilter {
  for (const key of Object.keys(filter)) {
    if (!FILTER_KEYS.has(key)) {
      throw new LogticketsError('INVALID_ARGUMENT', `unknown filter ${key} (known: ${[...FILTER_KEYS].join(', ')})`);
    }
  }
  for (const key of ['solved', 'muted'] as const) {
    if (filter[key] !== undefined && typeof filter[key] !== 'boolean') {
      throw new LogticketsError('INVALID_ARGUMENT', `filter.${key} must be a boolean`);
    }
  }
  if (filter.state !== undefined) filterStates(filter);
  for (const key of ['level', 'minLevel'] as const) {
    const value = filter[key];
    if (value !== undefined && !Number.isInteger(value)) {
      throw new LogticketsError('INVALID_ARGUMENT', `filter.${key} must be an integer level`);
    }
  }
  for (const key of ['hash', 'appId', 'channel', 'release', 'environment'] as const) {
    const value = filter[key];
    if (value !== undefined && typeof value !== 'string') {
      throw new LogticketsError('INVALID_ARGUMENT', `filter.${key} must be a string`);
    }
  }
  if (filter.search !== undefined && (typeof filter.search !== 'string' || filter.search.length > MAX_SEARCH_LENGTH)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `filter.search must be a string of at most ${MAX_SEARCH_LENGTH} characters`,
    );
  }
  const times: { seenSince?: string; seenBefore?: string } = {};
  for (const key of ['seenSince', 'seenBefore'] as const) {
    const value = filter[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !Number.isFinite(Date.parse(value))) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `filter.${key} must be an ISO 8601 time, got ${JSON.stringify(value)}`,
      );
    }
    // Stores compare it with times kept in this form.
    times[key] = new Date(Date.parse(value)).toISOString();
  }
  return Object.keys(times).length === 0 ? filter : { ...filter, ...times };
}

/**
 * The states a filter asks for, as a list without repeats, or undefined when
 * it asks for none in particular. A filter that passed checkFilter is valid.
 */
export function filterStates(filter: TicketFilter): TicketState[] | undefined {
  const asked: unknown = filter.state;
  if (asked === undefined) return undefined;
  const list: unknown[] = Array.isArray(asked) ? asked : [asked];
  const bad = list.find((s) => !TICKET_STATES.includes(s as TicketState));
  if (bad !== undefined || list.length === 0) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `filter.state must be one of ${TICKET_STATES.join(', ')} or a non-empty list of them, got ${JSON.stringify(asked)}`,
    );
  }
  return TICKET_STATES.filter((s) => list.includes(s));
}

/** How long after a solve an occurrence still leaves a ticket solved (RecordOptions.regressionGraceMs), in ms. */
export function regressionGrace(options: RecordOptions): number {
  const grace: unknown = options.regressionGraceMs ?? REGRESSION_GRACE_MS;
  if (typeof grace !== 'number' || !Number.isSafeInteger(grace) || grace < 0 || grace > MAX_REGRESSION_GRACE_MS) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `regressionGraceMs must be an integer from 0 to ${MAX_REGRESSION_GRACE_MS} (a year, in milliseconds), got ${String(grace)}`,
    );
  }
  return grace;
}

/** The arguments of LinkStore.setLinkState, checked; returns the time in the form every store keeps. */
export function checkLinkState(state: unknown, at: unknown): { state: SettableState; at: string } {
  const checked = checkSettableState(state);
  const ms = typeof at === 'string' ? Date.parse(at) : NaN;
  if (!Number.isFinite(ms)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `a link state's time must be an ISO 8601 time, got ${JSON.stringify(at)}`,
    );
  }
  return { state: checked, at: new Date(ms).toISOString() };
}

export function checkTicketId(id: unknown): number {
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw new LogticketsError('INVALID_ARGUMENT', `ticket id must be a positive integer, got ${String(id)}`);
  }
  return id;
}

export function ticketNotFound(id: number, backend: string): LogticketsError {
  return new LogticketsError('TICKET_NOT_FOUND', `no ticket with id ${id}`, { backend });
}
