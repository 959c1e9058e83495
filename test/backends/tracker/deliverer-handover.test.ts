/**
 * How a tracker's deliveries change hands (src/backends/tracker/outbox-deliverer.ts)
 * without an outbox row too many: the fleet flood case of the tracker suite
 * (tracker-fleet-cases.ts) bounds the outbox to two rows per problem, and
 * these cases force, in a set order, the two ways a third row came about.
 *
 * - A replica closing while its turn still ran: it gave the lease up and
 *   closed its store with the turn's entries still leased, so they stayed
 *   frozen under its name until their lease ran out, while the next holder
 *   froze the problems' pending rows and new batches started others.
 * - A holder that stalled past its lease (a long first request on a loaded
 *   machine): its successor leased the rows it had left together with the
 *   problems' pending rows, and gave each pending row back only when that
 *   problem's turn came; meanwhile new batches started others.
 *
 * The tracker is the memory tracker with `find` held until the test lets it
 * go, deaf to its abort signal (as a plugin may be); the stores are real: a
 * SQLite file that each party opens on its own, and one memory store.
 */

import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryBackend,
  MemoryTracker,
  SqlBackend,
  TrackedStore,
  type OccurrenceInput,
  type TicketStore,
  type TrackerCallOptions,
  type TrackerProblem,
} from '../../../src/index.js';
import { hash, occurrence } from '../../conformance/backend-suite.js';
import { until } from '../../conformance/fleet-replicas.js';
import { deliveries } from '../../conformance/outbox-postpone-cases.js';

/** The memory tracker, whose `find` can be held: it then answers only once let go, whatever its signal says. */
class HeldTracker extends MemoryTracker {
  finds = 0;
  private gate: { readonly passed: Promise<void>; readonly open: () => void } | undefined;

  hold(): void {
    let open!: () => void;
    const passed = new Promise<void>((resolve) => (open = resolve));
    this.gate = { passed, open };
  }

  letGo(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  override async find(problem: TrackerProblem, options?: TrackerCallOptions): Promise<string | undefined> {
    this.finds++;
    await this.gate?.passed;
    return super.find(problem, options);
  }
}

interface Place {
  /** What a TrackedStore is given: a URI (it opens and closes a store of its own) or the shared store. */
  readonly given: string | TicketStore;
  /** The test's own view of the same store. */
  readonly store: TicketStore;
}

const places: ReadonlyArray<[string, (t: ExecutionContext) => Promise<Place>]> = [
  [
    'SQLite',
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'logtickets-handover-'));
      const uri = `sqlite:${join(dir, 'store.db')}`;
      const store = new SqlBackend(uri);
      await store.open();
      t.teardown(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return { given: uri, store };
    },
  ],
  [
    'memory',
    async () => {
      const store = new MemoryBackend();
      return { given: store, store };
    },
  ],
];

function replica(t: ExecutionContext, given: string | TicketStore, tracker: MemoryTracker): TrackedStore {
  const backend = new TrackedStore({
    store: given,
    trackers: [tracker],
    // Long: no lease runs out unless a case makes it.
    leaseMs: 60_000,
    pollIntervalMs: 20,
    commentIntervalMs: 0,
    syncIntervalMs: 0,
    onError: (e) => t.log(`delivery: ${e.code}: ${e.message}`),
  });
  t.teardown(() => backend.close({ timeoutMs: 0 }));
  return backend;
}

const batchOf = (...problems: string[]): OccurrenceInput[] => problems.map((h) => occurrence({ hash: h }));

for (const [label, place] of places) {
  test(`${label}: a replica closing while its request hangs hands its rows back before it gives the lease up`, async (t) => {
    const { given, store } = await place(t);
    const tracker = new HeldTracker();
    tracker.hold();
    t.teardown(() => tracker.letGo());
    const closing = replica(t, given, tracker);
    const problem = hash();
    await closing.recordBatch(batchOf(problem));
    await until(() => tracker.finds >= 1, 'the delivery asked the tracker');
    // Its request is aborted at the deadline, and ignores it.
    await closing.close({ timeoutMs: 300 });

    t.is(await store.getTrackerLease(tracker.name), null, 'the lease was given up');
    // Handed back unsent: due now for whoever delivers next, with no delivery id to look for.
    const next = await store.leaseOutbox(tracker.name, 'next', 10, 60_000);
    t.like(next, [{ hash: problem, attempted: false, state: 'frozen' }]);
    t.is(next.length, 1);
    await store.recordBatch(batchOf(problem), { outbox: deliveries(tracker.name, batchOf(problem)) });
    t.is(await store.countOutbox(tracker.name), 2, 'one frozen row, one pending row');
  });

  test(`${label}: the successor of a holder that stalled delivers its rows first; no problem gets a third row`, async (t) => {
    const { given, store } = await place(t);
    const tracker = new HeldTracker();
    const problems = [hash(), hash()];
    const record = () =>
      store.recordBatch(batchOf(...problems), { outbox: deliveries(tracker.name, batchOf(...problems)) });
    await record();
    // A holder that leased both rows, then stalled past its leases (tracker's and rows').
    t.true(await store.acquireTrackerLease(tracker.name, 'stalled', 50));
    t.is((await store.leaseOutbox(tracker.name, 'stalled', 10, 50)).length, 2);
    const stalledUntil = Date.now() + 50;
    await record();
    t.is(await store.countOutbox(tracker.name), 4, 'a frozen and a pending row per problem');
    await until(() => Date.now() > stalledUntil + 5, 'the stalled leases ran out');

    // The successor takes over: its first delivery holds in the tracker.
    tracker.hold();
    t.teardown(() => tracker.letGo());
    const successor = replica(t, given, tracker);
    await successor.recordBatch(batchOf(...problems));
    await until(() => tracker.finds >= 1, 'the successor asked the tracker');
    t.not((await store.getTrackerLease(tracker.name))?.owner, 'stalled', 'the lease changed hands');
    // Occurrences keep coming while it waits on the tracker.
    await record();
    await record();
    t.is(await store.countOutbox(tracker.name), 4, 'still a frozen and a pending row per problem');
  });
}
