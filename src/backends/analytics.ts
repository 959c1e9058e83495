/**
 * Analytics: how often each problem happens and over what period, answered
 * by the store itself (a SQL `group by` over an index, a MongoDB
 * aggregation), never by reading every occurrence into JavaScript.
 *
 * Every store (SQLite, PostgreSQL, MongoDB, the in-memory reference)
 * implements `TicketAnalytics` and runs the shared cases in
 * `test/conformance/analytics-cases.ts`. The dashboard and the static report
 * (src/web/) stand on these methods alone.
 *
 * Rules every implementation keeps:
 * - Times are ISO 8601 in UTC; a window is half-open, `from` included and
 *   `to` excluded.
 * - An occurrence that stands for several (folded by the pipeline,
 *   OccurrenceInput.count) counts as that many in every count here, so a
 *   histogram's bars add up to the ticket's occurrence count.
 * - Buckets are aligned on UTC: a minute, an hour or a day starts at its own
 *   boundary (`2026-11-30T03:00:00.000Z` for the 03:00 hour).
 */

import { LogticketsError } from '../errors.js';
import type { TicketFilter } from './contract.js';

export type Bucket = 'minute' | 'hour' | 'day';
export const BUCKETS: readonly Bucket[] = ['minute', 'hour', 'day'];
export const BUCKET_MS: Readonly<Record<Bucket, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** At most this many buckets in one histogram (a month of hours, a day of minutes is 1,440). */
export const MAX_BUCKETS = 2_000;
/** At most this many points in one sparkline, and tickets in one sparkline call. */
export const MAX_SPARK_POINTS = 200;
export const MAX_SPARK_TICKETS = 500;

/** A half-open window of time: ISO 8601 in UTC, `from` included, `to` excluded. */
export interface TimeWindow {
  readonly from: string;
  readonly to: string;
}

export interface HistogramOptions extends TimeWindow {
  readonly bucket: Bucket;
  /** Only for the all-tickets histogram (ticketId null): count the occurrences of the tickets it keeps. */
  readonly filter?: TicketFilter;
}

/** One bucket that has occurrences: its UTC-aligned start and how many fell in it. */
export interface BucketCount {
  readonly start: string;
  readonly count: number;
}

export interface SparklineOptions extends TimeWindow {
  /** Equal slices the window is cut into (1 to MAX_SPARK_POINTS); the last may be shorter. */
  readonly points: number;
}

/** A state change or a regression, as a ticket's history keeps it. */
export type TicketEventKind = 'solved' | 'reopened' | 'muted' | 'unmuted' | 'regressed';
export const TICKET_EVENT_KINDS: readonly TicketEventKind[] = ['solved', 'reopened', 'muted', 'unmuted', 'regressed'];

export interface TicketEvent {
  readonly ticketId: number;
  readonly kind: TicketEventKind;
  /** When it happened: the change's time, or the time of the occurrence that regressed the ticket. */
  readonly at: string;
  /** `solved`: the release it was solved in; `regressed`: the release of the occurrence; else null. */
  readonly release: string | null;
}

export interface MessageCount {
  readonly message: string;
  readonly count: number;
}

/** How many of a ticket's newest occurrences `messages` reads by default, and at most. */
export const MESSAGE_SAMPLE = 10_000;
export const MAX_MESSAGE_SAMPLE = 1_000_000;

export interface MessagesOptions {
  readonly limit?: number;
  /** Read only this many of the ticket's newest kept occurrences (1 to MAX_MESSAGE_SAMPLE; default MESSAGE_SAMPLE). */
  readonly newest?: number;
}

/** A ticket and how many occurrences it had in a window. */
export interface TicketCount {
  readonly ticketId: number;
  readonly count: number;
}

export interface TicketAnalytics {
  /**
   * Occurrences per bucket in the window, ascending, only buckets that have
   * some: of one ticket (TICKET_NOT_FOUND when there is none), or, with
   * `ticketId` null, of every ticket `options.filter` keeps.
   */
  histogram(ticketId: number | null, options: HistogramOptions): Promise<BucketCount[]>;

  /**
   * Tickets first seen per bucket in the window (new problems per day),
   * ascending, only buckets that have some, among the tickets the filter keeps.
   */
  newTickets(options: HistogramOptions): Promise<BucketCount[]>;

  /**
   * For each ticket id, its occurrences in each of `points` equal slices of
   * the window (an array of `points` counts, zeros included); one call for a
   * whole page of the list. Ids with no ticket get zeros.
   */
  sparklines(ticketIds: readonly number[], options: SparklineOptions): Promise<Map<number, number[]>>;

  /** Occurrences per ticket in the window, most first (ties by id), at most `limit` (default 10). */
  topTickets(options: TimeWindow & { readonly limit?: number; readonly filter?: TicketFilter }): Promise<TicketCount[]>;

  /**
   * The distinct messages of a ticket's occurrences (the record JSON's
   * `message`, as kept), with counts, most frequent first (ties by message),
   * at most `limit` (default 20), among its `newest` kept occurrences
   * (default MESSAGE_SAMPLE: a busy ticket's page stays fast, and recent
   * messages are what a reader wants). TICKET_NOT_FOUND when there is no ticket.
   */
  messages(ticketId: number, options?: MessagesOptions): Promise<MessageCount[]>;

  /** The ticket's history of state changes and regressions, oldest first (ties by kind order above). */
  ticketEvents(ticketId: number): Promise<TicketEvent[]>;
}

export function isAnalytics(backend: unknown): backend is TicketAnalytics {
  const candidate = backend as Partial<TicketAnalytics> | null;
  return typeof candidate?.histogram === 'function' && typeof candidate.sparklines === 'function';
}

function bad(message: string): never {
  throw new LogticketsError('INVALID_ARGUMENT', message);
}

/** A window checked and put in the form stores keep times in; its bounds in ms too. */
export interface CheckedWindow extends TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export function checkWindow(options: Partial<TimeWindow> | undefined): CheckedWindow {
  const fromMs = typeof options?.from === 'string' ? Date.parse(options.from) : NaN;
  const toMs = typeof options?.to === 'string' ? Date.parse(options.to) : NaN;
  if (!Number.isFinite(fromMs)) bad(`from must be an ISO 8601 time, got ${JSON.stringify(options?.from)}`);
  if (!Number.isFinite(toMs)) bad(`to must be an ISO 8601 time, got ${JSON.stringify(options?.to)}`);
  if (toMs <= fromMs) bad(`to (${options!.to}) must come after from (${options!.from})`);
  return { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), fromMs, toMs };
}

export function checkBucket(bucket: unknown, window: CheckedWindow): Bucket {
  if (!BUCKETS.includes(bucket as Bucket)) {
    bad(`bucket must be one of ${BUCKETS.join(', ')}, got ${JSON.stringify(bucket)}`);
  }
  const b = bucket as Bucket;
  const count = Math.ceil((window.toMs - bucketStart(window.fromMs, b)) / BUCKET_MS[b]);
  if (count > MAX_BUCKETS) {
    bad(`a histogram of ${b}s from ${window.from} to ${window.to} would have ${count} buckets; at most ${MAX_BUCKETS}`);
  }
  return b;
}

export function checkPoints(points: unknown): number {
  if (typeof points !== 'number' || !Number.isInteger(points) || points < 1 || points > MAX_SPARK_POINTS) {
    bad(`points must be an integer from 1 to ${MAX_SPARK_POINTS}, got ${String(points)}`);
  }
  return points as number;
}

export function checkLimit(limit: unknown, fallback: number, max = 1_000): number {
  const value = limit ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    bad(`limit must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value as number;
}

/** The start (ms) of the UTC-aligned bucket a time (ms) falls in. */
export function bucketStart(ms: number, bucket: Bucket): number {
  const size = BUCKET_MS[bucket];
  return Math.floor(ms / size) * size;
}

/** The slice of a sparkline a time (ms) falls in, or -1 outside the window. */
export function sparkIndex(ms: number, window: CheckedWindow, points: number): number {
  if (ms < window.fromMs || ms >= window.toMs) return -1;
  const width = Math.ceil((window.toMs - window.fromMs) / points);
  return Math.min(points - 1, Math.floor((ms - window.fromMs) / width));
}

/**
 * Every bucket of a window, zeros included, from the non-empty ones a store
 * returned: what a chart draws.
 */
export function fillBuckets(counts: readonly BucketCount[], window: TimeWindow, bucket: Bucket): BucketCount[] {
  const size = BUCKET_MS[bucket];
  const byStart = new Map(counts.map((c) => [Date.parse(c.start), c.count]));
  const filled: BucketCount[] = [];
  const end = Date.parse(window.to);
  for (let ms = bucketStart(Date.parse(window.from), bucket); ms < end; ms += size) {
    filled.push({ start: new Date(ms).toISOString(), count: byStart.get(ms) ?? 0 });
  }
  return filled;
}
