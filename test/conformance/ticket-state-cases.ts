/**
 * Conformance: ticket states (src/backends/ticket-state.ts) in every store.
 * A state change carries a time and the latest one wins, also between two
 * instances racing; a solved ticket regresses only after the grace window;
 * a muted one is counted and never regresses; lists and counts filter by
 * state and by muted; links keep the state of their tracker ticket and are
 * found by external id. Times are given explicitly, so nothing here depends
 * on the store's clock.
 */

import type { TestFn } from 'ava';
import { randomBytes } from 'node:crypto';
import {
  isTicketStore,
  LogticketsError,
  type OccurrenceInput,
  type Ticket,
  type TicketBackend,
  type TicketFilter,
  type TicketStore,
} from '../../src/index.js';

/** What these cases need of the suite's subject (backend-suite.ts gives more). */
interface StateSubject {
  sibling(): TicketBackend;
  reader(): TicketBackend;
}

type WithStateSubject = (
  fn: (s: StateSubject, b: TicketBackend) => Promise<void>,
) => (t: { teardown(fn: () => Promise<void> | void): void }) => Promise<void>;

const hash = (): string => randomBytes(20).toString('hex');

/** `seconds` after a fixed moment, as a store keeps times. */
const at = (seconds: number): string => new Date(Date.UTC(2025, 2, 1, 10) + seconds * 1_000).toISOString();

const occurrence = (h: string, seconds: number, over: Partial<OccurrenceInput> = {}): OccurrenceInput => ({
  hash: h,
  appId: 'app',
  level: 14,
  channel: 'shop.payments',
  location: 'src/pay.ts:42',
  function: 'charge',
  title: 'card declined',
  time: at(seconds),
  data: { seconds },
  ...over,
});

/** The state fields of a ticket, for comparing whole. */
const stateFields = (t: Ticket | null) =>
  t === null
    ? null
    : {
        state: t.state,
        solved: t.solved,
        solvedAt: t.solvedAt,
        muted: t.muted,
        mutedAt: t.mutedAt,
        stateChangedAt: t.stateChangedAt,
      };

export function ticketStateCases(test: TestFn, withSubject: WithStateSubject): void {
  test('ticket states: solve, reopen, mute, unmute, each with its time', async (t) => {
    await withSubject(async (_s, b) => {
      const [o] = await b.recordBatch([occurrence(hash(), 0)]);
      const id = o!.ticketId;
      const fresh = { solvedAt: null, muted: false, mutedAt: null, solved: false };
      t.deepEqual(stateFields(await b.getTicket(id)), { ...fresh, state: 'open', stateChangedAt: null });

      const steps: Array<[string, () => Promise<Ticket>, ReturnType<typeof stateFields>]> = [
        [
          'solve',
          () => b.solveTicket(id, { at: at(10) }),
          { ...fresh, state: 'solved', solved: true, solvedAt: at(10), stateChangedAt: at(10) },
        ],
        ['reopen', () => b.reopenTicket(id, { at: at(20) }), { ...fresh, state: 'open', stateChangedAt: at(20) }],
        [
          'mute',
          () => b.muteTicket(id, { at: at(30) }),
          { ...fresh, state: 'muted', muted: true, mutedAt: at(30), stateChangedAt: at(30) },
        ],
        [
          'solve a muted ticket',
          () => b.setTicketState(id, 'solved', { at: at(35) }),
          { ...fresh, state: 'solved', solved: true, solvedAt: at(35), stateChangedAt: at(35) },
        ],
        [
          'mute a solved ticket',
          () => b.setTicketState(id, 'muted', { at: at(40) }),
          { ...fresh, state: 'muted', muted: true, mutedAt: at(40), stateChangedAt: at(40) },
        ],
        ['unmute', () => b.unmuteTicket(id, { at: at(50) }), { ...fresh, state: 'open', stateChangedAt: at(50) }],
        [
          'a time in another zone',
          () => b.setTicketState(id, 'solved', { at: '2025-03-01T11:01:00+01:00' }),
          { ...fresh, state: 'solved', solved: true, solvedAt: at(60), stateChangedAt: at(60) },
        ],
      ];
      for (const [name, change, expected] of steps) {
        const returned = await change();
        t.deepEqual(stateFields(returned), expected, name);
        t.deepEqual(await b.getTicket(id), returned, `${name}: read back as returned`);
        t.like(returned, { regressionCount: 0, lastRegressionAt: null, occurrenceCount: 1 });
      }

      const before = Date.now();
      const now = await b.reopenTicket(id);
      const changed = Date.parse(now.stateChangedAt!);
      t.true(changed >= before - 1_000 && changed <= Date.now() + 1_000, 'without a time: now');
      t.is(now.state, 'open');
    })(t);
  });

  test('ticket states: an older change is ignored and the ticket comes back unchanged', async (t) => {
    await withSubject(async (_s, b) => {
      const [o] = await b.recordBatch([occurrence(hash(), 0)]);
      const id = o!.ticketId;
      const solved = await b.solveTicket(id, { at: at(30) });
      for (const [name, change] of [
        ['reopen', () => b.reopenTicket(id, { at: at(29) })],
        ['mute', () => b.muteTicket(id, { at: at(10) })],
        ['unmute', () => b.unmuteTicket(id, { at: at(20) })],
        ['solve', () => b.solveTicket(id, { at: at(5) })],
      ] as const) {
        t.deepEqual(await change(), solved, name);
      }
      t.deepEqual(await b.getTicket(id), solved);
      t.like(
        await b.reopenTicket(id, { at: at(30) }),
        { state: 'open', stateChangedAt: at(30) },
        'the same time applies',
      );
    })(t);
  });

  test('ticket states: two instances racing end with the latest change', async (t) => {
    await withSubject(async (s, b) => {
      const other = s.sibling();
      await other.open();
      const [o] = await b.recordBatch([occurrence(hash(), 0)]);
      const id = o!.ticketId;
      const states = ['solved', 'muted', 'open'] as const;
      // Issued latest first, alternating between the instances.
      const changes = Array.from({ length: 12 }, (_, i) => 11 - i).map((second, i) =>
        (i % 2 === 0 ? b : other).setTicketState(id, states[second % 3]!, { at: at(second + 1) }),
      );
      await Promise.all(changes);
      t.like(await b.getTicket(id), { state: states[11 % 3], stateChangedAt: at(12) });
      t.like(await other.getTicket(id), { state: states[11 % 3], stateChangedAt: at(12) });
    })(t);
  });

  test('regressions: counted within the grace window, reopened after it', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch([occurrence(h, 0)]);
      const id = o!.ticketId;
      await b.solveTicket(id, { at: at(10) });

      const [within] = await b.recordBatch([occurrence(h, 40)]);
      t.like(within, { regressed: false, occurrenceCount: 2 }, '30 s after the solve');
      t.like(await b.getTicket(id), { state: 'solved', solved: true, solvedAt: at(10), regressionCount: 0 });
      const [edge] = await b.recordBatch([occurrence(h, 70)]);
      t.like(edge, { regressed: false, occurrenceCount: 3 }, 'exactly 60 s after: still within');
      const [longer] = await b.recordBatch([occurrence(h, 80)], { regressionGraceMs: 120_000 });
      t.like(longer, { regressed: false, occurrenceCount: 4 }, 'a longer grace window');

      // The latest occurrence of the batch decides; an earlier one in it was in flight.
      const [after] = await b.recordBatch([occurrence(h, 20), occurrence(h, 71)]);
      t.like(after, { regressed: true, occurrenceCount: 6 }, '61 s after the solve');
      const regressed = await b.getTicket(id);
      t.like(regressed, {
        state: 'regressed',
        solved: false,
        solvedAt: null,
        muted: false,
        regressionCount: 1,
        lastRegressionAt: at(71),
        stateChangedAt: at(71),
      });
      t.is((await b.getOccurrences(id, { limit: 10 })).length, 6, 'every occurrence kept');
      const [next] = await b.recordBatch([occurrence(h, 200)]);
      t.false(next!.regressed, 'only the reopening write is a regression');
      t.is((await b.getTicket(id))!.state, 'regressed');

      const reopened = await b.reopenTicket(id, { at: at(300) });
      t.like(reopened, { state: 'open', stateChangedAt: at(300), regressionCount: 1, lastRegressionAt: at(71) });

      // Without a grace window, any occurrence after the solve reopens.
      const h2 = hash();
      const [o2] = await b.recordBatch([occurrence(h2, 0)]);
      await b.solveTicket(o2!.ticketId, { at: at(10) });
      const [early] = await b.recordBatch([occurrence(h2, 9)], { regressionGraceMs: 0 });
      t.false(early!.regressed, 'an occurrence from before the solve was in flight');
      const [none] = await b.recordBatch([occurrence(h2, 11)], { regressionGraceMs: 0 });
      t.true(none!.regressed);
      t.like(await b.getTicket(o2!.ticketId), { state: 'regressed', lastRegressionAt: at(11), stateChangedAt: at(11) });
    })(t);
  });

  test('regressions: a muted ticket is counted and never regresses', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch([occurrence(h, 0)]);
      const id = o!.ticketId;
      await b.solveTicket(id, { at: at(10) });
      const muted = await b.muteTicket(id, { at: at(20) });
      const [later] = await b.recordBatch([occurrence(h, 500), occurrence(h, 600)], { regressionGraceMs: 0 });
      t.like(later, { regressed: false, occurrenceCount: 3 });
      t.deepEqual(stateFields(await b.getTicket(id)), stateFields(muted));
      t.like(await b.getTicket(id), { regressionCount: 0, lastSeen: at(600) });
      t.is((await b.getOccurrences(id)).length, 3);
      t.like(await b.unmuteTicket(id, { at: at(700) }), { state: 'open', muted: false, regressionCount: 0 });
    })(t);
  });

  test('ticket states: lists and counts filter by state and by muted', async (t) => {
    await withSubject(async (_s, b) => {
      const hashes = Array.from({ length: 5 }, hash);
      const outcomes = await b.recordBatch(hashes.map((h) => occurrence(h, 0)));
      const id = (i: number) => outcomes.find((o) => o.hash === hashes[i])!.ticketId;
      // 0 open; 1 solved; 2 regressed; 3 muted; 4 regressed, then reopened by hand.
      for (const i of [1, 2, 4]) await b.solveTicket(id(i), { at: at(10) });
      await b.recordBatch([occurrence(hashes[2]!, 100), occurrence(hashes[4]!, 100)]);
      await b.reopenTicket(id(4), { at: at(200) });
      await b.muteTicket(id(3), { at: at(10) });
      const cases: Array<[TicketFilter, number[]]> = [
        [{ state: 'open' }, [0, 4]],
        [{ state: 'solved' }, [1]],
        [{ state: 'regressed' }, [2]],
        [{ state: 'muted' }, [3]],
        [{ state: ['open', 'regressed'] }, [0, 2, 4]],
        [{ state: ['muted', 'solved', 'muted'] }, [1, 3]],
        [{ muted: true }, [3]],
        [{ muted: false }, [0, 1, 2, 4]],
        [{ state: 'muted', muted: false }, []],
        [{ solved: false, muted: false }, [0, 2, 4]],
        [{ state: 'open', hash: hashes[4]! }, [4]],
        [{ state: ['open', 'solved', 'regressed', 'muted'] }, [0, 1, 2, 3, 4]],
      ];
      for (const [filter, expected] of cases) {
        const name = JSON.stringify(filter);
        t.is(await b.countTickets(filter), expected.length, name);
        const listed = await b.getTickets({ filter, orderBy: 'id', limit: 10 });
        t.deepEqual(
          listed.map((x) => x.id),
          expected.map(id).sort((x, y) => x - y),
          name,
        );
        const asked = filter.state === undefined ? undefined : [filter.state].flat();
        t.true(
          listed.every((x) => asked === undefined || asked.includes(x.state)),
          `${name}: each listed ticket is in a state asked for`,
        );
      }
    })(t);
  });

  test('link states: set on finished links only, kept by later link writes, found by external id', async (t) => {
    await withSubject(async (_s, b) => {
      t.true(isTicketStore(b), 'every store keeps links');
      if (!isTicketStore(b)) return;
      const store: TicketStore = b;
      const tracker = 'github:acme/shop';
      const key = { hash: hash(), appId: 'app', tracker };
      t.is((await store.claimLink(key, 'p', 60_000)).state, 'claimed');
      t.like(await store.getLink(key), { externalId: null, state: null, stateAt: null });
      await store.setLinkState(key, 'solved', at(5));
      t.like(await store.getLink(key), { state: null, stateAt: null }, 'a pending claim takes no state');
      t.true(await store.completeLink(key, 'p', '17'));
      t.like(await store.getLink(key), { externalId: '17', state: null, stateAt: null });

      await store.setLinkState(key, 'solved', at(10));
      t.like(await store.getLink(key), { state: 'solved', stateAt: at(10) });
      await store.setLinkState(key, 'muted', '2025-03-01T11:00:20+01:00');
      t.like(await store.getLink(key), { state: 'muted', stateAt: at(20) });
      t.deepEqual(await store.claimLink(key, 'q', 60_000), { state: 'linked', externalId: '17' });
      await store.setLink(key, '18');
      t.like(await store.getLink(key), { externalId: '18', state: 'muted', stateAt: at(20) }, 'setLink keeps it');

      const missing = { ...key, hash: hash() };
      await store.setLinkState(missing, 'open', at(30));
      t.is(await store.getLink(missing), null, 'no link is made');
      const fresh = { ...key, hash: hash() };
      await store.setLink(fresh, '19');
      t.like(await store.getLink(fresh), { externalId: '19', state: null, stateAt: null });
      const pending = { ...key, hash: hash() };
      await store.claimLink(pending, 'p', 60_000);
      await store.setLink({ ...key, tracker: 'trac:other' }, '18');

      const found = await store.getLinksByExternalId(tracker, ['18', '19', '404', '18']);
      t.deepEqual(
        found.map((l) => [l.hash, l.externalId, l.tracker, l.state]).sort(),
        [
          [key.hash, '18', tracker, 'muted'],
          [fresh.hash, '19', tracker, null],
        ].sort(),
      );
      t.like(
        found.find((l) => l.externalId === '18'),
        { appId: 'app', owner: null, claimedUntil: null, stateAt: at(20) },
      );
      t.deepEqual(await store.getLinksByExternalId(tracker, []), []);
      t.deepEqual(await store.getLinksByExternalId(tracker, ['404']), []);
      t.deepEqual(await store.getLinksByExternalId('trac:none', ['18']), []);
    })(t);
  });

  test('ticket states: bad arguments are INVALID_ARGUMENT naming them; missing tickets are TICKET_NOT_FOUND', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch([occurrence(h, 0)]);
      const id = o!.ticketId;
      const cases: Array<[Promise<unknown>, RegExp]> = [
        [b.solveTicket(id, { at: 'yesterday' }), /options\.at/],
        [b.setTicketState(id, 'muted', { at: 17 as never }), /options\.at/],
        [b.muteTicket(id, { when: at(1) } as never), /unknown option when/],
        [b.setTicketState(id, 'regressed' as never), /state.*regressed/],
        [b.setTicketState(id, 'closed' as never, { at: at(1) }), /state.*closed/],
        [b.recordBatch([occurrence(h, 1)], { regressionGraceMs: -1 }), /regressionGraceMs/],
        [b.recordBatch([occurrence(h, 1)], { regressionGraceMs: 1.5 }), /regressionGraceMs/],
        [b.recordBatch([occurrence(h, 1)], { regressionGraceMs: '60000' as never }), /regressionGraceMs/],
        [b.getTickets({ filter: { state: 'closed' as never } }), /filter\.state/],
        [b.countTickets({ state: [] }), /filter\.state/],
        [b.countTickets({ state: ['open', 'done'] as never }), /filter\.state/],
        [b.countTickets({ muted: 'no' as never }), /filter\.muted/],
      ];
      if (isTicketStore(b)) {
        const key = { hash: h, appId: 'app', tracker: 'trac:x' };
        cases.push([b.setLinkState(key, 'regressed' as never, at(1)), /state.*regressed/]);
        cases.push([b.setLinkState(key, 'open', 'soon'), /time/]);
      }
      for (const [promise, message] of cases) {
        const error = await t.throwsAsync(promise, { instanceOf: LogticketsError, message });
        t.is((error as LogticketsError).code, 'INVALID_ARGUMENT', error?.message);
      }
      t.like(await b.getTicket(id), { occurrenceCount: 1, state: 'open', stateChangedAt: null }, 'nothing changed');
      for (const change of [
        b.setTicketState(987_654, 'solved'),
        b.muteTicket(987_654, { at: at(1) }),
        b.unmuteTicket(987_654),
      ]) {
        const error = await t.throwsAsync(change);
        t.is((error as LogticketsError).code, 'TICKET_NOT_FOUND');
      }
    })(t);
  });

  test('ticket states: a read-only store refuses every state change with READ_ONLY', async (t) => {
    await withSubject(async (s, b) => {
      const [o] = await b.recordBatch([occurrence(hash(), 0)]);
      const reader = s.reader();
      t.teardown(() => reader.close());
      await reader.open();
      const id = o!.ticketId;
      const writes: Array<[string, () => Promise<unknown>]> = [
        ['setTicketState', () => reader.setTicketState(id, 'solved', { at: at(1) })],
        ['muteTicket', () => reader.muteTicket(id)],
        ['unmuteTicket', () => reader.unmuteTicket(id)],
      ];
      if (isTicketStore(reader)) {
        const r = reader;
        writes.push([
          'setLinkState',
          () => r.setLinkState({ hash: hash(), appId: 'app', tracker: 'x' }, 'open', at(1)),
        ]);
      }
      for (const [name, write] of writes) {
        const error = await t.throwsAsync(write(), { instanceOf: LogticketsError }, name);
        t.is(error?.code, 'READ_ONLY', `${name}: ${error?.message}`);
      }
      t.like(await b.getTicket(id), { state: 'open', stateChangedAt: null });
    })(t);
  });
}
