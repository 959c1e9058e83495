/**
 * Scenario: the dashboard's store work (src/web/ stands on the analytics of
 * src/backends/analytics.ts) on a big SQLite store: 1,000,000 occurrences of
 * 200 tickets over 30 days, a few busy problems and a long tail (a Zipf
 * distribution, as real problems are), 1 % of them standing for three
 * (folded by the pipeline).
 *
 *   (a) the list page: countTickets + getTickets (50, seen in the last 7 days)
 *       + the sparklines of those 50 over 7 days in 30 points       target ≤ 300 ms
 *   (b) a ticket page: the busiest ticket's histogram, 7 days by the hour
 *       and 30 days by the day                                        target ≤ 200 ms
 *   (c) the overview: all tickets' occurrences per day over 30 days, new
 *       tickets per day and the top 10 tickets                       (no target: reported)
 *   (d) the same three pages as the JSON API answers them (src/web/api.ts),
 *       serialised: the server's time per page, same targets
 *
 * Each figure is the median of several runs after a warm-up, on a store opened
 * read-only as `logtickets serve` opens it (the application's thread), and on
 * one opened by a writer (the SQLite worker thread) for comparison.
 *
 * The store is seeded through the store's own write path, `recordBatch` with
 * batches of 5,000 in time order, so its rows, weights, indexes and tickets
 * are exactly what logtickets writes (about 20 s once); the file is kept in
 * .cache/ under the schema version, so later runs start at once.
 *
 *   npm run build && node --import tsx bench/dashboard.ts
 */

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCHEMA_VERSION } from '../src/backends/sql/sql-schema.js';
import { SqlBackend, type OccurrenceInput } from '../src/index.js';
import { DashboardApi } from '../src/web/api.js';
import { median, printFigures, type Figure } from './measure.js';

const OCCURRENCES = 1_000_000;
const TICKETS = 200;
const DAYS = 30;
const BATCH = 5_000;
const RUNS = 9;
const DAY_MS = 86_400_000;
/** The end of the seeded month: the dashboard's "now". */
const END = Date.parse('2026-01-31T00:00:00.000Z');
const START = END - DAYS * DAY_MS;
const TARGETS = { list: 300, ticket: 200 } as const;

const ROOT = resolve(import.meta.dirname, '..');

const iso = (ms: number) => new Date(ms).toISOString();
const hashOf = (i: number) => createHash('sha1').update(`dashboard problem ${i}`).digest('hex');

/** A small, seeded random generator (mulberry32): the same store on every machine. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Which ticket each occurrence is of: ticket k (0-based) with weight 1 / (k + 1). */
function zipf(next: () => number): () => number {
  const cumulative: number[] = [];
  let sum = 0;
  for (let k = 0; k < TICKETS; k++) cumulative.push((sum += 1 / (k + 1)));
  return () => {
    const x = next() * sum;
    let lo = 0;
    let hi = TICKETS - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

function occurrence(k: number, time: number, i: number, folded: boolean): OccurrenceInput {
  return {
    hash: hashOf(k),
    appId: k % 3 === 0 ? 'billing' : 'shop',
    level: k % 10 === 0 ? 15 : k % 4 === 0 ? 13 : 14,
    channel: `shop.module${k % 12}`,
    location: `src/module${k % 12}.ts:${40 + k}`,
    function: 'handle',
    title: `problem ${k}: order ${i} could not be charged`,
    time: iso(time),
    data: {
      message: `problem ${k}: order ${i % 50} could not be charged`,
      extra: { orderId: `A-${i}`, userId: i % 1000, amountCents: 12_999 },
      location: { file: `src/module${k % 12}.ts`, line: 40 + k, column: 7, function: 'handle' },
      process: { pid: 4242, hostname: 'bench', threadId: 0 },
      error: {
        name: 'PaymentError',
        message: 'card declined',
        stack: `PaymentError: card declined\n    at handle (src/module${k % 12}.ts:${40 + k}:7)\n    at process (src/queue.ts:88:5)`,
      },
    },
    ...(folded ? { count: 3 } : {}),
  };
}

/** The seeded store's file, made once per schema version (and reused while that version lasts). */
async function seededStore(): Promise<string> {
  const dir = join(ROOT, '.cache');
  const path = join(dir, `dashboard-v${SCHEMA_VERSION}-${OCCURRENCES}.db`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  // Seeded under another name and renamed when complete: an interrupted seed is never taken for a store.
  const partial = `${path}.partial`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
  const store = new SqlBackend(`sqlite:${partial}`);
  const started = process.hrtime.bigint();
  const next = random(15);
  const ticketOf = zipf(next);
  const step = (DAYS * DAY_MS) / OCCURRENCES;
  for (let first = 0; first < OCCURRENCES; first += BATCH) {
    const batch: OccurrenceInput[] = [];
    for (let i = first; i < Math.min(OCCURRENCES, first + BATCH); i++) {
      batch.push(occurrence(ticketOf(), Math.floor(START + i * step), i, next() < 0.01));
    }
    await store.recordBatch(batch);
  }
  // Some tickets solved, some muted: the list's filters and the histories have something to find.
  for (let k = 5; k < TICKETS; k += 7) await store.solveTicket(k, { at: iso(END - 10 * DAY_MS) });
  for (let k = 9; k < TICKETS; k += 31) await store.muteTicket(k, { at: iso(END - 5 * DAY_MS) });
  await store.close();
  renameSync(partial, path);
  for (const suffix of ['-wal', '-shm']) rmSync(`${partial}${suffix}`, { force: true });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`seeded ${OCCURRENCES.toLocaleString('en-US')} occurrences into ${path} in ${seconds.toFixed(1)} s`);
  return path;
}

/** The median milliseconds of `work` over RUNS runs, after two untimed ones. */
async function timed(work: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < RUNS + 2; r++) {
    const start = process.hrtime.bigint();
    await work();
    if (r >= 2) samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

export async function dashboardBench(): Promise<Figure[]> {
  const path = await seededStore();
  const figures: Figure[] = [];
  for (const [access, readOnly] of [
    ['read-only, as serve opens it', true],
    ['writer, worker thread', false],
  ] as const) {
    const store = new SqlBackend(`sqlite:${path}`, { readOnly });
    await store.open();
    const week = { from: iso(END - 7 * DAY_MS), to: iso(END) };
    const month = { from: iso(START), to: iso(END) };
    const [busiest] = await store.topTickets({ ...month, limit: 1 });

    const list = await timed(async () => {
      const filter = { seenSince: week.from };
      await store.countTickets(filter);
      const page = await store.getTickets({ filter, limit: 50, orderBy: '-lastSeen' });
      await store.sparklines(
        page.map((ticket) => ticket.id),
        { ...week, points: 30 },
      );
    });
    const ticket = await timed(async () => {
      await store.histogram(busiest!.ticketId, { ...week, bucket: 'hour' });
      await store.histogram(busiest!.ticketId, { ...month, bucket: 'day' });
    });
    const overview = await timed(async () => {
      await store.histogram(null, { ...month, bucket: 'day' });
      await store.newTickets({ ...month, bucket: 'day' });
      await store.topTickets({ ...month, limit: 10 });
    });
    // The same pages as the dashboard's JSON API answers them, serialised: the server's time per page.
    const api = new DashboardApi({ store, now: () => END - 1 });
    const week7 = new URLSearchParams({ period: '7d' });
    const apiList = await timed(async () => JSON.stringify(await api.tickets(week7)));
    const apiTicket = await timed(async () => {
      JSON.stringify(await api.ticket(busiest!.ticketId, week7));
      JSON.stringify(await api.histogram(busiest!.ticketId, week7));
      JSON.stringify(await api.occurrences(busiest!.ticketId, new URLSearchParams()));
    });
    const apiOverview = await timed(async () =>
      JSON.stringify(await api.overview(new URLSearchParams({ period: '30d' }))),
    );
    await store.close();

    const figure = (subject: string, value: number, target?: number, note?: string): Figure => ({
      scenario: `dashboard (${access})`,
      subject,
      value,
      unit: 'ms',
      ...(target === undefined
        ? {}
        : { ratio: { value: value / target, label: '× target', target: `≤ ${target} ms`, met: value <= target } }),
      ...(note === undefined ? {} : { note }),
    });
    figures.push(
      figure('(a) list page: count, 50 tickets, 50 sparklines', list, TARGETS.list),
      figure(
        '(b) busiest ticket: 7 d hourly + 30 d daily',
        ticket,
        TARGETS.ticket,
        `${busiest!.count.toLocaleString('en-US')} occurrences in 30 d`,
      ),
      figure('(c) overview: 30 d daily, new tickets, top 10', overview),
      figure('(d) GET /api/tickets (7 d): the list page as served', apiList, TARGETS.list),
      figure(
        '(d) GET /api/tickets/:id + histogram + occurrences (7 d)',
        apiTicket,
        TARGETS.ticket,
        'the ticket page as served',
      ),
      figure('(d) GET /api/overview (30 d)', apiOverview),
    );
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await dashboardBench();
  printFigures(figures);
  console.log(`\nmedian of ${RUNS} runs; Node ${process.version}, ${process.platform}/${process.arch}`);
}
