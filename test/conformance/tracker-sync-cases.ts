/**
 * Tracker suite cases for two-way state sync through a TrackedStore, run
 * against every tracker: a state change made in the store (solve, reopen,
 * mute, unmute) is carried out in the tracker once; one made by a person in
 * the tracker (closed as fixed, closed as not to be fixed, reopened, labelled
 * muted) reaches the store and is not echoed back; a regression is told once
 * (also after an outage); the grace window after a solve; a muted ticket stays
 * closed and uncommented; conflicting changes, where the later one wins; and
 * `syncAll` (`sync --full`) repairing a store whose links forgot.
 */

import type { ExecutionContext } from 'ava';
import {
  TicketingHandler,
  type SettableState,
  type Ticket,
  type TicketStore,
  type TrackedStore,
} from '../../src/index.js';
import { changeState } from '../../src/backends/tracker/state-change.js';
import { hash } from './backend-suite.js';
import { until } from './fleet-replicas.js';
import type { PersonStateActions } from './tracker-state-cases.js';
import { APP, statedCount, type Case, type TrackerSubject, type World } from './tracker-suite.js';

type Person = TrackerSubject & PersonStateActions;

function person(w: World): Person {
  return w.subject as Person;
}

async function storeTicket(store: TicketStore, problem: string): Promise<Ticket> {
  const [ticket] = await store.getTickets({ filter: { hash: problem, appId: APP } });
  if (ticket === undefined) throw new Error(`no store ticket for ${problem}`);
  return ticket;
}

async function linkState(w: World, backend: TrackedStore, problem: string): Promise<SettableState | null> {
  const link = await w.store.getLink({ tracker: backend.trackers[0]!.name, appId: APP, hash: problem });
  return link?.state ?? null;
}

async function trackerState(backend: TrackedStore, id: string): Promise<SettableState | undefined> {
  return (await backend.trackers[0]!.readState(id))?.ticketState;
}

async function delivered(t: ExecutionContext, backend: TrackedStore): Promise<void> {
  t.true(await backend.deliverPending({ timeoutMs: 30_000 }), 'delivered');
}

/** Two polls of this process's deliverer, after now. */
async function twoPolls(backend: TrackedStore): Promise<void> {
  const polls = () => backend.deliveryStats()[0]!.sync?.polls ?? 0;
  const from = polls();
  await until(() => polls() >= from + 2, 'two polls');
}

/** A problem delivered to the tracker through a new TrackedStore: its ticket's ids on both sides. */
async function linkedProblem(w: World, count = 1, options: Parameters<World['tracked']>[0] = {}) {
  const problem = hash();
  const backend = w.tracked(options);
  await w.deliver(backend, problem, count);
  const id = await w.linked(backend, problem);
  const { id: ticketId } = await storeTicket(w.store, problem);
  return { problem, backend, id, ticketId };
}

export const syncCases: readonly Case[] = [
  [
    'solve, reopen, mute and unmute in the store are carried out in the tracker, a repeat writes nothing',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked();
      await w.deliver(backend, problem, 1);
      const id = await w.linked(backend, problem);
      const ticket = await storeTicket(w.store, problem);
      const steps: Array<[(id: number) => Promise<Ticket>, SettableState, 'open' | 'closed']> = [
        [(n) => backend.solveTicket(n), 'solved', 'closed'],
        [(n) => backend.reopenTicket(n), 'open', 'open'],
        [(n) => backend.muteTicket(n), 'muted', 'closed'],
        [(n) => backend.unmuteTicket(n), 'open', 'open'],
      ];
      for (const [change, state, shown] of steps) {
        const after = await change(ticket.id);
        t.is(after.state, state, `the store says ${state}`);
        await delivered(t, backend);
        t.is((await w.subject.view(id)).state, shown, `the tracker shows ${shown} after ${state}`);
        t.is(await trackerState(backend, id), state, `the tracker reads as ${state}`);
        t.is(await linkState(w, backend, problem), state, 'the link knows the state it left');
        const writes = w.subject.writes();
        await change(ticket.id);
        await delivered(t, backend);
        t.is(w.subject.writes(), writes, `asking for ${state} again writes nothing`);
      }
    },
  ],
  [
    'a change made in the tracker reaches the store, and the store does not echo its own changes',
    async (t, w) => {
      const problem = hash();
      const backend = w.tracked({ syncIntervalMs: 100 });
      await w.deliver(backend, problem, 1);
      const id = await w.linked(backend, problem);
      const p = person(w);
      const stateIs = (state: string) => async () => (await storeTicket(w.store, problem)).state === state;
      await w.subject.close(id, 'solved');
      await until(stateIs('solved'), 'closed as fixed → solved');
      const solved = await storeTicket(w.store, problem);
      t.not(solved.solvedAt, null, 'solved with the time of its close in the tracker');
      await p.reopen(id);
      await until(stateIs('open'), 'reopened → open');
      await w.subject.close(id, 'muted');
      await until(stateIs('muted'), 'closed as not to be fixed → muted');
      await p.reopen(id);
      await until(stateIs('open'), 'reopened → open');
      await p.labelMuted(id);
      await until(stateIs('muted'), 'labelled muted → muted');
      t.is(await linkState(w, backend, problem), 'muted');
      // The store's own change goes out once, and the polls that see it change nothing.
      await backend.unmuteTicket(solved.id);
      await backend.solveTicket(solved.id);
      await delivered(t, backend);
      t.is((await w.subject.view(id)).state, 'closed');
      const writes = w.subject.writes();
      const changedAt = (await storeTicket(w.store, problem)).stateChangedAt;
      await twoPolls(backend);
      const after = await storeTicket(w.store, problem);
      t.is(after.state, 'solved', 'still solved');
      t.is(after.stateChangedAt, changedAt, 'not changed again by its own echo');
      t.is(w.subject.writes(), writes, 'and nothing written to the tracker');
      t.is(await w.store.countOutbox(), 0);
    },
  ],
  [
    'a regression during a tracker outage reopens the ticket once, with the regression comment, when it is back',
    async (t, w) => {
      const { problem, backend, id, ticketId } = await linkedProblem(w, 2);
      await backend.solveTicket(ticketId);
      await delivered(t, backend);
      t.is((await w.subject.view(id)).state, 'closed');
      w.subject.down(true);
      await w.record(backend, problem, 2, 0);
      await w.record(backend, problem, 3, 0);
      const regressed = await storeTicket(w.store, problem);
      t.is(regressed.state, 'regressed');
      t.is(regressed.regressionCount, 1, 'one regression, however many occurrences follow');
      t.false(await backend.deliverPending({ timeoutMs: 300 }), 'nothing goes while the tracker is down');
      w.subject.down(false);
      await backend.deliverPending({ timeoutMs: 30_000, retryNow: true });
      const view = await w.subject.view(id);
      t.is(view.state, 'open', 'reopened');
      t.is(view.comments.filter((c) => /Regression:/.test(c)).length, 1, 'one regression comment');
      t.is(statedCount(view), regressed.occurrenceCount, "the tracker states the store's count");
      t.is(await linkState(w, backend, problem), 'open');
    },
  ],
  [
    'occurrences in the grace window after a solve are counted and commented without reopening',
    async (t, w) => {
      const { problem, backend, id, ticketId } = await linkedProblem(w, 1);
      await backend.solveTicket(ticketId);
      await delivered(t, backend);
      await w.record(backend, problem, 2);
      const ticket = await storeTicket(w.store, problem);
      t.is(ticket.state, 'solved', 'in flight when it was solved: not a regression');
      t.is(ticket.occurrenceCount, 3);
      await delivered(t, backend);
      const view = await w.subject.view(id);
      t.is(view.state, 'closed', 'the tracker ticket stays closed');
      t.is(statedCount(view), 3, 'and states every occurrence');
    },
  ],
  [
    'a muted ticket is counted, stays closed and gets no comment, whatever recurs',
    async (t, w) => {
      const { problem, backend, id, ticketId } = await linkedProblem(w, 1);
      await backend.muteTicket(ticketId);
      await delivered(t, backend);
      const before = await w.subject.view(id);
      t.is(before.state, 'closed');
      const writes = w.subject.writes();
      await w.record(backend, problem, 4, 0);
      await delivered(t, backend);
      const ticket = await storeTicket(w.store, problem);
      t.is(ticket.state, 'muted', 'never regresses');
      t.is(ticket.occurrenceCount, 5, 'but counts');
      t.is(w.subject.writes(), writes, 'nothing written to the tracker');
      t.deepEqual((await w.subject.view(id)).comments, before.comments);
      t.is(await w.store.countOutbox(), 0, 'and nothing waits');
    },
  ],
  [
    'conflicting changes in store and tracker: the later one wins on both sides',
    async (t, w) => {
      const { problem, backend: first, id, ticketId } = await linkedProblem(w, 1);
      const name = first.trackers[0]!.name;
      // No deliverer runs while the two sides change: each conflict is met by the next one.
      await first.close({ timeoutMs: 0 });
      // Solved in the store a minute ago (queued, not delivered yet); muted by a person in the tracker now.
      await changeState(w.store, [name], ticketId, 'solved', { at: new Date(Date.now() - 60_000).toISOString() });
      await w.subject.close(id, 'muted');
      const second = w.tracked();
      await delivered(t, second);
      t.is((await storeTicket(w.store, problem)).state, 'muted', "the tracker's later change wins in the store");
      t.is(await trackerState(second, id), 'muted', 'and stays in the tracker');
      await second.close({ timeoutMs: 0 });
      // Reopened by a person in the tracker; solved in the store a minute later: the store wins.
      await person(w).reopen(id);
      await changeState(w.store, [name], ticketId, 'solved', { at: new Date(Date.now() + 60_000).toISOString() });
      const third = w.tracked();
      await delivered(t, third);
      t.is((await storeTicket(w.store, problem)).state, 'solved', "the store's later change stands");
      t.is(await trackerState(third, id), 'solved', 'and is carried out in the tracker');
    },
  ],
  [
    'a quiet service (its handler logs nothing) carries out a change queued elsewhere and learns one made in the tracker',
    async (t, w) => {
      const { problem, backend: first, id, ticketId } = await linkedProblem(w, 1);
      await first.close({ timeoutMs: 0 });
      // The service: a handler over its TrackedStore, made and left alone.
      const service = w.tracked({ syncIntervalMs: 100 });
      const handler = new TicketingHandler(service, { onError: () => {} });
      t.teardown(() => handler.close());
      // What `logtickets solve` does from another shell without the trackers' credentials.
      await changeState(w.store, [service.trackers[0]!.name], ticketId, 'solved');
      await until(async () => (await trackerState(service, id)) === 'solved', 'the service solved it in the tracker');
      await person(w).reopen(id);
      await until(async () => (await storeTicket(w.store, problem)).state === 'open', 'the service learned the reopen');
      t.is(handler.stats().written, 0, 'without a record logged');
    },
  ],
  [
    'syncAll (sync --full) repairs a store that missed the changes made in the tracker',
    async (t, w) => {
      const [a, b, c] = [hash(), hash(), hash()];
      const backend = w.tracked();
      for (const problem of [a, b, c]) await w.deliver(backend, problem, 1);
      const [idA, idB] = [await w.linked(backend, a), await w.linked(backend, b)];
      await w.subject.close(idA, 'solved');
      await w.subject.close(idB, 'muted');
      // No poll ran (syncIntervalMs 0): the store does not know yet, as after a restored backup.
      t.is((await storeTicket(w.store, a)).state, 'open');
      t.true(await backend.syncAll({ timeoutMs: 60_000 }), 'read within the time');
      t.is((await storeTicket(w.store, a)).state, 'solved');
      t.is((await storeTicket(w.store, b)).state, 'muted');
      t.is((await storeTicket(w.store, c)).state, 'open', 'an untouched ticket stays as it was');
      const full = backend.deliveryStats()[0]!.sync?.lastFull;
      t.true((full?.changes ?? 0) >= 3, 'every ticket was read');
      t.is(full?.applied, 2);
      t.is(await w.store.countOutbox(), 0);
    },
  ],
];
