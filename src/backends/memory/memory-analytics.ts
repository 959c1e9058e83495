/**
 * Analytics (analytics.ts) in the in-memory reference store: plain loops over
 * its rows, the plainest statement of what every store's `group by` or
 * aggregation answers. Each occurrence counts as many as it stands for (its
 * weight, OccurrenceInput.count).
 */

import {
  bucketStart,
  sparkIndex,
  type BucketCount,
  type MessageCount,
  type TicketCount,
  type TicketEvent,
  type CheckedWindow,
} from '../analytics.js';
import {
  compareEvents,
  histogramArgs,
  messagesArgs,
  sparklineArgs,
  topArgs,
  type HistogramArgs,
} from '../analytics-rules.js';
import type { TicketFilter } from '../contract.js';
import { checkTicketId, ticketNotFound } from '../query-options.js';
import { view, type MemoryOccurrence, type MemoryTickets } from './memory-tickets.js';

export class MemoryAnalytics {
  constructor(
    private readonly store: MemoryTickets,
    private readonly name: string,
  ) {}

  histogram(ticketId: number | null, options: unknown): BucketCount[] {
    const args = histogramArgs(ticketId, options);
    const lists = ticketId === null ? this.occurrencesOf(args.filter) : [this.mustHave(ticketId)];
    const counts = new Map<number, number>();
    for (const list of lists) {
      for (const o of list) {
        const ms = Date.parse(o.time);
        if (ms < args.window.fromMs || ms >= args.window.toMs) continue;
        const start = bucketStart(ms, args.bucket);
        counts.set(start, (counts.get(start) ?? 0) + o.weight);
      }
    }
    return ascending(counts);
  }

  newTickets(options: unknown): BucketCount[] {
    const args: HistogramArgs = histogramArgs(null, options, 'newTickets');
    const counts = new Map<number, number>();
    for (const ticket of this.ticketsOf(args.filter)) {
      const ms = Date.parse(ticket.firstSeen);
      if (ms < args.window.fromMs || ms >= args.window.toMs) continue;
      const start = bucketStart(ms, args.bucket);
      counts.set(start, (counts.get(start) ?? 0) + 1);
    }
    return ascending(counts);
  }

  sparklines(ticketIds: unknown, options: unknown): Map<number, number[]> {
    const { ids, window, points } = sparklineArgs(ticketIds, options);
    const lines = new Map<number, number[]>();
    for (const id of ids) {
      const line = new Array<number>(points).fill(0);
      for (const o of this.store.occurrences.get(id) ?? []) {
        const slice = sparkIndex(Date.parse(o.time), window, points);
        if (slice >= 0) line[slice]! += o.weight;
      }
      lines.set(id, line);
    }
    return lines;
  }

  topTickets(options: unknown): TicketCount[] {
    const { window, limit, filter } = topArgs(options);
    const counts: TicketCount[] = [];
    for (const ticket of this.ticketsOf(filter)) {
      const count = windowCount(this.store.occurrences.get(ticket.id) ?? [], window);
      if (count > 0) counts.push({ ticketId: ticket.id, count });
    }
    counts.sort((a, b) => b.count - a.count || a.ticketId - b.ticketId);
    return counts.slice(0, limit);
  }

  messages(ticketId: unknown, options: unknown): MessageCount[] {
    const { id, limit, newest } = messagesArgs(ticketId, options);
    const counts = new Map<string, number>();
    const rows = [...this.mustHave(id)].sort((a, b) => (a.time === b.time ? b.id - a.id : a.time < b.time ? 1 : -1));
    for (const o of rows.slice(0, newest)) {
      // Only a record whose `message` is text has one.
      const message = (o.data as { message?: unknown } | null)?.message;
      if (typeof message === 'string') counts.set(message, (counts.get(message) ?? 0) + o.weight);
    }
    return [...counts]
      .map(([message, count]) => ({ message, count }))
      .sort((a, b) => b.count - a.count || byCodePoints(a.message, b.message))
      .slice(0, limit);
  }

  ticketEvents(ticketId: unknown): TicketEvent[] {
    const id = checkTicketId(ticketId);
    this.mustHave(id);
    // A stable sort: events of one time and kind stay in the order they were made.
    return [...(this.store.events.get(id) ?? [])].sort(compareEvents).map((e) => ({ ...e }));
  }

  private mustHave(id: number): readonly MemoryOccurrence[] {
    const list = this.store.occurrences.get(id);
    if (list === undefined) throw ticketNotFound(id, this.name);
    return list;
  }

  private ticketsOf(filter: TicketFilter) {
    const matches = this.store.matcher(filter);
    return [...this.store.tickets.values()].filter((ticket) => matches(view(ticket)));
  }

  private occurrencesOf(filter: TicketFilter): (readonly MemoryOccurrence[])[] {
    return this.ticketsOf(filter).map((ticket) => this.store.occurrences.get(ticket.id) ?? []);
  }
}

function windowCount(list: readonly MemoryOccurrence[], window: CheckedWindow): number {
  let count = 0;
  for (const o of list) {
    const ms = Date.parse(o.time);
    if (ms >= window.fromMs && ms < window.toMs) count += o.weight;
  }
  return count;
}

function ascending(counts: ReadonlyMap<number, number>): BucketCount[] {
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([start, count]) => ({ start: new Date(start).toISOString(), count }));
}

/** Text in the order of its code points (UTF-8 bytes), as SQL stores and MongoDB compare it. */
function byCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
