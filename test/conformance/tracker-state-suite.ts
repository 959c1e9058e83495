/**
 * The conformance suite of the per-tracker state every store keeps
 * (src/backends/tracker-state.ts): the deliverer's lease, fenced state
 * changes, and the write budget as sliding windows, with injected clocks,
 * and with several OS processes competing for one lease and one budget.
 */

import type { ExecutionContext, TestFn } from 'ava';
import { LogticketsError } from '../../src/errors.js';
import { isTicketStore } from '../../src/backends/contract.js';
import { isTrackerStateStore } from '../../src/backends/tracker-state.js';
import { compete, withTrackerStore, type TrackerFactory } from './tracker-subject.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function trackerStateSuite(test: TestFn, factory: TrackerFactory): void {
  const withStore = withTrackerStore(factory);

  test(
    'tracker lease: taken when free, renewed by its holder, taken over only once expired',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const other = s.another();
      await other.open();
      t.true(isTicketStore(store) && isTrackerStateStore(store));
      t.is(await store.getTrackerLease('gh'), null, 'nobody holds a lease never taken');
      t.true(await store.acquireTrackerLease('gh', 'a', 15_000));
      t.deepEqual(await other.getTrackerLease('gh'), { owner: 'a', until: clock.at(15_000) });
      t.false(await other.acquireTrackerLease('gh', 'b', 15_000), 'held by a');
      t.true(await store.acquireTrackerLease('other-tracker', 'b', 15_000), 'leases are per tracker');

      clock.ms += 10_000;
      t.true(await store.acquireTrackerLease('gh', 'a', 15_000), 'renewed');
      t.deepEqual(await store.getTrackerLease('gh'), { owner: 'a', until: clock.at(15_000) });
      clock.ms += 14_999;
      t.false(await other.acquireTrackerLease('gh', 'b', 15_000), 'not expired a millisecond before');
      clock.ms += 1;
      t.true(await other.acquireTrackerLease('gh', 'b', 15_000), 'taken over when it expires');
      t.false(await store.acquireTrackerLease('gh', 'a', 15_000), 'the old holder lost it');
      t.false(await store.updateTrackerState('gh', 'a', { failures: 1 }), 'and is fenced');

      await store.releaseTrackerLease('gh', 'a');
      t.like(await store.getTrackerLease('gh'), { owner: 'b' }, 'only the holder releases');
      await other.releaseTrackerLease('gh', 'b');
      t.is(await store.getTrackerLease('gh'), null);
      t.true(await store.acquireTrackerLease('gh', 'a', 15_000), 'free again after a release');
      await t.throwsAsync(store.acquireTrackerLease('gh', 'a', 0), { instanceOf: LogticketsError });
    }),
  );

  test(
    'tracker state: defaults, changed only by the holder of an unexpired lease',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const defaults = { tracker: 'trac', pausedUntil: null, failures: 0, reason: null, cursor: null };
      t.deepEqual(await store.getTrackerState('trac'), defaults);
      t.false(await store.updateTrackerState('trac', 'a', { failures: 1 }), 'no lease at all');
      t.deepEqual(await store.getTrackerState('trac'), defaults, 'nothing written');

      t.true(await store.acquireTrackerLease('trac', 'a', 30_000));
      t.true(
        await store.updateTrackerState('trac', 'a', {
          pausedUntil: clock.at(90_000),
          failures: 2,
          reason: 'HTTP 429: retry-after 90',
          cursor: '2025-03-01T09:00:00Z',
        }),
      );
      t.true(await store.updateTrackerState('trac', 'a', { failures: 3 }), 'a partial change');
      const paused = {
        tracker: 'trac',
        pausedUntil: clock.at(90_000),
        failures: 3,
        reason: 'HTTP 429: retry-after 90',
        cursor: '2025-03-01T09:00:00Z',
      };
      t.deepEqual(await store.getTrackerState('trac'), paused, 'the other fields are kept');
      t.deepEqual(await s.reader().getTrackerState('trac'), s.child === undefined ? defaults : paused);
      t.false(await store.updateTrackerState('trac', 'b', { failures: 0 }), 'not the holder');

      clock.ms += 30_000;
      t.false(await store.updateTrackerState('trac', 'a', { failures: 0 }), 'a lease that ran out fences its holder');
      t.deepEqual(await store.getTrackerState('trac'), paused, 'nothing changed');
      t.true(await store.acquireTrackerLease('trac', 'b', 30_000));
      t.true(await store.updateTrackerState('trac', 'b', { pausedUntil: null, failures: 0, reason: null }));
      t.deepEqual(await store.getTrackerState('trac'), { ...defaults, cursor: paused.cursor });
    }),
  );

  test(
    'write budget: 80 a minute, the 81st waits for the first to leave the window',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const windows = [
        { writes: 80, perMs: MINUTE },
        { writes: 500, perMs: HOUR },
      ];
      t.true(await store.acquireTrackerLease('gh', 'a', DAY));
      const start = clock.ms;
      for (let i = 0; i < 80; i++) {
        t.deepEqual(await store.takeTrackerWrite('gh', 'a', windows), { granted: true }, `write ${i + 1}`);
        clock.ms += 100;
      }
      const firstLeaves = new Date(start + MINUTE).toISOString();
      t.deepEqual(await store.takeTrackerWrite('gh', 'a', windows), { granted: false, notBefore: firstLeaves });
      clock.ms = start + MINUTE - 1;
      t.deepEqual(await store.takeTrackerWrite('gh', 'a', windows), { granted: false, notBefore: firstLeaves });
      clock.ms = start + MINUTE;
      t.deepEqual(await store.takeTrackerWrite('gh', 'a', windows), { granted: true }, 'the first write left');
      t.deepEqual(
        await store.takeTrackerWrite('gh', 'a', windows),
        { granted: false, notBefore: new Date(start + 100 + MINUTE).toISOString() },
        'sliding: the second write leaves 100 ms later',
      );
    }),
  );

  test(
    'write budget: sliding windows, not fixed buckets, and every window counts',
    withStore(async (s, clock, t) => {
      const store = s.store;
      t.true(await store.acquireTrackerLease('gh', 'a', DAY));
      // 80 writes in the last second of a minute: the next minute has no room until they leave.
      clock.ms += 59_000;
      const burst = clock.ms;
      for (let i = 0; i < 80; i++)
        t.true((await store.takeTrackerWrite('gh', 'a', [{ writes: 80, perMs: MINUTE }])).granted);
      clock.ms += 2_000;
      t.deepEqual(await store.takeTrackerWrite('gh', 'a', [{ writes: 80, perMs: MINUTE }]), {
        granted: false,
        notBefore: new Date(burst + MINUTE).toISOString(),
      });

      const windows = [
        { writes: 3, perMs: 1_000 },
        { writes: 5, perMs: 10_000 },
      ];
      const base = clock.ms;
      for (const offset of [0, 100, 200]) {
        clock.ms = base + offset;
        t.true((await store.takeTrackerWrite('gh2', 'a', windows)).granted === false, 'no lease on gh2');
      }
      t.true(await store.acquireTrackerLease('gh2', 'a', DAY));
      const take = async (offset: number) => {
        clock.ms = base + offset;
        return store.takeTrackerWrite('gh2', 'a', windows);
      };
      for (const offset of [0, 100, 200]) t.deepEqual(await take(offset), { granted: true });
      t.deepEqual(await take(300), { granted: false, notBefore: new Date(base + 1_000).toISOString() });
      t.deepEqual(await take(1_000), { granted: true });
      t.deepEqual(await take(1_100), { granted: true });
      t.deepEqual(
        await take(1_200),
        { granted: false, notBefore: new Date(base + 10_000).toISOString() },
        'the short window has room, the long one is full',
      );
      t.deepEqual(await take(10_000), { granted: true });
      // Long after: every old write was forgotten, a full window of writes fits again.
      clock.ms = base + DAY - 1;
      t.true(await store.acquireTrackerLease('gh2', 'a', DAY));
      for (let i = 0; i < 3; i++) t.true((await store.takeTrackerWrite('gh2', 'a', windows)).granted);
    }),
  );

  test(
    'write budget: refused and not recorded without the lease',
    withStore(async (s, clock, t) => {
      const store = s.store;
      const one = [{ writes: 1, perMs: HOUR }];
      t.true(await store.acquireTrackerLease('gh', 'a', 10_000));
      t.deepEqual(await store.takeTrackerWrite('gh', 'b', one), { granted: false, notBefore: clock.at(10_000) });
      clock.ms += 10_000;
      t.deepEqual(
        await store.takeTrackerWrite('gh', 'a', one),
        { granted: false, notBefore: clock.at(0) },
        'an expired lease is no lease',
      );
      t.true(await store.acquireTrackerLease('gh', 'b', 10_000));
      t.deepEqual(await store.takeTrackerWrite('gh', 'b', one), { granted: true }, 'no refused take was counted');
      t.deepEqual(await store.takeTrackerWrite('gh', 'b', one), { granted: false, notBefore: clock.at(HOUR) });
      await t.throwsAsync(store.takeTrackerWrite('gh', 'b', [{ writes: 1, perMs: 0 }]), {
        instanceOf: LogticketsError,
      });
    }),
  );

  test(
    'a read-only store reads tracker state and refuses to change it',
    withStore(async (s, _clock, t) => {
      const reader = s.reader();
      t.teardown(() => reader.close());
      await reader.open();
      t.like(await reader.getTrackerState('gh'), { failures: 0, pausedUntil: null });
      t.is(await reader.getTrackerLease('gh'), null);
      for (const attempt of [
        reader.acquireTrackerLease('gh', 'a', 1_000),
        reader.updateTrackerState('gh', 'a', { failures: 1 }),
        reader.takeTrackerWrite('gh', 'a', [{ writes: 1, perMs: 1_000 }]),
        reader.releaseTrackerLease('gh', 'a'),
      ]) {
        const error = await t.throwsAsync(attempt, { instanceOf: LogticketsError });
        t.is(error?.code, 'READ_ONLY');
      }
    }),
  );

  // Serial: child processes are heavy to start; alone they do not starve the other tests' connections.
  test.serial(
    'processes competing for one lease: exactly one holder at a time',
    withStore(async (s, _clock, t) => {
      const rounds = 10;
      const results = await compete(s, 4, { job: 'lease', tracker: 'race', rounds });
      t.true(results.every((r) => r.acquired === rounds && r.fenced === 0));
      // Each holder read the cursor and wrote one more: two holders at once would have lost an update.
      t.is((await s.store.getTrackerState('race')).cursor, String(4 * rounds));
      t.is(await s.store.getTrackerLease('race'), null, 'every holder released it');
    }),
  );

  // Serial: child processes are heavy to start; alone they do not starve the other tests' connections.
  test.serial(
    'processes taking writes from one budget: never more than any window allows',
    withStore(async (s, clock, t) => {
      // Real time here (child processes have their own clocks); the windows are far longer than the test.
      clock.ms = Date.now();
      const windows = [
        { writes: 20, perMs: 10 * MINUTE },
        { writes: 50, perMs: HOUR },
      ];
      const owner = 'the-fleet-deliverer';
      t.true(await s.store.acquireTrackerLease('budget', owner, HOUR));
      const results = await compete(s, 4, { job: 'writes', tracker: 'budget', owner, tries: 12, windows });
      t.is(
        results.reduce((n, r) => n + r.granted!, 0),
        20,
        'exactly the short window’s budget of 48 tries',
      );
    }),
  );
}
