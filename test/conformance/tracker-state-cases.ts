/**
 * Tracker suite cases for two-way state sync, run against every tracker:
 * `setState` between every pair of states (and a repeat that writes
 * nothing), a ticket that is gone, a refusal of `beforeWrite`, occurrences
 * added with `reopen: false`, and the state `changedSince` reads from what a
 * person did in the tracker (closed as fixed, closed as not to be fixed,
 * reopened, given a muted label).
 *
 * These cases talk to the tracker object directly (no store in between), so
 * what they check is the plugin alone. The person's actions beyond `close`
 * come from the harness (`PersonStateActions`).
 */

import type { ExecutionContext } from 'ava';
import { randomUUID } from 'node:crypto';
import type { SettableState } from '../../src/backends/ticket-state.js';
import type { OccurrenceSummary, Tracker, TrackerChange } from '../../src/backends/tracker/tracker.js';
import { hash } from './backend-suite.js';

/** What a person does in the tracker besides closing a ticket; every harness of the suite gives them. */
export interface PersonStateActions {
  /** Open a closed ticket again. */
  reopen(externalId: string): Promise<void>;
  /** Mark the ticket as one to leave alone: the `muted` label (GitHub, memory) or keyword (Trac). */
  labelMuted(externalId: string): Promise<void>;
}

/**
 * What these cases use of the suite's subject (TrackerSubject in
 * tracker-suite.ts), by its shape: the suite imports this file, and this file
 * imports nothing back.
 */
interface Subject {
  tracker(): Tracker;
  view(externalId: string): Promise<{ readonly state: 'open' | 'closed'; readonly comments: readonly string[] }>;
  close(externalId: string, as: 'solved' | 'muted'): Promise<void>;
  writes(): number;
  requests(): number;
}

/** A case as the suite runs it (`Case` in tracker-suite.ts). */
type StateCase = readonly [
  title: string,
  run: (t: ExecutionContext, w: { readonly subject: Subject }) => Promise<void>,
];

type Person = Subject & PersonStateActions;

const APP_ID = 'conformance';

function person(subject: Subject): Person {
  const s = subject as Subject & Partial<PersonStateActions>;
  if (typeof s.reopen !== 'function' || typeof s.labelMuted !== 'function') {
    throw new Error('the harness lacks the person actions of tracker-state-cases.ts (reopen, labelMuted)');
  }
  return s as Person;
}

/** One occurrence of a problem, as a delivery would carry it. */
function summary(title: string): OccurrenceSummary {
  const now = new Date().toISOString();
  const record = { message: title, time: now };
  return {
    level: 14,
    channel: 'conformance.state',
    location: 'state-cases.ts:1',
    function: null,
    title,
    count: 1,
    first: now,
    last: now,
    messages: [[title, 1]],
    otherMessages: 0,
    firstRecord: record,
    latestRecord: record,
  };
}

/** A new ticket for a new problem, made by the tracker itself. */
function newTicket(tracker: Tracker, title: string): Promise<string> {
  return tracker.create({ appId: APP_ID, hash: hash() }, summary(title));
}

/** A `beforeWrite` that counts the writes it lets through. */
function counter(): { n: number; beforeWrite: () => Promise<void> } {
  const c = {
    n: 0,
    beforeWrite: async () => {
      c.n += 1;
    },
  };
  return c;
}

/** A time safely before what follows: trackers keep whole seconds. */
function secondBefore(): Date {
  return new Date(Math.floor(Date.now() / 1000) * 1000 - 1000);
}

async function changeOf(tracker: Tracker, since: Date, id: string): Promise<TrackerChange | undefined> {
  return (await tracker.changedSince(since)).find((c) => c.externalId === id);
}

function viewState(state: SettableState): 'open' | 'closed' {
  return state === 'open' ? 'open' : 'closed';
}

/** The change's state time is a real time, not before `since` and not in the future. */
function checkStateAt(t: ExecutionContext, change: TrackerChange | undefined, since: Date, what: string): void {
  const at = Date.parse(change?.stateAt ?? '');
  t.false(Number.isNaN(at), `${what}: stateAt is a time`);
  t.true(at >= since.getTime() && at <= Date.now() + 2_000, `${what}: stateAt ${change?.stateAt} is about now`);
}

export function stateCases(): StateCase[] {
  return [
    [
      'setState goes from each state to each other; a repeat is unchanged and writes nothing',
      async (t, w) => {
        const tracker = w.subject.tracker();
        const id = await newTicket(tracker, 'state cycle');
        const since = secondBefore();
        // open→solved→muted→open→muted→solved→open: each of the six moves once.
        for (const state of ['solved', 'muted', 'open', 'muted', 'solved', 'open'] as const) {
          const before = w.subject.writes();
          const first = counter();
          const options = { beforeWrite: first.beforeWrite, deliveryIds: [randomUUID()] };
          t.is(await tracker.setState(id, state, options), 'changed', `to ${state}`);
          t.true(first.n >= 1, `to ${state}: at least one write`);
          // At least: a GitHub App's request refused for an expired token (nothing written) is made again.
          const reached = w.subject.writes() - before;
          t.true(reached >= first.n, `to ${state}: ${first.n} writes let through by beforeWrite, ${reached} reached`);
          const again = counter();
          const written = w.subject.writes();
          t.is(await tracker.setState(id, state, { beforeWrite: again.beforeWrite }), 'unchanged', `${state} again`);
          t.is(again.n, 0, `${state} again: no write asked for`);
          t.is(w.subject.writes(), written, `${state} again: no write reached the tracker`);
          t.is((await w.subject.view(id)).state, viewState(state));
          const change = await changeOf(tracker, since, id);
          t.is(change?.ticketState, state, `changedSince reads ${state} back`);
          checkStateAt(t, change, since, state);
        }
      },
    ],
    [
      'setState of a ticket that does not exist is gone, with no write',
      async (t, w) => {
        const tracker = w.subject.tracker();
        await newTicket(tracker, 'not the missing one');
        const writes = w.subject.writes();
        for (const state of ['open', 'solved', 'muted'] as const) {
          const c = counter();
          t.is(await tracker.setState('987654', state, { beforeWrite: c.beforeWrite }), 'gone', state);
          t.is(c.n, 0);
        }
        t.is(w.subject.writes(), writes);
      },
    ],
    [
      'a beforeWrite refusal goes through as it is, and no write follows it',
      async (t, w) => {
        const tracker = w.subject.tracker();
        const refusal = new Error('no write budget now');
        const id = await newTicket(tracker, 'refused state');
        const writes = w.subject.writes();
        const error = await t.throwsAsync(
          tracker.setState(id, 'solved', { beforeWrite: () => Promise.reject(refusal) }),
        );
        t.is(error, refusal, 'the very refusal');
        t.is(w.subject.writes(), writes, 'nothing written');
        t.is((await w.subject.view(id)).state, 'open');
        // A move that may take two writes (closed as muted → solved), with only one allowed.
        const muted = await newTicket(tracker, 'refused second write');
        await w.subject.close(muted, 'muted');
        let asked = 0;
        const before = w.subject.writes();
        const outcome = await tracker
          .setState(muted, 'solved', {
            beforeWrite: async () => {
              if (++asked > 1) throw refusal;
            },
          })
          .catch((e: unknown) => e);
        t.true(w.subject.writes() > before, 'the write allowed was made');
        if (outcome === 'changed') {
          t.is(asked, 1, 'done in one write');
          t.is((await w.subject.view(muted)).state, 'closed');
        } else {
          t.is(outcome, refusal, 'refused at the second write');
          t.is(asked, 2);
          // Reopened by the first write; the close that was refused never happened.
          t.is((await w.subject.view(muted)).state, 'open');
        }
      },
    ],
    [
      'addOccurrences with reopen: false comments on a ticket closed as solved and leaves it closed',
      async (t, w) => {
        const tracker = w.subject.tracker();
        const since = secondBefore();
        const id = await newTicket(tracker, 'in the grace window');
        await w.subject.close(id, 'solved');
        const before = await w.subject.view(id);
        t.is(await tracker.addOccurrences(id, summary('in the grace window'), { reopen: false }), 'commented');
        const after = await w.subject.view(id);
        t.is(after.state, 'closed', 'still closed');
        t.is(after.comments.length, before.comments.length + 1, 'one comment');
        t.regex(after.comments.at(-1)!, /Occurred again/);
        t.notRegex(after.comments.at(-1)!, /Regression/);
        t.is((await changeOf(tracker, since, id))?.ticketState, 'solved');
        // A muted ticket stays muted and uncommented either way; without the option, a regression reopens.
        const muted = await newTicket(tracker, 'muted in the grace window');
        await w.subject.close(muted, 'muted');
        const mutedBefore = await w.subject.view(muted);
        t.is(await tracker.addOccurrences(muted, summary('muted'), { reopen: false }), 'muted');
        t.deepEqual((await w.subject.view(muted)).comments, mutedBefore.comments);
        t.is(await tracker.addOccurrences(id, summary('after the grace window')), 'reopened');
        t.is((await w.subject.view(id)).state, 'open');
      },
    ],
    [
      "changedSince reads the state of a person's change: fixed, not to be fixed, reopened, labelled muted",
      async (t, w) => {
        const p = person(w.subject);
        const tracker = p.tracker();
        const since = secondBefore();
        const fixed = await newTicket(tracker, 'closed as fixed');
        const wontfix = await newTicket(tracker, 'closed as wontfix');
        const reopened = await newTicket(tracker, 'closed and reopened');
        const labelled = await newTicket(tracker, 'labelled muted');
        await p.close(fixed, 'solved');
        await p.close(wontfix, 'muted');
        await p.close(reopened, 'solved');
        await p.reopen(reopened);
        await p.labelMuted(labelled);
        const changes = await tracker.changedSince(since);
        const expected: Array<[string, string, SettableState]> = [
          ['fixed', fixed, 'solved'],
          ['wontfix', wontfix, 'muted'],
          ['reopened', reopened, 'open'],
          ['labelled', labelled, 'muted'],
        ];
        for (const [what, id, state] of expected) {
          const change = changes.find((c) => c.externalId === id);
          t.is(change?.ticketState, state, what);
          checkStateAt(t, change, since, what);
        }
        t.like(
          changes.find((c) => c.externalId === labelled),
          { state: 'open' },
        );
        // setState reads the same: a person's muted ticket is muted already; solving or opening it writes.
        t.is(await tracker.setState(wontfix, 'muted'), 'unchanged');
        t.is(await tracker.setState(labelled, 'muted'), 'unchanged');
        t.is(await tracker.setState(fixed, 'solved'), 'unchanged');
        t.is(await tracker.setState(reopened, 'open'), 'unchanged');
        t.is(await tracker.setState(wontfix, 'solved'), 'changed');
        t.is(await tracker.setState(labelled, 'open'), 'changed', 'the muted label is dropped');
        const later = await tracker.changedSince(since);
        t.is(later.find((c) => c.externalId === wontfix)?.ticketState, 'solved');
        t.is(later.find((c) => c.externalId === labelled)?.ticketState, 'open');
        t.false(later.find((c) => c.externalId === labelled)!.labels.includes('muted'));
      },
    ],
    [
      'changedSince lists ten changed tickets with at most two requests',
      async (t, w) => {
        const tracker = w.subject.tracker();
        const since = secondBefore();
        const ids: string[] = [];
        for (let i = 0; i < 10; i++) ids.push(await newTicket(tracker, `listed ${i}`));
        const before = w.subject.requests();
        const changes = await tracker.changedSince(since);
        const made = w.subject.requests() - before;
        t.true(made <= 2, `${made} requests`);
        for (const id of ids) t.is(changes.find((c) => c.externalId === id)?.ticketState, 'open', `#${id} listed`);
        const times = changes.map((c) => c.updatedAt);
        t.deepEqual(times, [...times].sort(), 'oldest first');
      },
    ],
  ];
}
