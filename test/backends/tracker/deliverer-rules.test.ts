// The deliverer's rules that need no real tracker: what a failure pauses,
// how stats() stays current on every replica, how a person lifts a pause
// after fixing its cause, and the options a TrackedStore refuses.
import test from 'ava';
import { LogticketsError, MemoryBackend, MemoryTracker, TrackedStore } from '../../../src/index.js';
import { afterFailure } from '../../../src/backends/tracker/tracker-pause.js';
import { hash, occurrence } from '../../conformance/backend-suite.js';
import { until } from '../../conformance/fleet-replicas.js';

const now = new Date(Date.UTC(2026, 0, 1, 12));
const fault = (code: ConstructorParameters<typeof LogticketsError>[0], options = {}) =>
  new LogticketsError(code, 'it failed', options);

test('what a failure pauses: the whole tracker, unless one ticket content was refused', (t) => {
  const gone = afterFailure(fault('TRACKER_FAULT', { status: 404 }), { failures: 0, attempts: 0, now });
  t.like(gone, { scope: 'tracker', failures: 1 });
  t.true(
    gone.scope === 'tracker' && gone.pausedUntil.getTime() - now.getTime() >= 60_000,
    'a config problem waits a minute',
  );
  const content = afterFailure(fault('TRACKER_FAULT', { status: 422 }), { failures: 3, attempts: 0, now });
  t.is(content.scope, 'problem');
  const limited = afterFailure(fault('BACKEND_BUSY', { retryable: true, retryAt: '2026-01-01T12:00:30.000Z' }), {
    failures: 2,
    attempts: 0,
    now,
  });
  t.like(limited, { scope: 'tracker', failures: 3 });
  t.is(limited.scope === 'tracker' ? limited.pausedUntil.toISOString() : '', '2026-01-01T12:00:30.000Z');
  const slow = afterFailure(fault('TIMEOUT', { retryable: true }), {
    failures: 0,
    attempts: 0,
    now,
    retry: { initialMs: 10, maxMs: 10 },
  });
  t.true(slow.scope === 'tracker' && slow.pausedUntil.getTime() - now.getTime() >= 5_000, 'a timeout waits ≥ 5 s');
  const down = afterFailure(fault('BACKEND_UNAVAILABLE', { retryable: true }), {
    failures: 4,
    attempts: 0,
    now,
    retry: { initialMs: 1_000, maxMs: 600_000 },
  });
  // The fifth failure in a row: 16 s, jittered between half and all of it.
  t.true(down.scope === 'tracker' && down.pausedUntil.getTime() - now.getTime() >= 8_000);
  t.true(down.scope === 'tracker' && down.pausedUntil.getTime() - now.getTime() <= 16_000);
});

function fleetOf(store: MemoryBackend, tracker: MemoryTracker, retry = { initialMs: 600_000, maxMs: 600_000 }) {
  return new TrackedStore({
    store,
    trackers: [tracker],
    commentIntervalMs: 0,
    pollIntervalMs: 50,
    leaseMs: 1_000,
    retry,
    onError: () => undefined,
  });
}

test('every replica shows what waits and the pause; sync-like retryNow lifts a failure pause, not a rate limit', async (t) => {
  const store = new MemoryBackend();
  const tracker = new MemoryTracker();
  const a = fleetOf(store, tracker);
  const b = fleetOf(store, tracker);
  t.teardown(async () => {
    await a.close({ timeoutMs: 0 });
    await b.close({ timeoutMs: 0 });
  });
  await a.open();
  await b.open();
  tracker.down(true);
  await a.recordBatch([occurrence({ hash: hash() }), occurrence({ hash: hash() })]);
  const name = tracker.name;
  await until(async () => (await store.getTrackerState(name)).failures > 0, 'the attempt failed');
  // Both replicas, the holder and the other one, say two deliveries wait and the tracker is paused.
  await until(
    () => [a, b].every((x) => x.deliveryStats()[0]!.pending === 2 && x.deliveryStats()[0]!.pausedUntil !== null),
    'both replicas up to date',
  );
  t.is([a, b].filter((x) => x.deliveryStats()[0]!.delivering).length, 1, 'one of them delivers');
  tracker.down(false);
  t.false(await b.deliverPending({ timeoutMs: 200 }), 'paused for ten minutes: nothing goes');
  // A person fixed the cause and runs sync: the pause after failures is lifted.
  const holder = [a, b].find((x) => x.deliveryStats()[0]!.delivering)!;
  t.true(await holder.deliverPending({ timeoutMs: 10_000, retryNow: true }));
  t.is(tracker.list().length, 2);
  // A rate limit is another matter: the tracker said when, and that holds even for sync.
  const lease = (await store.getTrackerLease(name))!;
  const until1h = new Date(Date.now() + 3_600_000).toISOString();
  t.true(
    await store.updateTrackerState(name, lease.owner, { pausedUntil: until1h, reason: 'BACKEND_BUSY: rate limit' }),
  );
  await a.recordBatch([occurrence({ hash: hash() })]);
  t.false(await holder.deliverPending({ timeoutMs: 300, retryNow: true }));
  t.is(tracker.list().length, 2);
});

test('options a TrackedStore refuses, each named', async (t) => {
  const store = new MemoryBackend();
  const tracker = new MemoryTracker();
  const make = (over: object) => () => new TrackedStore({ store, trackers: [tracker], ...over });
  t.throws(make({ leaseMs: 1e12 }), { instanceOf: LogticketsError, message: /leaseMs must be at most 3600000/ });
  t.throws(make({ pollIntervalMs: 7_200_000 }), { message: /pollIntervalMs must be at most/ });
  t.throws(make({ retry: { intialMs: 5 } }), { message: /options\.retry\.intialMs is not an option/ });
  t.throws(make({ retry: { initialMs: -1 } }), { message: /retry\.initialMs must be an integer ≥ 1/ });
  t.throws(make({ trackers: [{ tracker, leaseMs: 1e12 }] }), { message: /trackers\[0\]\.leaseMs must be at most/ });
  const backend = fleetOf(store, tracker);
  await t.throwsAsync(backend.deliverPending({ timeout: 5 } as never), {
    message: /deliverPending options\.timeout is not an option/,
  });
  await t.throwsAsync(backend.deliverPending({ timeoutMs: 'abc' } as never), {
    message: /timeoutMs must be an integer/,
  });
  await t.throwsAsync(backend.close({ timeoutMs: -1 }), { message: /close options\.timeoutMs must be an integer ≥ 0/ });
  await t.throwsAsync(backend.close({ deliverHeld: 'yes' } as never), { message: /deliverHeld must be a boolean/ });
  await backend.close({ timeoutMs: 0 });
});
