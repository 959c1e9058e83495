/**
 * The conformance suite of the Tracker plugin contract
 * (src/backends/tracker/tracker.ts), run through a TrackedStore as an
 * application runs it: records are written into a store, deliveries go out
 * through the outbox, and the tracker is then looked at directly.
 *
 * Each tracker's test file calls `trackerSuite(test, harness)`. A harness
 * says how to reach its tracker (a real Trac, the GitHub stand-in, the
 * memory tracker), how to look at a ticket there, and how a person closes
 * one. The tests are grouped by concern in `CASES`, so cases that need
 * several OS processes or lost answers can be added as further groups.
 */

import type { ExecutionContext, TestFn } from 'ava';
import { MemoryBackend, TrackedStore, type TicketStore, type Tracker } from '../../src/index.js';
import { hash, occurrence } from './backend-suite.js';

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
  tracker(): Tracker;
  view(externalId: string): Promise<TrackerView>;
  /** Close the ticket as a person would: as solved, or as not to be fixed (wontfix, not planned). */
  close(externalId: string, as: 'solved' | 'muted'): Promise<void>;
  /** The external ids of every ticket carrying this fingerprint. */
  ticketsOf(hash: string): Promise<string[]>;
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

interface World {
  readonly subject: TrackerSubject;
  readonly store: TicketStore;
  /** A TrackedStore over the test's store with a tracker from the subject (closed after the test). */
  tracked(): TrackedStore;
  /** Write `count` occurrences of the problem and deliver them; the problem's store ticket. */
  deliver(backend: TrackedStore, problem: string, count: number): Promise<void>;
  /** The problem's external id, from the store's link. */
  linked(backend: TrackedStore, problem: string): Promise<string>;
}

type Case = readonly [title: string, run: (t: ExecutionContext, w: World) => Promise<void>];

const APP = 'conformance';

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
      t.deepEqual(await backend.links(stored!), [
        { tracker: tracker.name, externalId: ids[0]!, url: tracker.ticketUrl(ids[0]!) },
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

/** The groups of the suite; multi-process and lost-answer groups join here. */
export const CASES: readonly Case[] = [...oneTicketPerProblem, ...closedTickets, ...lostLinks, ...twoWaySync];

export function trackerSuite(test: TestFn, label: string, harness: TrackerHarness): void {
  for (const [title, run] of CASES) {
    test(`${label} tracker: ${title}`, async (t) => {
      const subject = await harness.start(t);
      const store = new MemoryBackend();
      const opened: TrackedStore[] = [];
      t.teardown(async () => {
        for (const backend of opened) await backend.close();
        await store.close();
        await subject.cleanup?.();
      });
      const world: World = {
        subject,
        store,
        tracked() {
          const backend = new TrackedStore({
            store,
            trackers: [subject.tracker()],
            commentIntervalMs: 0,
            retry: { initialMs: 50, maxMs: 200 },
            onError: (e) => t.log(`delivery error: ${e.code}: ${e.message}`),
          });
          opened.push(backend);
          return backend;
        },
        async deliver(backend, problem, count) {
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
          await backend.recordBatch(batch);
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
