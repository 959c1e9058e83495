/**
 * The conformance suite of the bounded outbox (src/backends/contract.ts,
 * OutboxEntry): one pending row per (tracker, problem) that new deliveries
 * merge into, frozen with a delivery id when leased (kept across retries and
 * expired leases, withdrawn by a postpone, which makes the row pending again:
 * outbox-postpone-cases.ts), the problem's pending row waiting while it has
 * such a row; leases of what is due by a given time; and under a flood from
 * several OS processes, at most one pending row and an exact total count.
 */

import type { TestFn } from 'ava';
import { deliveryIdTime } from '../../src/backends/delivery-id.js';
import { asSummary, MAX_MESSAGES } from '../../src/backends/outbox-summary.js';
import { LogticketsError } from '../../src/errors.js';
import { hash, occurrence } from './backend-suite.js';
import { countOf, deliveries, outboxPostponeCases, UUID_V7 } from './outbox-postpone-cases.js';
import { compete, withTrackerStore, type TrackerFactory } from './tracker-subject.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function outboxMergeSuite(test: TestFn, factory: TrackerFactory): void {
  const withStore = withTrackerStore(factory);
  outboxPostponeCases(test, factory);

  test(
    'outbox: new deliveries of a problem merge into its one pending row',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const h = hash();
      const at = (second: number) => new Date(Date.UTC(2025, 2, 1, 9, 0, second)).toISOString();
      await store.recordBatch([occurrence({ hash: h, time: at(10), title: 'a', data: { n: 1 } })], {
        outbox: deliveries('gh', [occurrence({ hash: h, time: at(10), title: 'a', data: { n: 1 } })]),
      });
      await store.enqueueOutbox(
        deliveries('gh', [
          occurrence({ hash: h, time: at(5), title: 'b', data: { n: 2 } }),
          occurrence({ hash: h, time: at(20), title: 'a', data: { n: 3 }, count: 3 }),
        ]),
      );
      // Another problem and another tracker have rows of their own.
      await store.enqueueOutbox([
        ...deliveries('gh', [occurrence({ hash: hash() })]),
        ...deliveries('trac', [occurrence({ hash: h })]),
      ]);
      t.is(await store.countOutbox('gh'), 2);
      t.is(await store.countOutbox('trac'), 1);
      clock.ms += 1_000;
      const leased = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      const mine = leased.find((e) => e.hash === h)!;
      t.like(mine, { state: 'frozen', attempts: 0, appId: 'app', tracker: 'gh' });
      const summary = asSummary(mine.payload);
      t.like(summary, { count: 5, first: at(5), last: at(20), otherMessages: 0, latestRecord: { n: 3 } });
      t.deepEqual([...summary.messages].sort(), [
        ['a', 4],
        ['b', 1],
      ]);
      t.regex(mine.deliveryId ?? '', UUID);
      t.false(mine.attempted);
    }),
  );

  test(
    'outbox: a lease freezes rows; later occurrences start a new pending row; a retry keeps the delivery id',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const other = s.another();
      await other.open();
      const h = hash();
      const one = deliveries('gh', [occurrence({ hash: h })]);
      await store.enqueueOutbox(one);
      await store.enqueueOutbox(one);
      const [frozen] = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      t.like(frozen, { state: 'frozen', attempts: 0, attempted: false });
      t.is(countOf(frozen!.payload), 2);
      const deliveryId = frozen!.deliveryId!;
      t.regex(deliveryId, UUID);

      // Written after the lease: not into the frozen row.
      await other.recordBatch([occurrence({ hash: h })], { outbox: one });
      await other.enqueueOutbox(one);
      t.is(await store.countOutbox('gh'), 2, 'one frozen, one pending: at most two rows per problem');

      await store.retryOutbox(frozen!.id, 'p1', clock.at(0), 'HTTP 502');
      clock.ms += 1;
      // Maybe sent: it goes first, alone; the pending row waits for it.
      const [retried, ...rest] = await other.leaseOutbox('gh', 'p2', 10, 60_000);
      t.deepEqual(rest, [], 'the pending row waits while its problem has a frozen row');
      t.like(retried, { id: frozen!.id, deliveryId, attempts: 1, lastError: 'HTTP 502', attempted: true });
      t.deepEqual(retried!.payload, frozen!.payload, 'a frozen row never changes');
      await other.completeOutbox([retried!.id], 'p2');
      const [fresh] = await other.leaseOutbox('gh', 'p2', 10, 60_000);
      t.is(countOf(fresh!.payload), 2);
      t.false(fresh!.attempted);
      t.regex(fresh!.deliveryId ?? '', UUID);
      t.not(fresh!.deliveryId, deliveryId);

      // Postponed (a comment window): nothing was sent, so the next lease gives a new id.
      await other.postponeOutbox([fresh!.id], 'p2', clock.at(0));
      clock.ms += 1;
      const [postponed] = await store.leaseOutbox('gh', 'p3', 1, 60_000);
      t.like(postponed, { id: fresh!.id, attempts: 0, state: 'frozen', attempted: false });
      t.regex(postponed!.deliveryId ?? '', UUID);
      t.not(postponed!.deliveryId, fresh!.deliveryId);
      t.deepEqual(postponed!.payload, fresh!.payload);
      await store.enqueueOutbox(one);
      t.is(await store.countOutbox('gh'), 2, 'the frozen row of this lease, one pending');
      t.deepEqual(await other.leaseOutbox('gh', 'p4', 10, 60_000), [], 'nothing due: the frozen row is held');
      await store.completeOutbox([postponed!.id], 'p3');
      t.is(await store.countOutbox('gh'), 1);
      t.like(await other.leaseOutbox('gh', 'p4', 10, 60_000), [{ attempted: false }]);
    }),
  );

  test(
    'outbox: delivery ids are UUID v7 stamped with the store clock when a lease gives them',
    withStore(async (s, clock, t) => {
      const store = s.store;
      await store.enqueueOutbox([
        { tracker: 'gh', appId: 'app', hash: hash(), payload: { n: 1 } },
        { tracker: 'gh', appId: 'app', hash: hash(), payload: { n: 2 } },
      ]);
      clock.ms += 1_234;
      const first = clock.now();
      const leased = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      t.is(leased.length, 2);
      for (const entry of leased) {
        t.regex(entry.deliveryId ?? '', UUID_V7);
        t.deepEqual(deliveryIdTime(entry.deliveryId!), first, 'stamped with the lease time');
        t.false(entry.attempted);
      }
      t.not(leased[0]!.deliveryId, leased[1]!.deliveryId, 'ids of the same moment differ');

      // A retry keeps the id and its time; a postpone gives a new id of the next lease's time.
      const [kept, given] = leased;
      await store.retryOutbox(kept!.id, 'p1', clock.at(0), 'HTTP 500');
      await store.postponeOutbox([given!.id], 'p1', clock.at(0));
      clock.ms += 60_000;
      const again = await store.leaseOutbox('gh', 'p2', 10, 60_000);
      const retried = again.find((e) => e.id === kept!.id)!;
      t.like(retried, { deliveryId: kept!.deliveryId, attempted: true, attempts: 1 });
      t.deepEqual(deliveryIdTime(retried.deliveryId!), first);
      const renewed = again.find((e) => e.id === given!.id)!;
      t.like(renewed, { attempted: false, attempts: 0, state: 'frozen' });
      t.regex(renewed.deliveryId ?? '', UUID_V7);
      t.deepEqual(deliveryIdTime(renewed.deliveryId!), clock.now());
    }),
  );

  test(
    'outbox: a lease that ran out keeps its delivery id, and the next lease is attempted',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const other = s.another();
      await other.open();
      await store.enqueueOutbox([{ tracker: 'gh', appId: 'app', hash: hash(), payload: { n: 1 } }]);
      const [first] = await store.leaseOutbox('gh', 'crashed', 10, 1_000);
      t.false(first!.attempted);
      clock.ms += 999;
      t.deepEqual(await other.leaseOutbox('gh', 'survivor', 10, 60_000), [], 'the lease is still live');
      clock.ms += 2;
      const [taken] = await other.leaseOutbox('gh', 'survivor', 10, 60_000);
      t.like(taken, { id: first!.id, deliveryId: first!.deliveryId, attempted: true, attempts: 0, state: 'frozen' });
      await store.completeOutbox([first!.id], 'crashed');
      t.is(await store.countOutbox('gh'), 1, 'the owner whose lease ran out no longer completes it');
      await other.completeOutbox([taken!.id], 'survivor');
      t.is(await store.countOutbox('gh'), 0);
    }),
  );

  test(
    'outbox: dueBy leases what is due by then; a live lease still holds',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const [soon, late, held] = [hash(), hash(), hash()];
      await store.enqueueOutbox(
        [soon, late, held].map((h, n) => ({ tracker: 'gh', appId: 'app', hash: h, payload: { n } })),
      );
      const leased = await store.leaseOutbox('gh', 'p1', 10, 60_000);
      const idOf = (h: string) => leased.find((e) => e.hash === h)!.id;
      await store.postponeOutbox([idOf(soon)], 'p1', clock.at(60_000));
      await store.postponeOutbox([idOf(late)], 'p1', clock.at(60_001));
      // `held` stays leased by p1 until a minute from now.
      const dueBy = new Date(clock.ms + 60_000).toISOString().replace('Z', '+00:00');
      t.deepEqual(await store.leaseOutbox('gh', 'p2', 10, 60_000), [], 'nothing is due now');
      const early = await store.leaseOutbox('gh', 'p2', 10, 60_000, { dueBy });
      t.deepEqual(
        early.map((e) => [e.hash, e.attempted]),
        [[soon, false]],
        'due by then (inclusive); not one due a millisecond later, nor one a live owner holds',
      );
      t.deepEqual(deliveryIdTime(early[0]!.deliveryId!), clock.now(), 'stamped with now, not dueBy');
      // An earlier dueBy than now leases less than now would.
      await store.postponeOutbox([idOf(soon)], 'p2', clock.at(0));
      t.deepEqual(await store.leaseOutbox('gh', 'p3', 10, 60_000, { dueBy: clock.at(-1) }), []);
      t.is((await store.leaseOutbox('gh', 'p3', 10, 60_000, {})).length, 1, 'empty options: due now');

      for (const bad of ['tomorrow', '2025-13-01T00:00:00Z', '2025-03-01 10:00', '']) {
        const error = await t.throwsAsync(store.leaseOutbox('gh', 'p4', 10, 60_000, { dueBy: bad }), {
          instanceOf: LogticketsError,
        });
        t.is(error?.code, 'INVALID_ARGUMENT');
        t.regex(error?.message ?? '', /dueBy/);
      }
      const wrongType = { dueBy: 5 } as unknown as { dueBy: string };
      const error = await t.throwsAsync(store.leaseOutbox('gh', 'p4', 10, 60_000, wrongType));
      t.regex(error?.message ?? '', /dueBy/);
    }),
  );

  test(
    'outbox: messages stay capped and counted when many batches merge',
    withStore(async (s, _clock, t) => {
      const store = s.store;
      const h = hash();
      for (let i = 0; i < 3 * MAX_MESSAGES; i++) {
        await store.enqueueOutbox(deliveries('gh', [occurrence({ hash: h, title: `message ${i}`, count: i + 1 })]));
      }
      const [entry] = await store.leaseOutbox('gh', 'p', 10, 60_000);
      const summary = asSummary(entry!.payload);
      const total = (3 * MAX_MESSAGES * (3 * MAX_MESSAGES + 1)) / 2;
      t.is(summary.count, total);
      t.is(summary.messages.length, MAX_MESSAGES);
      t.is(summary.messages.reduce((n, [, c]) => n + c, 0) + summary.otherMessages, total);
    }),
  );

  test(
    'outbox: a payload that is not a summary is replaced by the newer one',
    withStore(async (s, _clock, t) => {
      const h = hash();
      await s.store.enqueueOutbox([{ tracker: 'x', appId: 'app', hash: h, payload: { v: 1 } }]);
      await s.store.enqueueOutbox([{ tracker: 'x', appId: 'app', hash: h, payload: { v: 2 } }]);
      const leased = await s.store.leaseOutbox('x', 'p', 10, 60_000);
      t.deepEqual(
        leased.map((e) => e.payload),
        [{ v: 2 }],
      );
    }),
  );

  // Serial: child processes are heavy to start; alone they do not starve the other tests' connections.
  test.serial(
    'outbox flood: 1 000 batches of one problem from 4 processes leave one pending row and the exact count',
    withStore(async (s, clock, t) => {
      clock.ms = Date.now();
      const h = hash();
      const tracker = 'flood';
      const flood = compete(s, 4, { job: 'flood', tracker, hash: h, batches: 250 });
      let done = false;
      flood.then(
        () => (done = true),
        () => (done = true),
      );
      let delivered = 0;
      let leases = 0;
      const ids = new Set<string>();
      // A deliverer at work meanwhile: everything it leased is completed before it leases again,
      // so whatever it finds is pending, and there may only ever be one such row.
      for (;;) {
        const finished = done;
        clock.ms = Date.now();
        const leased = await s.store.leaseOutbox(tracker, 'deliverer', 10, 600_000);
        t.true(leased.length <= 1, `at most one pending row (found ${leased.length})`);
        for (const entry of leased) {
          delivered += countOf(entry.payload);
          ids.add(entry.deliveryId!);
          leases++;
        }
        await s.store.completeOutbox(
          leased.map((e) => e.id),
          'deliverer',
        );
        if (finished) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await flood;
      t.is(delivered, 1_000, 'every occurrence in exactly one delivery');
      t.is(ids.size, leases, 'each delivery has an id of its own');
      t.is(await s.store.countOutbox(tracker), 0);
      const [ticket] = await s.store.getTickets({ filter: { hash: h } });
      t.is(ticket?.occurrenceCount, 1_000);
    }),
  );
}
