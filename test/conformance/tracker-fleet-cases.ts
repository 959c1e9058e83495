/**
 * Tracker suite cases for a fleet: several OS processes (replicas of a
 * service, test/fixtures/fleet-replica.ts) share one SQLite store and one
 * tracker. One ticket per problem and exact counts whatever they do at once;
 * a replica killed mid-request is replaced by another taking its lease over,
 * and what it sent is told once; the write budget and a failing tracker's
 * pause hold for all of them and for `sync`; a flood while the tracker is
 * down leaves a bounded outbox and one attempt per backoff step.
 */

import type { ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlBackend, TrackedStore, type TicketStore, type TrackedStoreOptions } from '../../src/index.js';
import { hash } from './backend-suite.js';
import { runReplicas, startReplica, until, type ReplicaJob } from './fleet-replicas.js';
import { APP, statedCount, type Case, type World } from './tracker-suite.js';

export interface Fleet {
  readonly uri: string;
  readonly store: TicketStore;
  job(over: Partial<ReplicaJob> & Pick<ReplicaJob, 'problems' | 'then'>): ReplicaJob;
  /** A TrackedStore of this test process on the fleet's store (as `logtickets sync` opens it). */
  sync(over?: Partial<TrackedStoreOptions>): TrackedStore;
}

export async function fleet(t: ExecutionContext, w: World): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-fleet-'));
  const uri = `sqlite:${join(dir, 'fleet.db')}`;
  const store = new SqlBackend(uri);
  await store.open();
  const opened: TrackedStore[] = [];
  t.teardown(async () => {
    for (const b of opened) await b.close({ timeoutMs: 0 });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const replica = w.subject.replica!();
  return {
    uri,
    store,
    job: (over) => ({
      store: uri,
      tracker: replica,
      appId: APP,
      occurrences: 1,
      batches: 1,
      timeoutMs: 60_000,
      ...over,
    }),
    sync(over = {}) {
      const backend = new TrackedStore({
        store,
        trackers: [w.subject.tracker()],
        commentIntervalMs: 0,
        leaseMs: 1_000,
        pollIntervalMs: 100,
        syncIntervalMs: 0,
        retry: { initialMs: 100, maxMs: 1_000 },
        onError: (e) => t.log(`sync: ${e.code}: ${e.message}`),
        ...over,
      });
      opened.push(backend);
      return backend;
    },
  };
}

export async function counted(store: TicketStore, problem: string): Promise<number> {
  const [ticket] = await store.getTickets({ filter: { hash: problem } });
  return ticket?.occurrenceCount ?? 0;
}

/** Each problem has one ticket, whose text states the store's count. */
export async function toldOnce(t: ExecutionContext, w: World, store: TicketStore, problems: readonly string[]) {
  for (const problem of problems) {
    const ids = await w.subject.ticketsOf(problem);
    t.is(ids.length, 1, `one ticket for ${problem.slice(0, 8)}`);
    const stated = statedCount(await w.subject.view(ids[0]!));
    t.is(stated, await counted(store, problem), `the tracker states the store's count for ${problem.slice(0, 8)}`);
  }
}

export const fleetCases: Case[] = [
  [
    'three replicas logging the same problems at once: one ticket each, counts exact',
    async (t, w) => {
      const f = await fleet(t, w);
      const problems = [hash(), hash(), hash(), hash()];
      const results = await runReplicas(
        [0, 1, 2].map(() => f.job({ problems, occurrences: 5, batches: 5, then: 'deliver' })),
      );
      t.true(
        results.every((r) => r.delivered),
        'every replica saw the outbox emptied',
      );
      for (const problem of problems) t.is(await counted(f.store, problem), 15);
      await toldOnce(t, w, f.store, problems);
    },
  ],
  [
    'a replica killed mid-create: another takes its lease over and the tracker is told once',
    async (t, w) => {
      const f = await fleet(t, w);
      const problem = hash();
      w.subject.holdAnswers();
      const doomed = startReplica(f.job({ problems: [problem], occurrences: 3, then: 'stay' }));
      await until(() => w.subject.writes() >= 1, 'the create reached the tracker');
      const name = w.subject.tracker().name;
      const holder = (await f.store.getTrackerLease(name))!.owner;
      doomed.kill();
      await t.throwsAsync(doomed.result);
      w.subject.release();
      const [next] = await runReplicas([f.job({ problems: [problem], occurrences: 2, then: 'deliver' })]);
      t.true(next!.delivered);
      t.not((await f.store.getTrackerLease(name))?.owner, holder, 'the lease changed hands');
      t.is(await counted(f.store, problem), 5);
      await toldOnce(t, w, f.store, [problem]);
    },
  ],
  [
    'the write budget holds for the whole fleet and for sync',
    async (t, w) => {
      const f = await fleet(t, w);
      const writeBudget = [{ writes: 2, perMs: 3_600_000 }];
      const tracker = { ...w.subject.replica!(), writeBudget };
      const before = w.subject.writes();
      // Three replicas deliver what they can before closing; only the lease holder writes, within the budget.
      await runReplicas(
        [0, 1, 2].map(() => f.job({ tracker, problems: [hash(), hash()], then: 'close', timeoutMs: 3_000 })),
      );
      t.true(w.subject.writes() - before <= 2, `writes made by the fleet: ${w.subject.writes() - before}`);
      // `logtickets sync`, its tracker made from the same config (the same budget), again and again.
      const cli = f.sync({ trackers: [w.subject.tracker({ writeBudget })] });
      await until(async () => {
        t.false(await cli.deliverPending({ timeoutMs: 2_000, deliverHeld: true }), 'six problems, two writes');
        return w.subject.writes() - before >= 2;
      }, 'the budget used up');
      t.false(await cli.deliverPending({ timeoutMs: 1_000, deliverHeld: true }));
      t.is(w.subject.writes() - before, 2, 'the fleet and sync made exactly the two writes the budget allows');
      t.true((await f.store.countOutbox()) >= 4);
    },
  ],
  [
    'a failing tracker is paused for every replica and for sync',
    async (t, w) => {
      const f = await fleet(t, w);
      const retry = { initialMs: 600_000, maxMs: 600_000 };
      w.subject.down(true);
      // A replica whose delivery fails: it returns once it knows the pause outlasts its time.
      const [first] = await runReplicas([f.job({ problems: [hash()], then: 'deliver', timeoutMs: 60_000, retry })]);
      t.false(first!.delivered);
      const attempts = w.subject.requests();
      t.true(attempts >= 1);
      w.subject.down(false);
      const [second] = await runReplicas([f.job({ problems: [hash()], then: 'deliver', timeoutMs: 60_000, retry })]);
      t.false(second!.delivered, 'paused: the next replica waits too');
      const sync = f.sync({ retry });
      t.false(await sync.deliverPending({ timeoutMs: 500, deliverHeld: true }));
      t.is(w.subject.requests(), attempts, 'no request reached the tracker while it was paused');
      const state = await f.store.getTrackerState(w.subject.tracker().name);
      t.is(state.failures, 1);
      t.true(state.pausedUntil! > new Date().toISOString());
    },
  ],
  [
    'a flood from four replicas while the tracker is down: bounded outbox, one attempt per backoff step, counts exact after',
    async (t, w) => {
      const f = await fleet(t, w);
      const problems = [hash(), hash(), hash(), hash(), hash()];
      w.subject.down(true);
      const before = w.subject.requests();
      let peak = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peak = Math.max(peak, await f.store.countOutbox());
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      const retry = { initialMs: 500, maxMs: 500 };
      await runReplicas(
        [0, 1, 2, 3].map(() =>
          // A lease a loaded machine seldom lets lapse, for the count of attempts. The outbox bound holds through
          // takeovers too: a pending row waits while its problem has a frozen row (deliverer-handover.test.ts).
          f.job({ problems, occurrences: 100, batches: 100, then: 'deliver', timeoutMs: 1_000, retry, leaseMs: 5_000 }),
        ),
      );
      sampling = false;
      await sampler;
      const attempts = w.subject.requests() - before;
      t.true(peak <= problems.length * 2, `outbox rows at peak: ${peak}`);
      t.true(attempts >= 1 && attempts < 40, `attempts while down: ${attempts} (400 batches were written)`);
      w.subject.down(false);
      const sync = f.sync({ retry: { initialMs: 50, maxMs: 100 } });
      // Every replica gave its lease up when it closed: whoever delivers next takes it at once.
      t.is(await f.store.getTrackerLease(w.subject.tracker().name), null);
      await until(
        async () => sync.deliverPending({ timeoutMs: 2_000, deliverHeld: true }),
        'delivered after the flood',
      );
      for (const problem of problems) t.is(await counted(f.store, problem), 400);
      await toldOnce(t, w, f.store, problems);
    },
  ],
];
