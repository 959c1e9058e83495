/**
 * The dashboard's JSON API: what the pages and the static report show, made
 * from the store's reads and its analytics (src/backends/analytics.ts). Each
 * method takes the request's query parameters and answers a plain JSON
 * object; the server (server.ts) and the report (report.ts) both call it.
 *
 *   GET /api/tickets                       the list, with a sparkline per ticket
 *   GET /api/tickets/:id                   one ticket: facts, messages, history, latest record, links
 *   GET /api/tickets/:id/histogram         occurrences per bucket, with the history's marks
 *   GET /api/tickets/:id/occurrences       a page of occurrences
 *   GET /api/overview                      occurrences and new tickets per bucket, top problems
 */

import type { TicketAnalytics, TicketEvent } from '../backends/analytics.js';
import { fillBuckets } from '../backends/analytics.js';
import {
  isTicketStore,
  type LinkStore,
  type StoredOccurrence,
  type Ticket,
  type TicketBackend,
} from '../backends/contract.js';
import { changeState } from '../backends/tracker/state-change.js';
import { checkSettableState, type SettableState } from '../backends/ticket-state.js';
import { ticketLinks, type LinkedTracker, type TicketLink } from '../backends/tracker/ticket-links.js';
import { levelName } from '../logging/level.js';
import { ApiError } from './api-error.js';
import { intParam, ticketFilter, ticketListQuery } from './api-params.js';
import { clipJson, clipText, MAX_TITLE } from './clip.js';
import { asApiError, dailyBucketFor, periodOf, type Period } from './period.js';

export type DashboardStore = TicketBackend & TicketAnalytics & Partial<Pick<LinkStore, 'getProblemLinks'>>;

export interface DashboardSource {
  readonly store: DashboardStore;
  /** The configured trackers, for links to their tickets. */
  readonly trackers?: readonly LinkedTracker[];
  /** The clock (ms); tests pin it. */
  readonly now?: () => number;
}

/** A ticket as the pages show it: the store's fields, its level's name, a title of bounded length. */
export type TicketView = Omit<Ticket, 'title'> & { readonly title: string; readonly levelName: string };

export interface PeriodView {
  readonly name: Period['name'];
  readonly from: string;
  readonly to: string;
  readonly bucket: Period['bucket'];
}

const SPARK_POINTS: Readonly<Record<Period['name'], number>> = { '24h': 24, '7d': 28, '30d': 30, custom: 30 };

export class DashboardApi {
  private readonly store: DashboardStore;
  private readonly trackers: readonly LinkedTracker[];
  private readonly now: () => number;

  constructor(source: DashboardSource) {
    this.store = source.store;
    this.trackers = source.trackers ?? [];
    this.now = source.now ?? Date.now;
  }

  async tickets(params: URLSearchParams) {
    const period = periodOf(params, this.now());
    const query = ticketListQuery(params, period);
    const [total, tickets] = await Promise.all([
      asApiError(() => this.store.countTickets(query.filter)),
      asApiError(() => this.store.getTickets(query)),
    ]);
    const points = SPARK_POINTS[period.name];
    const sparks = await this.store.sparklines(
      tickets.map((t) => t.id),
      { from: period.from, to: period.to, points },
    );
    return {
      period: periodView(period),
      total,
      limit: query.limit,
      offset: query.offset,
      sort: query.orderBy,
      points,
      tickets: tickets.map((t) => {
        const spark = sparks.get(t.id) ?? new Array<number>(points).fill(0);
        return { ...ticketView(t, MAX_TITLE), spark, periodCount: spark.reduce((a, b) => a + b, 0) };
      }),
    };
  }

  async ticket(id: number, params: URLSearchParams) {
    const period = periodOf(params, this.now());
    const ticket = await this.mustGet(id);
    const [messages, events, latest, links] = await Promise.all([
      this.store.messages(id, { limit: 20 }),
      this.store.ticketEvents(id),
      this.store.getOccurrences(id, { limit: 1 }),
      this.store.getProblemLinks === undefined
        ? Promise.resolve<TicketLink[]>([])
        : ticketLinks(this.store as Pick<LinkStore, 'getProblemLinks'>, this.trackers, ticket),
    ]);
    return {
      period: periodView(period),
      ticket: ticketView(ticket),
      messages: messages.map((m) => ({ message: clipText(m.message, 2_000), count: m.count })),
      events,
      latest: latest[0] === undefined ? null : occurrenceView(latest[0]),
      links: links.map((l) => ({ ...l, url: safeUrl(l.url) })),
    };
  }

  async histogram(id: number, params: URLSearchParams) {
    const period = periodOf(params, this.now());
    await this.mustGet(id);
    const window = { from: period.from, to: period.to };
    const [counts, events] = await Promise.all([
      this.store.histogram(id, { ...window, bucket: period.bucket }),
      this.store.ticketEvents(id),
    ]);
    return {
      period: periodView(period),
      buckets: fillBuckets(counts, window, period.bucket),
      events: events.filter((e: TicketEvent) => e.at >= period.from && e.at < period.to),
    };
  }

  async occurrences(id: number, params: URLSearchParams) {
    await this.mustGet(id);
    const limit = intParam(params, 'limit', 20, 1, 200);
    const offset = intParam(params, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const order = params.get('order') ?? '-time';
    if (order !== 'time' && order !== '-time')
      throw new ApiError(400, `order must be time or -time, got ${JSON.stringify(order)}`);
    // One more than asked tells whether there is a next page.
    const rows = await this.store.getOccurrences(id, { limit: limit + 1, offset, orderBy: order });
    return {
      limit,
      offset,
      order,
      hasMore: rows.length > limit,
      occurrences: rows.slice(0, limit).map(occurrenceView),
    };
  }

  async overview(params: URLSearchParams) {
    // Per day (as "new problems per day" reads best), unless the period is two days or less.
    const period = periodOf(params, this.now(), dailyBucketFor);
    const filter = ticketFilter(params, null);
    const window = { from: period.from, to: period.to };
    const options = { ...window, bucket: period.bucket, filter };
    const [occurrences, created, top] = await Promise.all([
      asApiError(() => this.store.histogram(null, options)),
      asApiError(() => this.store.newTickets(options)),
      asApiError(() => this.store.topTickets({ ...window, limit: 10, filter })),
    ]);
    const tickets = await Promise.all(top.map((t) => this.store.getTicket(t.ticketId)));
    return {
      period: periodView(period),
      occurrences: fillBuckets(occurrences, window, period.bucket),
      newTickets: fillBuckets(created, window, period.bucket),
      totals: {
        occurrences: occurrences.reduce((sum, b) => sum + b.count, 0),
        newTickets: created.reduce((sum, b) => sum + b.count, 0),
      },
      top: top.flatMap((t, i) => {
        const ticket = tickets[i];
        return ticket == null ? [] : [{ count: t.count, ticket: ticketView(ticket, MAX_TITLE) }];
      }),
    };
  }

  /**
   * Solve, reopen (open) or mute a ticket: only with writes allowed (the
   * server checks). As the CLI does, the change is queued for the configured
   * trackers and every tracker the ticket is linked to, in the store's outbox,
   * before the store changes: the service's replicas (or `logtickets sync`)
   * carry it out, so the store and the trackers keep agreeing.
   */
  async setState(id: number, state: unknown) {
    let checked: SettableState;
    try {
      checked = checkSettableState(state);
    } catch (error) {
      throw new ApiError(400, (error as Error).message);
    }
    await this.mustGet(id);
    const ticket = isTicketStore(this.store)
      ? await changeState(
          this.store,
          this.trackers.map((t) => t.name),
          id,
          checked,
          undefined,
          true,
        )
      : await this.store.setTicketState(id, checked);
    return { ticket: ticketView(ticket) };
  }

  private async mustGet(id: number): Promise<Ticket> {
    const ticket = await this.store.getTicket(id);
    if (ticket === null) throw new ApiError(404, `no ticket with id ${id}`);
    return ticket;
  }
}

export function ticketView(ticket: Ticket, maxTitle?: number): TicketView {
  return { ...ticket, title: clipText(ticket.title, maxTitle), levelName: levelName(ticket.level) };
}

function occurrenceView(o: StoredOccurrence) {
  return { ...o, data: clipJson(o.data) };
}

function periodView(period: Period): PeriodView {
  return { name: period.name, from: period.from, to: period.to, bucket: period.bucket };
}

/** Only http(s) links reach a page: a tracker URL is made from the config, but a page never trusts it. */
function safeUrl(url: string | null): string | null {
  if (url === null) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}
