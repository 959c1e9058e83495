/**
 * Scenario (d): a Trac fleet through an outage. Four replicas of a service,
 * each its own OS process with a TicketingHandler over a TrackedStore on one
 * shared SQLite file, log a flood of 10,000 occurrences in all (2,500 each)
 * across the same 5 problems over 12 s, to the real Trac through a fault
 * proxy that cuts Trac off (connections refused) for 10 s of the flood.
 *
 * Figures: the attempts that reached the proxy while Trac was down, next to
 * the batches written meanwhile (one attempt each, had every batch been
 * retried on its own) — the target is one attempt per backoff step; the most
 * outbox rows seen at once (sampled every 20 ms from the bench process) —
 * the design keeps at most two per problem and tracker, one pending and one
 * in flight; the counts told to Trac next to the store's; and the time from
 * Trac's return until everything was delivered.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFaultProxy } from '../test/services/trac/fault-proxy.js';
import { startTrac, tracCall, type TracServer } from '../test/services/trac/trac-server.js';
import { deliveredBy, openShared, startFleet, type FleetJob } from './fleet.js';
import type { Figure } from './measure.js';
import { OutboxWatch } from './outbox-watch.js';
import { checkCounts, countsFigure, type TicketText } from './stated-counts.js';

const REPLICAS = 4;
const OCCURRENCES = 10_000;
const PROBLEMS = 5;
const WINDOW_MS = 3_000;
const FLOOD_MS = 12_000;
/** Trac is cut off from CUT_AT_MS into the flood, for CUT_MS. */
const CUT_AT_MS = 1_000;
const CUT_MS = 10_000;
/** The default backoff of a failing tracker: from 1 s, doubling (tracker-pause.ts). */
const BACKOFF_INITIAL_MS = 1_000;
const TIMEOUT_MS = 180_000;
const SCENARIO = 'Trac fleet, 10 s outage';

export async function tracFleet(): Promise<Figure[]> {
  const server = await startTrac();
  const proxy = await startFaultProxy(server.url);
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-trac-fleet-'));
  const uri = `sqlite:${join(dir, 'store.db')}`;
  const store = await openShared(uri);
  const job: FleetJob = {
    store: uri,
    tracker: { type: 'trac', url: proxy.url, username: server.username, password: server.password },
    problems: PROBLEMS,
    occurrences: OCCURRENCES / REPLICAS,
    floodMs: FLOOD_MS,
    commentIntervalMs: WINDOW_MS,
    pollIntervalMs: 200,
  };
  const fleet = startFleet(Array.from({ length: REPLICAS }, () => job));
  const watch = new OutboxWatch(store).start();
  try {
    await fleet.ready;
    fleet.go();
    await sleep(CUT_AT_MS);
    const cut = { from: Date.now(), to: 0, before: new Map(proxy.calls), during: new Map<string, number>() };
    proxy.mode = 'refuse';
    await sleep(CUT_MS);
    proxy.mode = 'pass';
    cut.to = Date.now();
    for (const [method, n] of proxy.calls) {
      const more = n - (cut.before.get(method) ?? 0);
      if (more > 0) cut.during.set(method, more);
    }
    const batchTimes = await fleet.written;
    const emptyAt = await watch.untilEmpty(TIMEOUT_MS);
    const reports = await fleet.close();
    await watch.stop();

    const attempts = [...cut.during.values()].reduce((a, b) => a + b, 0);
    const steps = Math.floor(Math.log2(CUT_MS / BACKOFF_INITIAL_MS)) + 2;
    const batchesInCut = batchTimes.filter((at) => at >= cut.from && at < cut.to).length;
    const rowsTarget = 2 * PROBLEMS;
    const counts = await checkCounts(store, (hash) => ticketsOf(server, hash));
    const afterReturn = (emptyAt ?? Date.now()) - cut.to;
    const errors = reports.reduce((n, r) => n + r.errors, 0);
    return [
      {
        scenario: SCENARIO,
        subject: 'batches written while Trac was down (a per-batch retry: one attempt each)',
        value: batchesInCut,
        unit: 'attempts',
        note: `${batchTimes.length} batches in all from ${REPLICAS} replicas`,
      },
      {
        scenario: SCENARIO,
        subject: `logtickets: requests reaching Trac's proxy during the ${CUT_MS / 1000} s cut`,
        value: attempts,
        unit: 'attempts',
        ratio: {
          value: attempts,
          label: 'attempts',
          target: `≤ ${steps}, one per backoff step (1 s doubling)`,
          met: attempts <= steps,
        },
        note: `${[...cut.during].map(([m, n]) => `${m} ${n}`).join(', ') || 'none'}; ${errors} delivery errors reported`,
      },
      {
        scenario: SCENARIO,
        subject: `outbox rows at peak (${PROBLEMS} problems, 1 tracker; sampled every 20 ms)`,
        value: watch.peak,
        unit: 'rows',
        ratio: {
          value: watch.peak,
          label: 'rows',
          target: `≤ ${rowsTarget} (2 × problems: pending + in flight)`,
          met: watch.peak <= rowsTarget,
        },
        note: `${watch.samples} samples; a row per batch and problem would have made up to ${batchTimes.length * PROBLEMS}`,
      },
      countsFigure(SCENARIO, 'occurrences told to Trac (descriptions and comments)', counts, 'Trac'),
      {
        scenario: SCENARIO,
        subject: `time until all ${OCCURRENCES.toLocaleString('en-US')} delivered after Trac came back`,
        value: afterReturn / 1000,
        unit: 's',
        note: `${emptyAt === undefined ? 'NOT all delivered; ' : ''}the backoff step under way ends first; flood ended ${(FLOOD_MS - CUT_AT_MS - CUT_MS) / 1000} s after, ${WINDOW_MS / 1000} s comment window; ${proxy.totalCalls()} calls in all; ${deliveredBy(reports)}`,
      },
    ];
  } finally {
    fleet.kill();
    await watch.stop();
    await store.close();
    await proxy.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

type TracGet = [number, Date, Date, Record<string, string>];
type ChangeLog = Array<[Date, string, string, string, string, number]>;

/** Every Trac ticket carrying the fingerprint, as Trac shows it (asked directly, not through the proxy). */
async function ticketsOf(server: TracServer, hash: string): Promise<TicketText[]> {
  const ids = (await tracCall(server, 'ticket.query', [`logtickets_hash=${hash}&max=0`])) as number[];
  return Promise.all(
    ids.map(async (id) => {
      const [, , , attrs] = (await tracCall(server, 'ticket.get', [id])) as TracGet;
      const log = (await tracCall(server, 'ticket.changeLog', [id])) as ChangeLog;
      return {
        description: attrs.description ?? '',
        comments: log.filter(([, , field, , text]) => field === 'comment' && text !== '').map(([, , , , text]) => text),
      };
    }),
  );
}
