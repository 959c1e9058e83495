/**
 * The bounded outbox under postpones (src/backends/contract.ts,
 * postponeOutbox): a postponed row (nothing was sent) is pending again
 * without a delivery id, or merges into its problem's pending row as the
 * older content, due at the later of the two times; a retried row (maybe
 * sent) stays frozen apart, and the problem's pending row waits for it (as
 * for a row in flight). Under a flood from several OS processes while a
 * deliverer keeps leasing and postponing, a problem keeps one row and the
 * exact count. Part of outboxMergeSuite.
 */

import type { TestFn } from 'ava';
import { groupByTicket } from '../../src/backends/batch.js';
import type { OccurrenceInput, OutboxEntryInput } from '../../src/backends/contract.js';
import { deliveryIdTime } from '../../src/backends/delivery-id.js';
import { asSummary, mergePayloads, summarize } from '../../src/backends/outbox-summary.js';
import type { JsonValue } from '../../src/logging/json-safe.js';
import { hash, occurrence } from './backend-suite.js';
import { compete, withTrackerStore, type TrackerFactory } from './tracker-subject.js';

// Version 7 (time-ordered), RFC 9562 variant.
export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The deliveries a tracker backend queues for a batch: one summary per problem. */
export function deliveries(tracker: string, batch: readonly OccurrenceInput[]): OutboxEntryInput[] {
  return groupByTicket(batch).map((delta) => ({
    tracker,
    appId: delta.appId,
    hash: delta.hash,
    payload: summarize(delta) as unknown as JsonValue,
  }));
}

export const countOf = (payload: JsonValue): number => asSummary(payload).count;

const at = (second: number) => new Date(Date.UTC(2025, 2, 1, 9, 0, second)).toISOString();

export function outboxPostponeCases(test: TestFn, factory: TrackerFactory): void {
  const withStore = withTrackerStore(factory);

  test('outbox: merging puts the older summary first, so a newer latest record wins a tie; counts add up', (t) => {
    const h = hash();
    const summary = (batch: OccurrenceInput[]) => summarize(groupByTicket(batch)[0]!) as unknown as JsonValue;
    const older = summary([
      occurrence({ hash: h, time: at(10), title: 'a', data: { n: 'first' } }),
      occurrence({ hash: h, time: at(20), title: 'a', data: { n: 'old' } }),
    ]);
    const newer = summary([
      occurrence({ hash: h, time: at(5), title: 'b', data: { n: 'earliest' } }),
      occurrence({ hash: h, time: at(20), title: 'b', data: { n: 'new' }, count: 3 }),
    ]);
    const merged = asSummary(mergePayloads(older, newer));
    t.like(merged, {
      count: 6,
      first: at(5),
      last: at(20),
      firstRecord: { n: 'earliest' },
      latestRecord: { n: 'new' },
    });
    t.deepEqual([...merged.messages].sort(), [
      ['a', 2],
      ['b', 4],
    ]);
    // The other way round the tie would go to the older record: the order matters.
    t.like(asSummary(mergePayloads(newer, older)), { count: 6, latestRecord: { n: 'old' } });
    // A strictly later record wins whatever the order.
    const latest = summary([occurrence({ hash: h, time: at(30), data: { n: 'latest' } })]);
    t.like(asSummary(mergePayloads(latest, older)), { count: 3, last: at(30), latestRecord: { n: 'latest' } });
    t.deepEqual(mergePayloads({ v: 1 }, { v: 2 }), { v: 2 }, 'anything else: the second replaces the first');
  });

  test(
    'outbox: a postponed row with no pending row of its problem is pending again, without an id, due then',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const h = hash();
      await store.enqueueOutbox(deliveries('gh', [occurrence({ hash: h, time: at(10), data: { n: 1 } })]));
      const [leased] = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      await store.postponeOutbox([leased!.id], 'p1', clock.at(30_000));
      t.is(await store.countOutbox('gh'), 1);
      // Pending: the next delivery of the problem merges into it instead of starting a row.
      await store.enqueueOutbox(deliveries('gh', [occurrence({ hash: h, time: at(20), data: { n: 2 }, count: 2 })]));
      t.is(await store.countOutbox('gh'), 1, 'merged into the postponed row');
      t.deepEqual(await store.leaseOutbox('gh', 'p2', 10, 60_000, { dueBy: clock.at(29_999) }), [], 'not due yet');

      clock.ms += 30_000;
      const [again] = await store.leaseOutbox('gh', 'p2', 10, 60_000);
      t.like(again, { id: leased!.id, attempts: 0, attempted: false, state: 'frozen', lastError: null });
      t.is(again!.availableAt, clock.at(0));
      t.like(asSummary(again!.payload), {
        count: 3,
        first: at(10),
        last: at(20),
        firstRecord: { n: 1 },
        latestRecord: { n: 2 },
      });
      t.regex(again!.deliveryId ?? '', UUID_V7);
      t.not(again!.deliveryId, leased!.deliveryId, 'the postponed id was withdrawn');
      t.deepEqual(deliveryIdTime(again!.deliveryId!), clock.now(), 'the new id is of this lease');
    }),
  );

  test(
    'outbox: a row postponed after a batch came in merges into the pending row: the sum, widened, due later',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const h = hash();
      await store.enqueueOutbox(
        deliveries('gh', [
          occurrence({ hash: h, time: at(10), title: 'a', data: { n: 'first' } }),
          occurrence({ hash: h, time: at(20), title: 'a', data: { n: 'old' } }),
        ]),
      );
      const [leased] = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      // A batch comes in while the deliverer holds the row: it starts a pending row.
      await store.enqueueOutbox(
        deliveries('gh', [
          occurrence({ hash: h, time: at(5), title: 'b', data: { n: 'earliest' } }),
          occurrence({ hash: h, time: at(20), title: 'b', data: { n: 'new' }, count: 3 }),
        ]),
      );
      t.is(await store.countOutbox('gh'), 2);
      clock.ms += 1_000;
      // The comment window is closed for a minute.
      await store.postponeOutbox([leased!.id], 'p1', clock.at(60_000));
      t.is(await store.countOutbox('gh'), 1, 'one pending row: the postponed one is gone');
      t.deepEqual(await store.leaseOutbox('gh', 'p2', 10, 60_000, { dueBy: clock.at(59_999) }), [], 'due later');

      clock.ms += 60_000;
      const [merged] = await store.leaseOutbox('gh', 'p2', 10, 60_000);
      t.not(merged!.id, leased!.id, 'the pending row stays, the postponed one merged into it');
      t.like(merged, { attempts: 0, attempted: false, state: 'frozen', availableAt: clock.at(0) });
      const summary = asSummary(merged!.payload);
      t.like(summary, {
        count: 6,
        first: at(5),
        last: at(20),
        otherMessages: 0,
        firstRecord: { n: 'earliest' },
        latestRecord: { n: 'new' },
      });
      t.deepEqual([...summary.messages].sort(), [
        ['a', 2],
        ['b', 4],
      ]);
    }),
  );

  test(
    'outbox: the pending row waits while its problem has a frozen row, held or retried; postponed, that row merges in',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const h = hash();
      const one = (n: number) => deliveries('gh', [occurrence({ hash: h, time: at(n), data: { n } })]);
      await store.enqueueOutbox(one(1));
      const [held] = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      for (const n of [2, 3]) {
        await store.enqueueOutbox(one(n));
        // Due, but its problem's frozen row is held (in flight): not even a lease for held digests takes it.
        t.deepEqual(await store.leaseOutbox('gh', 'p2', 10, 60_000, { dueBy: clock.at(3_600_000) }), []);
      }
      t.is(await store.countOutbox('gh'), 2, 'one frozen row and one pending row, whatever comes in');
      await store.postponeOutbox([held!.id], 'p1', clock.at(30_000));
      t.is(await store.countOutbox('gh'), 1, 'all in one row');
      clock.ms += 30_000;
      const [all] = await store.leaseOutbox('gh', 'p2', 10, 60_000);
      t.like(asSummary(all!.payload), {
        count: 3,
        first: at(1),
        last: at(3),
        firstRecord: { n: 1 },
        latestRecord: { n: 3 },
      });

      // Maybe sent: retried, due later. The pending row waits for it to go first, whenever that is.
      await store.enqueueOutbox(one(4));
      await store.retryOutbox(all!.id, 'p2', clock.at(60_000), 'HTTP 502');
      t.deepEqual(await store.leaseOutbox('gh', 'p3', 10, 60_000), [], 'the retried row is not due: nothing is');
      clock.ms += 60_000;
      const [retried, ...rest] = await store.leaseOutbox('gh', 'p3', 10, 60_000);
      t.like(retried, { id: all!.id, attempted: true, attempts: 1 });
      t.deepEqual(rest, []);
      // Looked for and not found: it merges into the pending row as the older content, due at the later time.
      await store.postponeOutbox([retried!.id], 'p3', clock.at(10_000));
      t.is(await store.countOutbox('gh'), 1);
      t.deepEqual(await store.leaseOutbox('gh', 'p4', 10, 60_000, { dueBy: clock.at(9_999) }), []);
      const [later] = await store.leaseOutbox('gh', 'p4', 10, 60_000, { dueBy: clock.at(10_000) });
      t.like(later, { attempted: false, availableAt: clock.at(10_000) });
      t.like(asSummary(later!.payload), { count: 4, first: at(1), last: at(4), latestRecord: { n: 4 } });
    }),
  );

  test(
    'outbox: a retried row stays frozen apart and goes first; the pending row takes what comes meanwhile',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const h = hash();
      const one = (n: number) => deliveries('gh', [occurrence({ hash: h, time: at(n), data: { n } })]);
      await store.enqueueOutbox(one(1));
      const [first] = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      // Maybe sent: kept frozen with its id.
      await store.retryOutbox(first!.id, 'p1', clock.at(0), 'HTTP 502');
      await store.enqueueOutbox(one(2));
      const [retried, ...rest] = await store.leaseOutbox('gh', 'p2', 10, 60_000);
      t.like(retried, { id: first!.id, attempted: true, attempts: 1 });
      t.deepEqual(rest, [], 'the pending row waits');
      await store.retryOutbox(retried!.id, 'p2', clock.at(0), 'HTTP 503');
      await store.enqueueOutbox(one(3));
      t.is(await store.countOutbox('gh'), 2, 'the retried row and one pending row');

      clock.ms += 1;
      const again = await store.leaseOutbox('gh', 'p3', 10, 60_000);
      t.is(again.length, 1);
      t.like(again[0], { id: first!.id, deliveryId: first!.deliveryId, attempted: true, attempts: 2 });
      t.like(again[0], { lastError: 'HTTP 503', state: 'frozen' });
      t.deepEqual(again[0]!.payload, first!.payload, 'the retried row never changes');
      // Found in the tracker: done. Then the pending row goes, with what came meanwhile.
      await store.completeOutbox([first!.id], 'p3');
      const [next] = await store.leaseOutbox('gh', 'p4', 10, 60_000);
      t.like(next, { attempted: false, attempts: 0 });
      t.like(asSummary(next!.payload), { count: 2, first: at(2), last: at(3), latestRecord: { n: 3 } });
      t.not(next!.deliveryId, first!.deliveryId);
    }),
  );

  test(
    'outbox: a postponed payload that is not a summary gives way to the pending one, or stays pending',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const h = hash();
      const row = (v: number) => [{ tracker: 'x', appId: 'app', hash: h, payload: { v } }];
      await store.enqueueOutbox(row(1));
      const [first] = await store.leaseOutbox('x', 'p', 10, 60_000);
      await store.enqueueOutbox(row(2));
      await store.postponeOutbox([first!.id], 'p', clock.at(0));
      const [merged] = await store.leaseOutbox('x', 'p', 10, 60_000);
      t.deepEqual(merged!.payload, { v: 2 });
      await store.postponeOutbox([merged!.id], 'p', clock.at(0));
      await store.enqueueOutbox(row(3));
      t.is(await store.countOutbox('x'), 1);
      const [replaced] = await store.leaseOutbox('x', 'p', 10, 60_000);
      t.like(replaced, { id: merged!.id, payload: { v: 3 } });
    }),
  );

  // Serial: child processes are heavy to start; alone they do not starve the other tests' connections.
  test.serial(
    'outbox flood with a deliverer that keeps postponing: 4 processes, 1 200 deliveries, one row, the exact count',
    withStore(async (s, clock, t) => {
      clock.ms = Date.now();
      const h = hash();
      const tracker = 'postponing';
      const job = { tracker, hash: h, batches: 300 };
      // Two processes record batches with their deliveries (under batch ids), two queue deliveries alone.
      const flood = Promise.all([compete(s, 2, { job: 'flood', ...job }), compete(s, 2, { job: 'enqueue', ...job })]);
      let done = false;
      flood.then(
        () => (done = true),
        () => (done = true),
      );
      let turns = 0;
      let mostLeased = 0;
      let mostRows = 0;
      for (;;) {
        const finished = done;
        clock.ms = Date.now();
        const leased = await s.store.leaseOutbox(tracker, 'deliverer', 10, 600_000);
        mostLeased = Math.max(mostLeased, leased.length);
        if (leased.length > 0) {
          turns++;
          // Not sent (a comment window), due again at once: the next turn leases it again.
          await s.store.postponeOutbox(
            leased.map((e) => e.id),
            'deliverer',
            clock.at(0),
          );
        }
        // Between turns the problem has one row, the pending one, however many batches came meanwhile.
        mostRows = Math.max(mostRows, await s.store.countOutbox(tracker));
        if (finished) break;
        // In one process (the memory store) the competitors run between our awaits: a timer would let them finish first.
        await (s.child === undefined ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, 5)));
      }
      await flood;
      t.is(mostLeased, 1, 'a lease never found more than the one pending row');
      t.is(mostRows, 1, 'never more than one row for the problem between turns');
      t.true(turns > 1, `the deliverer leased and postponed (${turns} turns)`);
      t.is(await s.store.countOutbox(tracker), 1);
      const [last] = await s.store.leaseOutbox(tracker, 'deliverer', 10, 600_000, { dueBy: clock.at(60_000) });
      t.is(countOf(last!.payload), 1_200, 'every delivery counted once: nothing lost, nothing twice');
      const [ticket] = await s.store.getTickets({ filter: { hash: h } });
      t.is(ticket?.occurrenceCount, 600);
    }),
  );
}
