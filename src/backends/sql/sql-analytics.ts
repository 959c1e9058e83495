/**
 * Analytics (analytics.ts) in the SQL store. Every count is summed by the
 * database from an index that carries the weight (version 5,
 * sql-migrations.ts), so no occurrence row, with its record, is read — but
 * for `messages`, which reads the records' `message` — and each occurrence
 * counts as many as it stands for (OccurrenceInput.count).
 *
 * The shape of the queries is what makes a month of a million occurrences
 * cheap (bench/dashboard.ts). Grouping occurrences by a computed bucket
 * (`group by substr(time, 1, 13)`, `date_trunc`) makes both engines sort
 * every row of the window first, five to ten times the cost of reading them.
 * So the window is cut here, exactly as analytics.ts defines its buckets
 * (bucketStart) and sparkline slices (sparkIndex), into time ranges, and the
 * database sums each range with one index range scan: a histogram's
 * buckets, a sparkline's slices per ticket, the top tickets one ticket at a
 * time (only those seen in the window). Ranges are handed over as one
 * parameter (JSON for SQLite, arrays for PostgreSQL), so each statement's
 * text is the same whatever the window. Times compare as they are kept:
 * fixed-width ISO text in SQLite, timestamptz in PostgreSQL.
 *
 * New tickets are counted from the tickets table by `group by` on the bucket
 * of first_seen: a prefix of the ISO text in SQLite (16 characters for a
 * minute, 13 for an hour, 10 for a day), `date_trunc` in UTC in PostgreSQL.
 */

import { sql, type RawBuilder } from 'kysely';
import {
  BUCKET_MS,
  bucketStart,
  TICKET_EVENT_KINDS,
  type Bucket,
  type BucketCount,
  type CheckedWindow,
  type HistogramOptions,
  type MessageCount,
  type MessagesOptions,
  type SparklineOptions,
  type TicketCount,
  type TicketEvent,
  type TicketEventKind,
  type TimeWindow,
} from '../analytics.js';
import { histogramArgs, messagesArgs, sparklineArgs, topArgs } from '../analytics-rules.js';
import type { TicketFilter } from '../contract.js';
import { checkTicketId, ticketNotFound } from '../query-options.js';
import type { SqlCore } from './sql-core.js';
import { ticketWhere } from './sql-rows.js';

type Row = Record<string, unknown>;

/** SQLite: how many characters of an ISO time name its bucket, and what completes the prefix to the bucket's start. */
const PREFIXES: Readonly<Record<Bucket, readonly [number, string]>> = {
  minute: [16, ':00.000Z'],
  hour: [13, ':00:00.000Z'],
  day: [10, 'T00:00:00.000Z'],
};

/** The bucket a time column falls in, as an expression to group by. */
function bucketOf(core: SqlCore, column: string, bucket: Bucket): RawBuilder<unknown> {
  // Constants written out (the bucket is one of three checked words): three statement texts, each prepared once.
  if (core.d.kind === 'sqlite') return sql`substr(${sql.ref(column)}, 1, ${sql.lit(PREFIXES[bucket][0])})`;
  return sql`(date_trunc(${sql.lit(bucket)}, ${sql.ref(column)} at time zone 'UTC') at time zone 'UTC')`;
}

function bucketStartOf(core: SqlCore, value: unknown, bucket: Bucket): string {
  return core.d.kind === 'sqlite' ? `${String(value)}${PREFIXES[bucket][1]}` : core.d.time(value);
}

/** Time ranges, each [from, to) as ISO 8601 text. */
type Ranges = ReadonlyArray<readonly [string, string]>;

/** The part of the window each bucket covers, and the buckets' starts (UTC-aligned, as bucketStart()). */
function bucketRanges(window: CheckedWindow, bucket: Bucket): { starts: string[]; ranges: Ranges } {
  const size = BUCKET_MS[bucket];
  const starts: string[] = [];
  const ranges: Array<readonly [string, string]> = [];
  for (let ms = bucketStart(window.fromMs, bucket); ms < window.toMs; ms += size) {
    starts.push(iso(ms));
    ranges.push([iso(Math.max(ms, window.fromMs)), iso(Math.min(ms + size, window.toMs))]);
  }
  return { starts, ranges };
}

/**
 * The slices of a sparkline as sparkIndex() cuts them: `points` of the same
 * width (rounded up), the last taking the rest of the window (it may be
 * shorter, or empty).
 */
function sliceRanges(window: CheckedWindow, points: number): Ranges {
  const width = Math.ceil((window.toMs - window.fromMs) / points);
  return Array.from({ length: points }, (_, i) => {
    const from = Math.min(window.fromMs + i * width, window.toMs);
    const to = i === points - 1 ? window.toMs : Math.min(window.fromMs + (i + 1) * width, window.toMs);
    return [iso(from), iso(to)] as const;
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The ranges as a table `r (i, lo, hi)` of the statement, numbered from 0. */
function rangeTable(core: SqlCore, ranges: Ranges): RawBuilder<unknown> {
  if (core.d.kind === 'sqlite') {
    return sql`(select key as i, value ->> 0 as lo, value ->> 1 as hi from json_each(${JSON.stringify(ranges)})) as r`;
  }
  const [los, his] = [ranges.map((range) => range[0]), ranges.map((range) => range[1])];
  return sql`(select n - 1 as i, lo, hi from unnest(cast(${los} as timestamptz[]), cast(${his} as timestamptz[]))
    with ordinality as u (lo, hi, n)) as r`;
}

/** Ticket ids as a table `k (id)` of the statement. */
function idTable(core: SqlCore, ids: readonly number[]): RawBuilder<unknown> {
  return core.d.kind === 'sqlite'
    ? sql`(select value as id from json_each(${JSON.stringify(ids)})) as k`
    : sql`unnest(cast(${ids} as bigint[])) as k (id)`;
}

/** SQLite: above this many seeks (kept tickets times ranges), a filtered histogram scans its window by time. */
const MAX_SEEKS = 20_000;

/**
 * Occurrences of the tickets a filter keeps, among those seen in the window:
 * a condition on occurrences ending in `and` (nothing for no filter), or
 * null when no ticket is kept. SQLite is told how to find them: with few
 * tickets and ranges it seeks each kept ticket in each range, with more it
 * scans each range by time and looks each occurrence's ticket up (the `+`
 * keeps it off the index by ticket); it has no statistics to tell the two
 * apart itself. PostgreSQL's planner has, and joins by hash.
 */
async function keptBy(
  core: SqlCore,
  window: CheckedWindow,
  filter: TicketFilter,
  ranges: number,
): Promise<RawBuilder<unknown> | null> {
  if (Object.values(filter).every((value) => value === undefined)) return sql``;
  const kept = sql`select id from ${sql.table(core.t.tickets)}
    where last_seen >= ${window.from} and first_seen < ${window.to} and ${ticketWhere(core.d, core.t, filter)}`;
  if (core.d.kind === 'postgres') return sql`ticket_id in (${kept}) and`;
  const counted = await core.read('count tickets', (db) =>
    sql<Row>`select count(*) as n from (${kept}) as k`.execute(db),
  );
  const tickets = Number(counted.rows[0]?.n ?? 0);
  if (tickets === 0) return null;
  return sql`${sql.raw(tickets * ranges > MAX_SEEKS ? '+ticket_id' : 'ticket_id')} in (${kept}) and`;
}

async function mustExist(core: SqlCore, id: number): Promise<void> {
  const found = await core.read('read a ticket', (db) =>
    sql<Row>`select 1 as x from ${sql.table(core.t.tickets)} where id = ${id}`.execute(db),
  );
  if (found.rows.length === 0) throw ticketNotFound(id, core.name);
}

export async function histogram(
  core: SqlCore,
  ticketId: number | null,
  options: HistogramOptions,
): Promise<BucketCount[]> {
  const { window, bucket, filter } = histogramArgs(ticketId, options);
  if (ticketId !== null) await mustExist(core, ticketId);
  const { starts, ranges } = bucketRanges(window, bucket);
  const which =
    ticketId === null ? await keptBy(core, window, filter, ranges.length) : sql`ticket_id = ${ticketId} and`;
  if (which === null) return [];
  const result = await core.read('count occurrences per bucket', (db) =>
    sql<Row>`select r.i as i, (select sum(weight) from ${sql.table(core.t.occurrences)}
        where ${which} time >= r.lo and time < r.hi) as n
      from ${rangeTable(core, ranges)}`.execute(db),
  );
  return result.rows
    .filter((row) => row.n != null && Number(row.n) > 0)
    .map((row) => ({ start: starts[Number(row.i)]!, count: Number(row.n) }))
    .sort((a, b) => (a.start < b.start ? -1 : 1));
}

export async function newTickets(core: SqlCore, options: HistogramOptions): Promise<BucketCount[]> {
  const { window, bucket, filter } = histogramArgs(null, options, 'newTickets');
  const b = bucketOf(core, 'first_seen', bucket);
  const result = await core.read('count new tickets per bucket', (db) =>
    sql<Row>`select ${b} as b, count(*) as n from ${sql.table(core.t.tickets)}
      where first_seen >= ${window.from} and first_seen < ${window.to} and ${ticketWhere(core.d, core.t, filter)}
      group by 1 order by 1`.execute(db),
  );
  return result.rows.map((row) => ({ start: bucketStartOf(core, row.b, bucket), count: Number(row.n) }));
}

export async function sparklines(
  core: SqlCore,
  ticketIds: readonly number[],
  options: SparklineOptions,
): Promise<Map<number, number[]>> {
  const { ids, window, points } = sparklineArgs(ticketIds, options);
  const lines = new Map(ids.map((id) => [id, new Array<number>(points).fill(0)]));
  if (ids.length === 0) return lines;
  const result = await core.read('count occurrences per slice', (db) =>
    sql<Row>`select k.id as id, r.i as i, (select sum(weight) from ${sql.table(core.t.occurrences)}
        where ticket_id = k.id and time >= r.lo and time < r.hi) as n
      from ${idTable(core, ids)}, ${rangeTable(core, sliceRanges(window, points))}`.execute(db),
  );
  for (const row of result.rows) {
    if (row.n != null) lines.get(Number(row.id))![Number(row.i)] = Number(row.n);
  }
  return lines;
}

export async function topTickets(
  core: SqlCore,
  options: TimeWindow & { readonly limit?: number; readonly filter?: TicketFilter },
): Promise<TicketCount[]> {
  const { window, limit, filter } = topArgs(options);
  // Only a ticket seen in the window can have occurrences in it.
  const result = await core.read('count occurrences per ticket', (db) =>
    sql<Row>`select t.id as id, (select sum(weight) from ${sql.table(core.t.occurrences)}
        where ticket_id = t.id and time >= ${window.from} and time < ${window.to}) as n
      from ${sql.table(core.t.tickets)} as t
      where last_seen >= ${window.from} and first_seen < ${window.to} and ${ticketWhere(core.d, core.t, filter)}
      order by n desc nulls last, t.id limit ${limit}`.execute(db),
  );
  return result.rows.filter((row) => row.n != null).map((row) => ({ ticketId: Number(row.id), count: Number(row.n) }));
}

export async function messages(core: SqlCore, ticketId: number, options?: MessagesOptions): Promise<MessageCount[]> {
  const { id, limit, newest } = messagesArgs(ticketId, options);
  await mustExist(core, id);
  // Only a record whose `message` is text has one; ties in byte order, as every store compares text.
  const [message, isText, binary] =
    core.d.kind === 'sqlite'
      ? [sql`json_extract(data, '$.message')`, sql`json_type(data, '$.message') = 'text'`, sql``]
      : [sql`(data ->> 'message')`, sql`jsonb_typeof(data -> 'message') = 'string'`, sql`collate "C"`];
  const result = await core.read('count the messages of a ticket', (db) =>
    // The newest rows first, along the (ticket_id, time, id) index: a busy ticket reads `newest` rows, not all.
    sql<Row>`select ${message} as m, sum(weight) as n from (select data, weight from ${sql.table(core.t.occurrences)}
      where ticket_id = ${id} order by time desc, id desc limit ${newest}) newest
      where ${isText}
      group by ${message} order by sum(weight) desc, ${message} ${binary} limit ${limit}`.execute(db),
  );
  return result.rows.map((row) => ({ message: String(row.m), count: Number(row.n) }));
}

const KIND_ORDER = sql.raw(
  `case kind ${TICKET_EVENT_KINDS.map((kind, i) => `when '${kind}' then ${i}`).join(' ')} end`,
);

export async function ticketEvents(core: SqlCore, ticketId: number): Promise<TicketEvent[]> {
  const id = checkTicketId(ticketId);
  await mustExist(core, id);
  const result = await core.read("read a ticket's history", (db) =>
    sql<Row>`select kind, at, release from ${sql.table(core.t.ticketEvents)}
      where ticket_id = ${id} order by at, ${KIND_ORDER}, id`.execute(db),
  );
  return result.rows.map((row) => ({
    ticketId: id,
    kind: String(row.kind) as TicketEventKind,
    at: core.d.time(row.at),
    release: row.release == null ? null : String(row.release),
  }));
}
