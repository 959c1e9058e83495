/**
 * Analytics (analytics.ts) in the MongoDB store: each answer is a `$match`
 * on an indexed ticket and time and a `$group`, run by the server.
 *
 * What FerretDB's aggregation can do shapes every pipeline here (seen by
 * running them against it): no date operator and no arithmetic at all, so
 * buckets are fields stored with each document (mongodb-buckets.ts); and of a
 * `$group`'s accumulators only the first one is given the documents (a
 * second one always sums to 0), so every `$group` has exactly one, a `$sum`
 * of 1. The weight an occurrence stands for is therefore part of the group
 * key rather than summed: each group is one bucket (or ticket, or message)
 * and one weight, and its count is the weight times the documents in it.
 * Weights other than 1 are rare (occurrences folded under pressure), so this
 * adds few groups. A document of an older version has no weight and counts
 * as one.
 *
 * Sparklines cut a window into slices of any length, counted from the
 * stored buckets, coarsest first (mongodb-sparklines.ts).
 */

import type { Collection, Document } from 'mongodb';
import {
  bucketStart,
  type Bucket,
  type BucketCount,
  type CheckedWindow,
  type HistogramOptions,
  type MessageCount,
  type MessagesOptions,
  type SparklineOptions,
  type TicketAnalytics,
  type TicketCount,
  type TicketEvent,
  type TimeWindow,
} from '../analytics.js';
import { histogramArgs, messagesArgs, sparklineArgs, topArgs } from '../analytics-rules.js';
import type { TicketFilter } from '../contract.js';
import { checkTicketId, ticketNotFound } from '../query-options.js';
import { countBy, FIRST_BUCKET, OCCURRENCE_BUCKET } from './mongodb-buckets.js';
import type { Collections } from './mongodb-connection.js';
import { filterQuery } from './mongodb-documents.js';
import { sparkCounts } from './mongodb-sparklines.js';
import { readEvents } from './mongodb-ticket-events.js';

type Run = <T>(action: string, fn: (c: Collections) => Promise<T>) => Promise<T>;

export class MongoAnalytics implements TicketAnalytics {
  constructor(
    private readonly name: string,
    private readonly run: Run,
  ) {}

  async histogram(ticketId: number | null, options: HistogramOptions): Promise<BucketCount[]> {
    const { window, bucket, filter } = histogramArgs(ticketId, options);
    return this.run('count occurrences per bucket', async (c) => {
      let tickets: Document;
      if (ticketId !== null) {
        await this.ticket(c, ticketId);
        tickets = { ticketId };
      } else {
        const ids = await ticketsIn(c, filter, window);
        if (ids?.length === 0) return [];
        tickets = ids === null ? {} : { ticketId: { $in: ids } };
      }
      const match = { ...tickets, time: between(window) };
      return perBucket(c.occurrences, match, 'time', OCCURRENCE_BUCKET[bucket], bucket);
    });
  }

  async newTickets(options: HistogramOptions): Promise<BucketCount[]> {
    const { window, bucket, filter } = histogramArgs(null, options, 'newTickets');
    return this.run('count new tickets per bucket', async (c) => {
      const match = { $and: [await filterQuery(c, filter), { firstSeen: between(window) }] };
      return perBucket(c.tickets, match, 'firstSeen', FIRST_BUCKET[bucket], bucket);
    });
  }

  async sparklines(ticketIds: readonly number[], options: SparklineOptions): Promise<Map<number, number[]>> {
    const { ids, window, points } = sparklineArgs(ticketIds, options);
    return this.run('count occurrences per slice', (c) => sparkCounts(c, ids, window, points));
  }

  async topTickets(
    options: TimeWindow & { readonly limit?: number; readonly filter?: TicketFilter },
  ): Promise<TicketCount[]> {
    const { window, limit, filter } = topArgs(options);
    return this.run('count occurrences per ticket', async (c) => {
      const ids = await ticketsIn(c, filter, window);
      if (ids?.length === 0) return [];
      const match = { ...(ids === null ? {} : { ticketId: { $in: ids } }), time: between(window) };
      const counts = await countBy(c.occurrences, match, ['$ticketId']);
      return counts
        .map(({ keys, count }) => ({ ticketId: Number(keys[0]), count }))
        .sort((a, b) => b.count - a.count || a.ticketId - b.ticketId)
        .slice(0, limit);
    });
  }

  async messages(ticketId: number, options?: MessagesOptions): Promise<MessageCount[]> {
    const { id, limit, newest } = messagesArgs(ticketId, options);
    return this.run("count a ticket's messages", async (c) => {
      await this.ticket(c, id);
      // The newest `newest` occurrences along the (ticketId, time) index, only their message and weight;
      // counted here: a bounded read, where FerretDB's $group would read the whole collection anyway.
      const rows = await c.occurrences
        .find({ ticketId: id }, { projection: { _id: 0, 'data.message': 1, weight: 1 } })
        .sort({ time: -1, _id: -1 })
        .limit(newest)
        .toArray();
      const counts = new Map<string, number>();
      for (const row of rows) {
        // Only a record whose `message` is text has one (record data is stored as a sub-document).
        const message: unknown = (row.data as { message?: unknown } | undefined)?.message;
        const weight = typeof row.weight === 'number' && row.weight >= 1 ? row.weight : 1;
        if (typeof message === 'string') counts.set(message, (counts.get(message) ?? 0) + weight);
      }
      return [...counts]
        .map(([message, count]) => ({ message, count }))
        .sort((a, b) => b.count - a.count || Buffer.compare(Buffer.from(a.message), Buffer.from(b.message)))
        .slice(0, limit);
    });
  }

  async ticketEvents(ticketId: number): Promise<TicketEvent[]> {
    const id = checkTicketId(ticketId);
    return this.run("read a ticket's history", async (c) => readEvents(c, await this.ticket(c, id)));
  }

  /** The ticket document, or TICKET_NOT_FOUND. */
  private async ticket(c: Collections, id: number): Promise<Document> {
    const doc = await c.tickets.findOne({ _id: id as never }, { projection: { pendingEvents: 1 } });
    if (doc === null) throw ticketNotFound(id, this.name);
    return doc;
  }
}

function between(window: CheckedWindow): Document {
  return { $gte: new Date(window.fromMs), $lt: new Date(window.toMs) };
}

/**
 * The ids of the tickets a filter keeps that were seen in the window, or null
 * for a filter that keeps every ticket (the occurrences need no condition on
 * their ticket then).
 */
async function ticketsIn(c: Collections, filter: TicketFilter, window: CheckedWindow): Promise<number[] | null> {
  const query = await filterQuery(c, filter);
  if (Object.keys(query).length === 0) return null;
  const seen = { lastSeen: { $gte: new Date(window.fromMs) }, firstSeen: { $lt: new Date(window.toMs) } };
  const ids = await c.tickets.distinct('_id', { $and: [query, seen] });
  return ids.map(Number);
}

/**
 * Counts per bucket, ascending, from the stored bucket field; documents of
 * older versions (no bucket field) are grouped by their time in a second
 * `$group`, only when the first one shows that there are some.
 */
async function perBucket(
  from: Collection<Document>,
  match: Document,
  timeField: string,
  bucketField: string,
  bucket: Bucket,
): Promise<BucketCount[]> {
  const counts = new Map<number, number>();
  const add = (start: number, count: number) => counts.set(start, (counts.get(start) ?? 0) + count);
  let older = false;
  for (const { keys, count } of await countBy(from, match, [`$${bucketField}`])) {
    if (typeof keys[0] === 'number') add(keys[0], count);
    else older = true;
  }
  if (older) {
    const without = { $and: [match, { [bucketField]: null }] };
    for (const { keys, count } of await countBy(from, without, [`$${timeField}`])) {
      if (typeof keys[0] === 'number') add(bucketStart(keys[0], bucket), count);
    }
  }
  return [...counts]
    .sort(([a], [b]) => a - b)
    .map(([start, count]) => ({ start: new Date(start).toISOString(), count }));
}
