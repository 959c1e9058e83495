/**
 * Tracker suite cases for what goes wrong between a store and a tracker, in
 * one process: answers lost after the write was made, a tracker that fails
 * (paused as a whole, for every deliverer of the store), and shutdown with a
 * tracker that does not answer or with digests held by comment windows.
 */

import { hash } from './backend-suite.js';
import { until } from './fleet-replicas.js';
import { statedCount, type Case } from './tracker-suite.js';

/** The store's count of a problem's occurrences. */
async function stored(w: Parameters<Case[1]>[1], problem: string): Promise<number> {
  const [ticket] = await w.store.getTickets({ filter: { hash: problem } });
  return ticket?.occurrenceCount ?? 0;
}

/** Resolves `promise`, or fails the test if it takes more than `ms` (a guard against a hang). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not return within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

export const faultCases: Case[] = [
  [
    'a create made but answered with an error is not made again: one ticket, counts exact',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      w.subject.loseAnswer('create');
      await w.deliver(backend, problem, 3);
      const ids = await w.subject.ticketsOf(problem);
      t.is(ids.length, 1, 'one ticket');
      const view = await w.subject.view(ids[0]!);
      t.is(view.comments.length, 0, 'no comment repeating what the description says');
      t.is(statedCount(view), 3);
      t.is(await stored(w, problem), 3);
      t.true(backend.deliveryCounts().failed >= 1, 'the lost answer was a failed attempt');
    },
  ],
  [
    'a comment made but answered with an error is not posted again',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      await w.deliver(backend, problem, 1);
      w.subject.loseAnswer('comment');
      await w.deliver(backend, problem, 4);
      await w.deliver(backend, problem, 2);
      const [id] = await w.subject.ticketsOf(problem);
      const view = await w.subject.view(id!);
      t.is(view.comments.length, 2, 'the comment whose answer was lost, and the next one');
      t.is(statedCount(view), 7);
      t.is(await stored(w, problem), 7);
    },
  ],
  [
    'a tracker that fails is paused as a whole, for every deliverer of the store; nothing is lost',
    async (t, w) => {
      const first = w.tracked({ retry: { initialMs: 600_000, maxMs: 600_000 } });
      w.subject.down(true);
      const problems = [hash(), hash(), hash()];
      await w.record(first, problems[0]!, 1);
      const name = first.trackers[0]!.name;
      await until(async () => (await w.store.getTrackerState(name)).failures > 0, 'the first attempt failed');
      t.false(await first.deliverPending({ timeoutMs: 300 }), 'paused: nothing goes');
      const attempts = w.subject.requests();
      t.true(attempts >= 1, 'one attempt was made');
      const state = await w.store.getTrackerState(name);
      t.is(state.failures, 1);
      t.true(state.pausedUntil! > new Date(Date.now() + 60_000).toISOString(), 'paused with its backoff');
      t.truthy(state.reason);
      // More batches, and another deliverer of the same store (another process): no attempt while paused.
      for (const problem of problems) await w.record(first, problem, 2);
      const second = w.tracked({ retry: { initialMs: 600_000, maxMs: 600_000 } });
      await w.record(second, problems[1]!, 1);
      t.false(await second.deliverPending({ timeoutMs: 300 }));
      t.false(await first.deliverPending({ timeoutMs: 300 }));
      t.is(w.subject.requests(), attempts, 'no request while the tracker is paused');
      t.true((await w.store.countOutbox(name)) <= problems.length * 2, 'at most two rows per problem wait');
      t.like(first.deliveryStats()[0], { tracker: name, pausedUntil: state.pausedUntil });
      // Back up: a person (or the backoff's end) lifts the pause, and everything is told once.
      w.subject.down(false);
      // Only the lease's holder may change the state; the lease may change hands meanwhile.
      await until(async () => {
        const lease = await w.store.getTrackerLease(name);
        return lease !== null && (await w.store.updateTrackerState(name, lease.owner, { pausedUntil: null }));
      }, 'the pause lifted');
      await until(async () => first.deliverPending({ timeoutMs: 500 }), 'delivery after the pause');
      for (const problem of problems) {
        const ids = await w.subject.ticketsOf(problem);
        t.is(ids.length, 1);
        t.is(statedCount(await w.subject.view(ids[0]!)), await stored(w, problem));
      }
    },
  ],
  [
    'close returns within its timeout while the tracker does not answer; the delivery is then told once',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      w.subject.holdAnswers();
      await w.record(backend, problem, 2);
      await until(() => w.subject.writes() >= 1, 'the create reached the tracker');
      const report = await within(backend.close({ timeoutMs: 1_000 }), 15_000, 'close({ timeoutMs: 1000 })');
      t.is(report.pending, 1, 'the delivery still waits, and close says so');
      w.subject.release();
      const next = w.tracked();
      t.true(await next.deliverPending({ timeoutMs: 30_000 }));
      const ids = await w.subject.ticketsOf(problem);
      t.is(ids.length, 1, 'one ticket');
      t.is(statedCount(await w.subject.view(ids[0]!)), 2);
    },
  ],
  [
    'a digest held by a comment window waits after close, and close({ deliverHeld }) sends it',
    async (t, w) => {
      const problem = hash();
      const hour = { commentIntervalMs: 3_600_000 };
      const first = w.tracked(hour);
      await w.deliver(first, problem, 1);
      await w.record(first, problem, 2);
      const report = await first.close({ timeoutMs: 500 });
      t.is(report.pending, 1, 'held by the window: one delivery waits');
      t.is(report.trackers[0]!.pending, 1);
      const [id] = await w.subject.ticketsOf(problem);
      t.is((await w.subject.view(id!)).comments.length, 0);
      const cron = w.tracked(hour);
      await cron.open();
      const sent = await cron.close({ timeoutMs: 10_000, deliverHeld: true });
      t.is(sent.pending, 0);
      const view = await w.subject.view(id!);
      t.is(view.comments.length, 1);
      t.is(statedCount(view), 3);
      t.is(await w.store.countOutbox(), 0);
    },
  ],
];
