/**
 * The conformance suite of the Tracker plugin contract
 * (src/backends/tracker/tracker.ts), run through a TrackedStore as an
 * application runs it: records are written into a store, deliveries go out
 * through the outbox, and the tracker is then looked at directly.
 *
 * Each tracker's test file calls `trackerSuite(test, harness)`. A harness
 * says how to reach its tracker (a real Trac, the GitHub stand-in, the
 * memory tracker), how to look at a ticket there, and how a person closes
 * one, how to make it fail as trackers do (an answer lost after the write
 * was made, no answer at all, down), and how another OS process reaches it.
 * The tests are grouped by concern: here the basics, in
 * tracker-fault-cases.ts lost answers, pauses and shutdown, and in
 * tracker-fleet-cases.ts several OS processes sharing one store.
 */

import type { ExecutionContext, TestFn } from 'ava';
import {
  MemoryBackend,
  TrackedStore,
  type TicketStore,
  type TrackedStoreOptions,
  type Tracker,
} from '../../src/index.js';
import { hash, occurrence } from './backend-suite.js';
import type { BudgetWindow } from '../../src/backends/tracker-state.js';
import type { ReplicaTracker } from './fleet-replicas.js';
import { faultCases } from './tracker-fault-cases.js';
import { fleetCases } from './tracker-fleet-cases.js';
import { stateCases } from './tracker-state-cases.js';
import { syncCases } from './tracker-sync-cases.js';
import { fleetSyncCases } from './tracker-fleet-sync-cases.js';

/** A ticket as the tracker shows it. */
export interface TrackerView {
  readonly state: 'open' | 'closed';
  readonly description: string;
  /** Every comment's text, oldest first (a person's included). */
  readonly comments: readonly string[];
}

/** One test's tracker. */
export interface TrackerSubject {
  /** A tracker object reaching this tracker: a new one each call where the tracker allows (another process). */
  tracker(options?: { readonly writeBudget?: readonly BudgetWindow[] }): Tracker;
  view(externalId: string): Promise<TrackerView>;
  /** Close the ticket as a person would: as solved, or as not to be fixed (wontfix, not planned). */
  close(externalId: string, as: 'solved' | 'muted'): Promise<void>;
  /** The external ids of every ticket carrying this fingerprint. */
  ticketsOf(hash: string): Promise<string[]>;
  /** The next write of this kind is made in the tracker, but its answer is lost (an error comes instead). */
  loseAnswer(kind: 'create' | 'comment'): void;
  /** Writes are made but never answered (as when the process is killed mid-request) until `release`. */
  holdAnswers(): void;
  release(): void;
  /** The tracker fails every request (down), or works again. */
  down(on: boolean): void;
  /** Write requests that reached the tracker so far (answered or not). */
  writes(): number;
  /** Requests of any kind that reached the tracker so far. */
  requests(): number;
  /** How another OS process reaches this tracker (fleet cases); absent for a tracker living in this process. */
  replica?(): ReplicaTracker;
  /** Checks made after each test (the GitHub stand-in: no request broke GitHub's API description). */
  verify?(t: ExecutionContext): void;
  cleanup?(): Promise<void>;
}

export interface TrackerHarness {
  start(t: ExecutionContext): Promise<TrackerSubject>;
}

/** The occurrences a ticket's text states: its description, then each of its comments. */
export function statedCount(view: TrackerView): number {
  const seen = /seen (\d+) times/.exec(view.description);
  let n = seen === null ? 1 : Number(seen[1]);
  for (const comment of view.comments) {
    const more = /(\d+) more occurrences/.exec(comment);
    if (more !== null) n += Number(more[1]);
    else if (/Occurred again/.test(comment)) n += 1;
  }
  return n;
}

export interface World {
  readonly subject: TrackerSubject;
  readonly store: TicketStore;
  /** A TrackedStore over the test's store with a tracker from the subject (closed after the test). */
  tracked(options?: Partial<Omit<TrackedStoreOptions, 'store' | 'trackers'>>): TrackedStore;
  /**
   * Write `count` occurrences of the problem, without waiting for their delivery; `regressionGraceMs`
   * as the store is told it (0: any occurrence after a solve is a regression).
   */
  record(backend: TrackedStore, problem: string, count: number, regressionGraceMs?: number): Promise<void>;
  /** Write `count` occurrences of the problem and deliver them; the problem's store ticket. */
  deliver(backend: TrackedStore, problem: string, count: number): Promise<void>;
  /** The problem's external id, from the store's link. */
  linked(backend: TrackedStore, problem: string): Promise<string>;
}

export type Case = readonly [title: string, run: (t: ExecutionContext, w: World) => Promise<void>];

export const APP = 'conformance';

const oneTicketPerProblem: Case[] = [
  [
    'one ticket per problem; later occurrences are comments stating exact counts',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      await w.deliver(backend, problem, 1);
      await w.deliver(backend, problem, 3);
      await w.deliver(backend, problem, 2);
      const ids = await w.subject.ticketsOf(problem);
      t.is(ids.length, 1, 'one ticket');
      const view = await w.subject.view(ids[0]!);
      t.is(view.state, 'open');
      t.is(view.comments.length, 2);
      t.is(statedCount(view), 6, 'the counts stated in the tracker add up');
      const [stored] = await backend.getTickets({ filter: { hash: problem } });
      t.is(stored!.occurrenceCount, 6, 'the store counted as many');
      const tracker = backend.trackers[0]!;
      t.like(await backend.links(stored!), [
        { tracker: tracker.name, externalId: ids[0]!, url: tracker.ticketUrl(ids[0]!), state: 'open' },
      ]);
    },
  ],
];

const closedTickets: Case[] = [
  [
    'a regression reopens a ticket closed as solved',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      await w.deliver(backend, problem, 2);
      const id = await w.linked(backend, problem);
      await w.subject.close(id, 'solved');
      t.is((await w.subject.view(id)).state, 'closed');
      await w.deliver(backend, problem, 1);
      const view = await w.subject.view(id);
      t.is(view.state, 'open', 'reopened');
      t.regex(view.comments.at(-1)!, /Regression/);
      t.is(statedCount(view), 3);
      t.deepEqual(await w.subject.ticketsOf(problem), [id]);
    },
  ],
  [
    'a muted ticket (wontfix, not planned) stays closed and gets no comment',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      await w.deliver(backend, problem, 1);
      const id = await w.linked(backend, problem);
      await w.subject.close(id, 'muted');
      const before = await w.subject.view(id);
      await w.deliver(backend, problem, 4);
      const after = await w.subject.view(id);
      t.is(after.state, 'closed');
      t.deepEqual(after.comments, before.comments);
      t.deepEqual(await w.subject.ticketsOf(problem), [id], 'no new ticket either');
      t.is(await w.store.countOutbox(backend.trackers[0]!.name), 0, 'nothing left waiting');
    },
  ],
];

const lostLinks: Case[] = [
  [
    'a lost link: the ticket is found again by its marker, not duplicated',
    async (t, w) => {
      const problem = hash();
      const first = w.tracked();
      await w.deliver(first, problem, 1);
      const id = await w.linked(first, problem);
      const name = first.trackers[0]!.name;
      await w.store.deleteLink({ tracker: name, appId: APP, hash: problem });
      t.is(await w.store.getLink({ tracker: name, appId: APP, hash: problem }), null);
      // Another process, knowing nothing of the ticket.
      const second = w.tracked();
      await w.deliver(second, problem, 2);
      t.deepEqual(await w.subject.ticketsOf(problem), [id], 'found, not duplicated');
      t.is(await w.linked(second, problem), id, 'linked again');
      const view = await w.subject.view(id);
      t.is(view.comments.length, 1);
      t.is(statedCount(view), 3);
    },
  ],
];

const twoWaySync: Case[] = [
  [
    'changedSince lists a ticket changed in the tracker, with its state',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      await w.deliver(backend, problem, 1);
      const id = await w.linked(backend, problem);
      const tracker = backend.trackers[0]!;
      const since = new Date(Date.now() - 2_000);
      await w.subject.close(id, 'solved');
      const change = (await tracker.changedSince(since)).find((c) => c.externalId === id);
      t.like(change, { externalId: id, state: 'closed' });
      t.not(change!.resolution, null);
      t.false(Number.isNaN(Date.parse(change!.updatedAt)));
      t.true(Array.isArray(change!.labels));
      const later = await tracker.changedSince(new Date(Date.now() + 3_600_000));
      t.false(
        later.some((c) => c.externalId === id),
        'not listed as changed after its change',
      );
    },
  ],
];

/** The groups of the suite run by every tracker. */
export const CASES: readonly Case[] = [
  ...oneTicketPerProblem,
  ...closedTickets,
  ...lostLinks,
  ...twoWaySync,
  ...faultCases,
  ...stateCases(),
  ...syncCases,
];

/**
 * Register the suite. `replicas`: the tracker can be reached from other OS
 * processes (Trac, GitHub), so the fleet cases run too.
 */
export function trackerSuite(test: TestFn, label: string, harness: TrackerHarness, replicas = false): void {
  for (const [title, run] of replicas ? [...CASES, ...fleetCases, ...fleetSyncCases] : CASES) {
    test(`${label} tracker: ${title}`, async (t) => {
      const subject = await harness.start(t);
      const store = new MemoryBackend();
      const opened: TrackedStore[] = [];
      t.teardown(async () => {
        subject.release();
        subject.down(false);
        for (const backend of opened) await backend.close({ timeoutMs: 0 });
        await store.close();
        await subject.cleanup?.();
      });
      const world: World = {
        subject,
        store,
        tracked(options = {}) {
          const backend = new TrackedStore({
            store,
            trackers: [subject.tracker()],
            commentIntervalMs: 0,
            leaseMs: 1_000,
            pollIntervalMs: 100,
            syncIntervalMs: 0,
            retry: { initialMs: 50, maxMs: 200 },
            onError: (e) => t.log(`delivery error: ${e.code}: ${e.message}`),
            ...options,
          });
          opened.push(backend);
          return backend;
        },
        async record(backend, problem, count, regressionGraceMs) {
          await backend.open();
          const batch = Array.from({ length: count }, (_, i) =>
            occurrence({
              hash: problem,
              appId: APP,
              title: `conformance problem ${problem.slice(0, 8)}`,
              time: new Date(Date.now() + i).toISOString(),
              data: { message: `conformance problem ${problem.slice(0, 8)}`, extra: { i } },
            }),
          );
          await backend.recordBatch(batch, regressionGraceMs === undefined ? {} : { regressionGraceMs });
        },
        async deliver(backend, problem, count) {
          await world.record(backend, problem, count);
          t.true(await backend.deliverPending({ timeoutMs: 30_000 }), 'delivered');
        },
        async linked(backend, problem) {
          const link = await store.getLink({ tracker: backend.trackers[0]!.name, appId: APP, hash: problem });
          if (link?.externalId == null) throw new Error(`no link for ${problem}`);
          return link.externalId;
        },
      };
      await run(t, world);
      subject.verify?.(t);
    });
  }
}
