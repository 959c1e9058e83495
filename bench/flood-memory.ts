/**
 * Scenario: RSS growth over a 1,000,000-record flood with a dead tracker.
 *
 * A service logs one million errors from twenty call sites as fast as it can
 * (chunks of CHUNK records, yielding to the event loop between chunks so the
 * background writer runs, as a busy service's request handlers do) into a
 * TicketingHandler over a TrackedStore: a SQLite file plus a Trac tracker
 * that is dead (127.0.0.1 on a port nothing listens on, so every delivery
 * fails at once and the tracker is paused with backoff).
 *
 * What must stay bounded: the writer's queue (maxQueue, then folding into
 * per-ticket counts), the store's outbox (one waiting delivery per problem
 * and tracker, however many occurrences), and so the process's memory. RSS
 * is sampled after every chunk and every few ms while flushing; the figure is
 * the peak over the warm-up baseline. Counts must stay exact: after flush the
 * tickets' occurrence counts add up to every record logged, folded or not.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Logger, TicketingHandler, TrackedStore, TracTracker, type TicketBackend } from '../src/index.js';
import { CALL_SITES } from './call-sites.js';
import type { Figure } from './measure.js';

const RECORDS = 1_000_000;
const WARMUP = 50_000;
const CHUNK = 1_000;
/** Each close gets this long: a dead tracker must not hold the bench up. */
const CLOSE_TIMEOUT_MS = 1_000;
const FLUSH_TIMEOUT_MS = 300_000;
const TARGET_MB = 100;
const MOONSHOT_MB = 50;
const SCENARIO = 'flood, dead tracker';
const MB = 1024 * 1024;

export async function floodMemory(records = RECORDS): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-flood-'));
  const port = await closedPort();
  let deliveryErrors = 0;
  let writeErrors = 0;
  const store = new TrackedStore({
    store: `sqlite:${join(dir, 'flood.db')}`,
    trackers: [new TracTracker({ url: `http://127.0.0.1:${port}/login/rpc`, username: 'bot', timeoutMs: 1_000 })],
    // Counted rather than printed: each refused connection would be a stderr line.
    onError: () => deliveryErrors++,
  });
  const handler = new TicketingHandler(store, {
    appId: 'bench-flood',
    exitFlushMs: 0,
    onError: () => writeErrors++,
  });
  const log = new Logger('shop.api');
  const gc = exposeGc();
  let logged = 0;
  const logChunks = async (count: number, sample: () => void): Promise<void> => {
    for (let done = 0; done < count;) {
      const n = Math.min(CHUNK, count - done);
      handler.run(() => {
        for (let k = 0; k < n; k++, logged++) CALL_SITES[logged % CALL_SITES.length]!(log, logged);
      });
      done += n;
      sample();
      await yieldToLoop();
    }
  };

  try {
    // Warm-up: the JIT, SQLite's page cache, the store's tables, the deliverer's first failure.
    await logChunks(WARMUP, () => undefined);
    // Every wait is bounded: a store that stops answering must not hang the bench.
    if (!(await handler.flush({ timeoutMs: FLUSH_TIMEOUT_MS }))) throw new Error('the warm-up was not written in time');
    gc?.();
    await yieldToLoop();
    gc?.();
    const baseline = process.memoryUsage();

    let peak = baseline.rss;
    const sample = (): void => {
      const rss = process.memoryUsage.rss();
      if (rss > peak) peak = rss;
    };
    const start = process.hrtime.bigint();
    await logChunks(records, sample);
    const floodSeconds = Number(process.hrtime.bigint() - start) / 1e9;
    // The writer may hold the thread for a batch at a time, so this fires between batches at best.
    const sampler = setInterval(sample, 5);
    const flushed = await handler.flush({ timeoutMs: FLUSH_TIMEOUT_MS });
    clearInterval(sampler);
    const flushSeconds = Number(process.hrtime.bigint() - start) / 1e9 - floodSeconds;
    sample();
    const afterFlush = process.memoryUsage();
    // What stays once the garbage is gone: a leak shows here, not in the peak.
    gc?.();
    const settled = process.memoryUsage();

    const stats = handler.stats();
    const dropped = Object.entries(stats.dropped).filter(([, n]) => n > 0);
    const droppedTotal = dropped.reduce((a, [, n]) => a + n, 0);
    const counted = await countedOccurrences(store);
    const closeStart = Date.now();
    const closed = await withDeadline(closeAll(handler, store), 5 * CLOSE_TIMEOUT_MS);
    const closeMs = Date.now() - closeStart;

    const growth = (peak - baseline.rss) / MB;
    const heapGrowth = (settled.heapUsed - baseline.heapUsed) / MB;
    return [
      {
        scenario: SCENARIO,
        subject: `peak RSS growth over ${records.toLocaleString('en-US')} errors (20 call sites, SQLite + dead Trac)`,
        value: growth,
        unit: 'MB',
        ratio: { value: growth, label: 'MB', target: `≤ ${TARGET_MB}`, met: growth <= TARGET_MB },
        note:
          `moonshot ≤ ${MOONSHOT_MB} MB: ${growth <= MOONSHOT_MB ? 'met' : 'missed'}; ` +
          `baseline ${mb(baseline.rss)} after ${WARMUP.toLocaleString('en-US')} warm-up records, ` +
          `peak ${mb(peak)}, after flush ${mb(afterFlush.rss)}` +
          (gc === undefined
            ? '; no gc() available: baseline and after-flush figures include garbage'
            : `, after flush and gc ${mb(settled.rss)} (heap ${heapGrowth >= 0 ? '+' : ''}${heapGrowth.toFixed(1)} MB over baseline)`),
      },
      {
        scenario: SCENARIO,
        subject: 'logging rate during the flood (chunks of 1,000, yielding between)',
        value: records / floodSeconds,
        unit: 'rec/s',
        note: `flood ${floodSeconds.toFixed(1)} s, then flush ${flushSeconds.toFixed(1)} s${flushed ? '' : ' (flush TIMED OUT)'}`,
      },
      {
        scenario: SCENARIO,
        subject: 'occurrences counted in the store after flush',
        value: counted.sum,
        unit: 'occ',
        ratio: {
          value: counted.sum / logged,
          label: 'of those logged',
          target: '= 1, none dropped',
          met: counted.sum === logged && droppedTotal === 0,
        },
        note:
          `${logged.toLocaleString('en-US')} logged (incl. warm-up) in ${counted.tickets} tickets; ` +
          `${stats.coalesced.toLocaleString('en-US')} folded into counts (record not kept), ` +
          `${droppedTotal} dropped${dropped.length > 0 ? ` (${dropped.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}; ` +
          `${stats.pendingDeliveries} deliveries waiting in the outbox, ${deliveryErrors} delivery errors, ${writeErrors} write errors`,
      },
      {
        scenario: SCENARIO,
        subject: 'close with the tracker still dead',
        value: closeMs,
        unit: 'ms',
        ratio: {
          value: closeMs,
          label: 'ms',
          target: `≤ ${2 * CLOSE_TIMEOUT_MS + 1_000} (${CLOSE_TIMEOUT_MS} ms each + margin)`,
          met: closed && closeMs <= 2 * CLOSE_TIMEOUT_MS + 1_000,
        },
        note: closed ? 'handler, then store' : `NOT closed within ${5 * CLOSE_TIMEOUT_MS} ms: left behind`,
      },
    ];
  } finally {
    // A second close returns the first one's promise; after a failure it still releases the file.
    await withDeadline(closeAll(handler, store), 5 * CLOSE_TIMEOUT_MS).catch(() => false);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A port on 127.0.0.1 that nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port from the OS');
  return address.port;
}

/**
 * Node's gc() without restarting under --expose-gc: the flag is set at run
 * time, and a new context picks the function up. A baseline taken after a
 * full collection makes the growth the flood's, not leftover warm-up garbage.
 */
function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** The sum of every ticket's occurrence count, read page by page through the store's API. */
async function countedOccurrences(store: TicketBackend): Promise<{ sum: number; tickets: number }> {
  const tickets = await store.countTickets();
  let sum = 0;
  for (let offset = 0; offset < tickets; offset += 500) {
    const page = await store.getTickets({ orderBy: 'id', limit: 500, offset });
    for (const ticket of page) sum += ticket.occurrenceCount;
  }
  return { sum, tickets };
}

/** The handler does not close a backend passed in as an instance: the store is closed after it. */
async function closeAll(handler: TicketingHandler, store: TrackedStore): Promise<void> {
  await handler.close({ timeoutMs: CLOSE_TIMEOUT_MS });
  await store.close({ timeoutMs: CLOSE_TIMEOUT_MS });
}

/** True when `work` settled within `ms`; the timer never keeps the process alive. */
async function withDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms).unref();
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

const mb = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;
