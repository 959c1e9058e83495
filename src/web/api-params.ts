/**
 * The query parameters of the dashboard's JSON API, read into the store's
 * terms. The same names appear in the pages' URLs, so a shared link carries
 * its filters. Every error is a 400 naming the parameter.
 */

import {
  TICKET_ORDER_FIELDS,
  type TicketFilter,
  type TicketOrder,
  type TicketOrderField,
} from '../backends/contract.js';
import { MAX_SEARCH_LENGTH } from '../backends/query-options.js';
import { TICKET_STATES, type TicketState } from '../backends/ticket-state.js';
import { parseLevel } from '../logging/level.js';
import { ApiError } from './api-error.js';
import type { Period } from './period.js';

/** The filter parameters, in the order the pages show them. */
export const FILTER_PARAMS = ['state', 'level', 'app', 'channel', 'release', 'environment', 'q'] as const;
export const MAX_PAGE = 200;

export interface TicketListQuery {
  readonly filter: TicketFilter;
  readonly orderBy: TicketOrder;
  readonly limit: number;
  readonly offset: number;
}

/**
 * `state`: a comma-separated list of open, solved, regressed, muted, or
 * `all`; without it every state but muted (as the CLI lists). `level`: a
 * name or number, that level and above.
 */
export function ticketFilter(params: URLSearchParams, period: Period | null): TicketFilter {
  const filter: { -readonly [K in keyof TicketFilter]: TicketFilter[K] } = {};
  const state = params.get('state');
  if (state === null || state === '') filter.muted = false;
  else if (state !== 'all') {
    const states = state.split(',').map((s) => s.trim());
    const bad = states.find((s) => !TICKET_STATES.includes(s as TicketState));
    if (bad !== undefined) {
      throw new ApiError(
        400,
        `state must be all or a comma-separated list of ${TICKET_STATES.join(', ')}; got ${JSON.stringify(bad)}`,
      );
    }
    filter.state = states as TicketState[];
  }
  const level = params.get('level');
  if (level !== null && level !== '') {
    const parsed = parseLevel(level);
    if (parsed === undefined)
      throw new ApiError(400, `level must be a level name (ERROR, WARNING, …) or number, got ${JSON.stringify(level)}`);
    filter.minLevel = parsed;
  }
  const text = (name: string): string | undefined => {
    const value = params.get(name);
    if (value === null || value === '') return undefined;
    if (value.length > MAX_SEARCH_LENGTH)
      throw new ApiError(400, `${name} is longer than ${MAX_SEARCH_LENGTH} characters`);
    return value;
  };
  const app = text('app');
  if (app !== undefined) filter.appId = app;
  const channel = text('channel');
  if (channel !== undefined) filter.channel = channel;
  const release = text('release');
  if (release !== undefined) filter.release = release;
  const environment = text('environment');
  if (environment !== undefined) filter.environment = environment;
  const search = text('q');
  if (search !== undefined) filter.search = search;
  if (period !== null) {
    filter.seenSince = period.from;
    filter.seenBefore = period.to;
  }
  return filter;
}

export function ticketListQuery(params: URLSearchParams, period: Period): TicketListQuery {
  const sort = params.get('sort') ?? '-lastSeen';
  const field = sort.startsWith('-') ? sort.slice(1) : sort;
  if (!TICKET_ORDER_FIELDS.includes(field as TicketOrderField)) {
    throw new ApiError(
      400,
      `sort must be one of ${TICKET_ORDER_FIELDS.join(', ')} (prefixed with - for descending), got ${JSON.stringify(sort)}`,
    );
  }
  return {
    filter: ticketFilter(params, period),
    orderBy: sort as TicketOrder,
    limit: intParam(params, 'limit', 50, 1, MAX_PAGE),
    offset: intParam(params, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
  };
}

export function intParam(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const value = params.get(name);
  if (value === null || value === '') return fallback;
  if (!/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ApiError(400, `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** A ticket id from a path segment. */
export function idParam(segment: string): number {
  if (!/^[1-9]\d{0,15}$/.test(segment)) throw new ApiError(404, `no ticket with id ${JSON.stringify(segment)}`);
  return Number(segment);
}
