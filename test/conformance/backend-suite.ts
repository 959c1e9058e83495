/**
 * The conformance suite of the backend contract (src/backends/contract.ts).
 *
 * Every backend's test file calls `backendSuite(test, factory, quirks)` first.
 * The factory gives each test a fresh, empty store; quirks describe what a
 * backend legitimately does differently (never a reason to skip a rule).
 */

import type { TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  isTicketStore,
  LogticketsError,
  type OccurrenceInput,
  type StoreAccessOptions,
  type TicketBackend,
  type TicketStore,
} from '../../src/index.js';
import type { JsonValue } from '../../src/logging/json-safe.js';
import { groupByTicket } from '../../src/backends/batch.js';
import { summarize } from '../../src/backends/outbox-summary.js';
import { accessSuite } from './access-suite.js';
import { analyticsCases } from './analytics-cases.js';
import { processSuite } from './process-suite.js';
import { releaseCases } from './release-cases.js';
import { ticketStateCases } from './ticket-state-cases.js';

const exec = promisify(execFile);

export interface Subject {
  readonly backend: TicketBackend;
  /** Another instance on the same store (another connection), for concurrency tests. */
  sibling(): TicketBackend;
  /** Another instance on the same store opened read-only (memory: a read-only store of its own). */
  reader(): TicketBackend;
  /** How a child process reaches the same store, when it can. */
  readonly child?: { readonly uri: string; readonly prefix?: string };
  /** A store of this kind that does not exist yet: how to open it, and what is left of it afterwards. */
  readonly absent?: {
    open(options: StoreAccessOptions): TicketBackend;
    /** Files, tables or collections of the absent store that exist now. */
    leftovers(): Promise<string[]>;
  };
  cleanup?(): Promise<void>;
}

export interface Quirks {
  /** How NUL characters in text come back: kept, or replaced by U+FFFD (PostgreSQL text cannot hold NUL). */
  readonly nul: 'kept' | 'replaced';
  /** A batch is written all or nothing (a transaction), or ticket by ticket (a writer can die midway). */
  readonly batches: 'atomic' | 'per-ticket';
}

export const hash = (): string => randomBytes(20).toString('hex');

export function occurrence(over: Partial<OccurrenceInput> & { hash: string }): OccurrenceInput {
  return {
    appId: 'app',
    level: 14,
    channel: 'shop.payments',
    location: 'src/pay.ts:42',
    function: 'charge',
    title: 'card declined',
    time: '2025-03-01T10:00:00.000Z',
    data: { message: 'card declined', extra: { orderId: 7 } },
    ...over,
  };
}

const at = (seconds: number): string => new Date(Date.UTC(2025, 2, 1, 10, 0, seconds)).toISOString();

export type WithSubject = (
  fn: (s: Subject, b: TicketBackend) => Promise<void>,
) => (t: { teardown(fn: () => Promise<void> | void): void }) => Promise<void>;

export function backendSuite(test: TestFn, factory: () => Promise<Subject>, quirks: Quirks): void {
  const withSubject: WithSubject = (fn) => async (t) => {
    const subject = await factory();
    t.teardown(async () => {
      await subject.backend.close();
      await subject.cleanup?.();
    });
    await subject.backend.open();
    await fn(subject, subject.backend);
  };
  accessSuite(test, withSubject);
  processSuite(test, withSubject, quirks);
  ticketStateCases(test, withSubject);
  releaseCases(test, withSubject);
  // Every backend this suite runs is a store, and every store has analytics.
  analyticsCases(test, withSubject);

  test('the first occurrence creates a ticket with every field', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [outcome] = await b.recordBatch([occurrence({ hash: h, time: at(0) })]);
      t.like(outcome, { hash: h, appId: 'app', created: true, regressed: false, occurrenceCount: 1 });
      const ticket = await b.getTicket(outcome!.ticketId);
      t.deepEqual(ticket, {
        id: outcome!.ticketId,
        hash: h,
        appId: 'app',
        level: 14,
        channel: 'shop.payments',
        location: 'src/pay.ts:42',
        function: 'charge',
        title: 'card declined',
        firstSeen: at(0),
        lastSeen: at(0),
        occurrenceCount: 1,
        solved: false,
        solvedAt: null,
        regressionCount: 0,
        lastRegressionAt: null,
        muted: false,
        mutedAt: null,
        stateChangedAt: null,
        state: 'open',
        firstRelease: null,
        lastRelease: null,
        environments: [],
        solvedInRelease: null,
      });
    })(t);
  });

  test('later occurrences count, move lastSeen and keep the first title', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      await b.recordBatch([occurrence({ hash: h, time: at(5), title: 'first' })]);
      const outcomes = await b.recordBatch([
        occurrence({ hash: h, time: at(9), title: 'later' }),
        occurrence({ hash: h, time: at(1), title: 'earlier, arrived late' }),
      ]);
      t.like(outcomes[0], { created: false, occurrenceCount: 3 });
      const ticket = await b.getTicket(outcomes[0]!.ticketId);
      t.like(ticket, { occurrenceCount: 3, firstSeen: at(1), lastSeen: at(9), title: 'first' });
      const occurrences = await b.getOccurrences(ticket!.id);
      t.deepEqual(
        occurrences.map((o) => o.time),
        [at(9), at(5), at(1)],
      );
    })(t);
  });

  test('a batch may mix tickets and counts folded entries', async (t) => {
    await withSubject(async (_s, b) => {
      const [h1, h2] = [hash(), hash()];
      const outcomes = await b.recordBatch([
        occurrence({ hash: h1 }),
        occurrence({ hash: h2, level: 13 }),
        occurrence({ hash: h1, count: 40 }),
      ]);
      t.is(outcomes.length, 2);
      const byHash = new Map(outcomes.map((o) => [o.hash, o]));
      t.like(byHash.get(h1), { created: true, occurrenceCount: 41 });
      t.like(byHash.get(h2), { created: true, occurrenceCount: 1 });
      t.is((await b.getOccurrences(byHash.get(h1)!.ticketId)).length, 2, 'one stored record per entry');
      t.is(await b.countTickets(), 2);
    })(t);
  });

  test('the same fingerprint in two apps makes two tickets', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      await b.recordBatch([occurrence({ hash: h, appId: 'a' }), occurrence({ hash: h, appId: 'b' })]);
      t.is(await b.countTickets(), 2);
      t.is(await b.countTickets({ appId: 'a' }), 1);
    })(t);
  });

  test('many concurrent writers on a brand-new fingerprint: one ticket, exact count', async (t) => {
    await withSubject(async (s, b) => {
      const h = hash();
      const writers = [b, ...Array.from({ length: 3 }, () => s.sibling())];
      await Promise.all(writers.slice(1).map((w) => w.open()));
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          writers[i % writers.length]!.recordBatch([
            occurrence({ hash: h, time: at(i % 60) }),
            occurrence({ hash: h }),
          ]),
        ),
      );
      await Promise.all(
        writers
          .slice(1)
          .filter((w) => w !== b)
          .map((w) => w.close()),
      );
      t.is(results.flat().filter((o) => o.created).length, 1, 'exactly one writer created it');
      t.is(await b.countTickets(), 1);
      const [ticket] = await b.getTickets();
      t.is(ticket!.occurrenceCount, 80);
      t.is((await b.getOccurrences(ticket!.id, { limit: 1000 })).length, 80);
    })(t);
  });

  test('two OS processes writing one new fingerprint: one ticket, exact count', async (t) => {
    await withSubject(async (s, b) => {
      if (s.child === undefined) {
        // A store that lives inside one process: the concurrency test above is all there is.
        t.is(b.name, 'memory');
        return;
      }
      const h = hash();
      const fixture = fileURLToPath(new URL('../fixtures/record-occurrences.ts', import.meta.url));
      const args = [JSON.stringify({ ...s.child, hash: h, count: 150 })];
      await Promise.all(
        [0, 1].map(() => exec(process.execPath, ['--import', 'tsx', fixture, ...args], { timeout: 60_000 })),
      );
      const tickets = await b.getTickets();
      t.is(tickets.length, 1);
      t.is(tickets[0]!.occurrenceCount, 300);
    })(t);
  });

  test('occurrences keep the whole record, unicode included', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const data = {
        message: 'Zahlung fehlgeschlagen — 支付失败 — فشل الدفع — 💳❌',
        nested: { list: [1, 2.5, true, null, 'x'], deep: { deeper: { deepest: 'ok' } } },
        quotes: `'"\\\`;--`,
      };
      const [outcome] = await b.recordBatch([
        occurrence({ hash: h, channel: 'zahlung.💳', title: '支付失败 💳', data }),
      ]);
      const ticket = await b.getTicket(outcome!.ticketId);
      t.is(ticket!.channel, 'zahlung.💳');
      t.is(ticket!.title, '支付失败 💳');
      const [stored] = await b.getOccurrences(outcome!.ticketId);
      t.deepEqual(stored!.data, data);
    })(t);
  });

  test('NUL characters never break a write', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [outcome] = await b.recordBatch([
        occurrence({ hash: h, title: 'a\u0000b', data: { text: 'x\u0000y', escaped: '\\u0000' } }),
      ]);
      const ticket = await b.getTicket(outcome!.ticketId);
      const [stored] = await b.getOccurrences(outcome!.ticketId);
      const nul = quirks.nul === 'kept' ? '\u0000' : '\uFFFD';
      t.is(ticket!.title, `a${nul}b`);
      t.deepEqual(stored!.data, { text: `x${nul}y`, escaped: '\\u0000' }, 'an escaped backslash is not a NUL');
    })(t);
  });

  test('large records and large batches are stored whole', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const big = 'x'.repeat(1_000_000);
      const batch = Array.from({ length: 1_200 }, (_, i) => occurrence({ hash: h, data: { i } }));
      batch.push(occurrence({ hash: h, data: { big } }));
      const [outcome] = await b.recordBatch(batch);
      t.is(outcome!.occurrenceCount, 1_201);
      const all = await b.getOccurrences(outcome!.ticketId, { limit: 2_000 });
      t.is(all.length, 1_201);
      t.true(all.some((o) => (o.data as { big?: string }).big === big));
    })(t);
  });

  test('paging is stable: every ticket once, ties broken by id', async (t) => {
    await withSubject(async (_s, b) => {
      // Twelve tickets sharing one lastSeen, so only the tie-breaker orders them.
      await b.recordBatch(
        Array.from({ length: 12 }, (_, i) => occurrence({ hash: hash(), level: 10 + (i % 3), time: at(0) })),
      );
      for (const orderBy of [
        '-lastSeen',
        'lastSeen',
        'level',
        '-level',
        'id',
        '-id',
        'occurrenceCount',
        'firstSeen',
      ] as const) {
        const seen: number[] = [];
        for (let offset = 0; offset < 12; offset += 5) {
          const page = await b.getTickets({ orderBy, limit: 5, offset });
          seen.push(...page.map((p) => p.id));
        }
        t.is(new Set(seen).size, 12, `${orderBy}: no ticket twice or missing`);
        const again = (await b.getTickets({ orderBy, limit: 12 })).map((p) => p.id);
        t.deepEqual(seen, again, `${orderBy}: pages agree with one read`);
      }
      const byLevel = await b.getTickets({ orderBy: 'level', limit: 12 });
      for (let i = 1; i < byLevel.length; i++) {
        const [p, q] = [byLevel[i - 1]!, byLevel[i]!];
        t.true(p.level < q.level || (p.level === q.level && p.id < q.id));
      }
      const recent = await b.getTickets({ orderBy: '-id' });
      t.deepEqual(
        recent.map((r) => r.id),
        [...recent.map((r) => r.id)].sort((x, y) => y - x),
      );
    })(t);
  });

  test('default order is most recent first', async (t) => {
    await withSubject(async (_s, b) => {
      const [old, fresh] = [hash(), hash()];
      await b.recordBatch([occurrence({ hash: fresh, time: at(30) }), occurrence({ hash: old, time: at(10) })]);
      t.deepEqual(
        (await b.getTickets()).map((x) => x.hash),
        [fresh, old],
      );
    })(t);
  });

  test('every filter, alone and combined, for lists and counts', async (t) => {
    await withSubject(async (_s, b) => {
      const spec = [
        { appId: 'a', channel: 'db', level: 14 },
        { appId: 'a', channel: 'db', level: 13 },
        { appId: 'a', channel: 'http', level: 15 },
        { appId: 'b', channel: 'db', level: 14 },
      ];
      const outcomes = await b.recordBatch(spec.map((s) => occurrence({ hash: hash(), ...s })));
      await b.solveTicket(outcomes.find((o) => o.appId === 'b')!.ticketId);
      const cases = [
        [{}, 4],
        [{ appId: 'a' }, 3],
        [{ channel: 'db' }, 3],
        [{ level: 14 }, 2],
        [{ minLevel: 14 }, 3],
        [{ solved: true }, 1],
        [{ solved: false }, 3],
        [{ appId: 'a', channel: 'db', minLevel: 14 }, 1],
        [{ solved: false, channel: 'db' }, 2],
        [{ hash: outcomes[2]!.hash }, 1],
        [{ hash: outcomes[2]!.hash, solved: true }, outcomes[2]!.appId === 'b' ? 1 : 0],
      ] as const;
      for (const [filter, expected] of cases) {
        t.is(await b.countTickets(filter), expected, JSON.stringify(filter));
        t.is((await b.getTickets({ filter })).length, expected, JSON.stringify(filter));
      }
    })(t);
  });

  test('solve, recur, regress', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [first] = await b.recordBatch([occurrence({ hash: h, time: new Date(Date.now() - 60_000).toISOString() })]);
      const solved = await b.solveTicket(first!.ticketId);
      t.true(solved.solved);
      t.truthy(solved.solvedAt);
      const older = new Date(Date.parse(solved.solvedAt!) - 1).toISOString();
      t.is(
        (await b.solveTicket(first!.ticketId, { at: older })).solvedAt,
        solved.solvedAt,
        'an older solve changes nothing',
      );

      // An occurrence from before the solve (it was in flight) does not reopen.
      const noGrace = { regressionGraceMs: 0 };
      const [late] = await b.recordBatch(
        [occurrence({ hash: h, time: new Date(Date.now() - 30_000).toISOString() })],
        noGrace,
      );
      t.false(late!.regressed);
      t.like(await b.getTicket(first!.ticketId), { solved: true, occurrenceCount: 2, regressionCount: 0 });

      // Without a grace window (ticket-state-cases.ts has it), any later occurrence reopens.
      const when = new Date(Date.now() + 1_000).toISOString();
      const [again] = await b.recordBatch([occurrence({ hash: h, time: when })], noGrace);
      t.like(again, { created: false, regressed: true, occurrenceCount: 3 });
      t.like(await b.getTicket(first!.ticketId), {
        solved: false,
        solvedAt: null,
        regressionCount: 1,
        lastRegressionAt: when,
        state: 'regressed',
      });
      const [next] = await b.recordBatch([occurrence({ hash: h, time: when })], noGrace);
      t.false(next!.regressed, 'only the reopening write is a regression');
    })(t);
  });

  test('reopening by hand is not a regression', async (t) => {
    await withSubject(async (_s, b) => {
      const [o] = await b.recordBatch([occurrence({ hash: hash() })]);
      await b.solveTicket(o!.ticketId);
      const reopened = await b.reopenTicket(o!.ticketId);
      t.like(reopened, { solved: false, solvedAt: null, regressionCount: 0, state: 'open' });
    })(t);
  });

  test('delete removes the ticket and its occurrences; ids are not reused', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch([occurrence({ hash: h }), occurrence({ hash: h })]);
      const [other] = await b.recordBatch([occurrence({ hash: hash() })]);
      await b.deleteTicket(o!.ticketId);
      t.is(await b.getTicket(o!.ticketId), null);
      t.is(await b.countTickets(), 1);
      const missing = await t.throwsAsync(b.getOccurrences(o!.ticketId));
      t.is((missing as LogticketsError).code, 'TICKET_NOT_FOUND');
      const twice = await t.throwsAsync(b.deleteTicket(o!.ticketId));
      t.is((twice as LogticketsError).code, 'TICKET_NOT_FOUND');
      const [back] = await b.recordBatch([occurrence({ hash: h })]);
      t.true(back!.created);
      t.true(back!.ticketId > other!.ticketId);
      t.is(back!.occurrenceCount, 1);
    })(t);
  });

  test('bad arguments are typed errors that name the argument', async (t) => {
    await withSubject(async (_s, b) => {
      const cases: Array<[Promise<unknown>, RegExp]> = [
        [b.recordBatch([occurrence({ hash: 'not-a-hash' })]), /occurrences\[0\]\.hash/],
        [b.recordBatch([occurrence({ hash: hash(), time: 'yesterday' })]), /occurrences\[0\]\.time/],
        [b.getTickets({ limit: -1 }), /limit/],
        [b.getTickets({ offset: 1.5 }), /offset/],
        [b.getTickets({ orderBy: 'title' as never }), /orderBy/],
        [b.getTickets({ filter: { colour: 'red' } as never }), /unknown filter colour/],
        [b.countTickets({ solved: 'yes' as never }), /filter\.solved/],
        [b.getTicket(0), /ticket id/],
        [b.getOccurrences(1, { orderBy: 'level' as never }), /orderBy/],
      ];
      for (const [promise, message] of cases) {
        const error = await t.throwsAsync(promise, { instanceOf: LogticketsError, message });
        t.is((error as LogticketsError).code, 'INVALID_ARGUMENT');
      }
      t.is(await b.getTicket(987_654), null);
      for (const change of [b.solveTicket(987_654), b.reopenTicket(987_654), b.deleteTicket(987_654)]) {
        const error = await t.throwsAsync(change);
        t.is((error as LogticketsError).code, 'TICKET_NOT_FOUND');
      }
    })(t);
  });

  test('occurrences page newest first, with a stable tie-breaker', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch(
        Array.from({ length: 7 }, (_, i) => occurrence({ hash: h, time: at(i < 4 ? 0 : i), data: { i } })),
      );
      const pages = [
        ...(await b.getOccurrences(o!.ticketId, { limit: 3 })),
        ...(await b.getOccurrences(o!.ticketId, { limit: 3, offset: 3 })),
        ...(await b.getOccurrences(o!.ticketId, { limit: 3, offset: 6 })),
      ];
      t.deepEqual(
        pages.map((p) => (p.data as { i: number }).i),
        [6, 5, 4, 3, 2, 1, 0],
      );
      const oldest = await b.getOccurrences(o!.ticketId, { orderBy: 'time', limit: 2 });
      t.deepEqual(
        oldest.map((p) => (p.data as { i: number }).i),
        [0, 1],
      );
    })(t);
  });

  test('links: one claim wins, the link is shared, expired claims are taken over', async (t) => {
    await withSubject(async (s, b) => {
      t.true(isTicketStore(b));
      const store = b as TicketStore;
      const key = { hash: hash(), appId: 'app', tracker: 'trac:https://trac.example.org' };
      const claims = await Promise.all(
        Array.from({ length: 12 }, (_, i) => {
          const on = i % 2 === 0 ? store : (s.sibling() as TicketStore);
          return on.open().then(() => on.claimLink(key, `owner-${i}`, 60_000));
        }),
      );
      t.is(claims.filter((c) => c.state === 'claimed').length, 1, 'exactly one claim wins');
      const winner = `owner-${claims.findIndex((c) => c.state === 'claimed')}`;
      t.true(claims.every((c) => c.state === 'claimed' || (c.state === 'pending' && c.owner === winner)));
      t.false(await store.completeLink(key, 'someone-else', '99'));
      t.true(await store.completeLink(key, winner, '17'));
      t.deepEqual(await store.claimLink(key, 'late', 60_000), { state: 'linked', externalId: '17' });
      t.like(await store.getLink(key), { externalId: '17', owner: null, claimedUntil: null });

      const crashed = { ...key, hash: hash() };
      t.is((await store.claimLink(crashed, 'crashed-process', 1)).state, 'claimed');
      await new Promise((r) => setTimeout(r, 20));
      t.is((await store.claimLink(crashed, 'survivor', 60_000)).state, 'claimed', 'an expired claim is taken over');
      t.false(await store.completeLink(crashed, 'crashed-process', '1'), 'the old owner can no longer complete');

      const released = { ...key, hash: hash() };
      await store.claimLink(released, 'a', 60_000);
      await store.releaseLink(released, 'a');
      t.is((await store.claimLink(released, 'b', 60_000)).state, 'claimed');

      await store.setLink(released, '5');
      t.deepEqual(await store.claimLink(released, 'c', 60_000), { state: 'linked', externalId: '5' });
      await store.deleteLink(released);
      t.is(await store.getLink(released), null);
    })(t);
  });

  test('outbox: leases are exclusive, expire, and retries wait their turn', async (t) => {
    await withSubject(async (s, b) => {
      const store = b as TicketStore;
      const other = s.sibling() as TicketStore;
      await other.open();
      const tracker = 'github:acme/shop';
      await store.enqueueOutbox(
        Array.from({ length: 5 }, (_, i) => ({ tracker, hash: hash(), appId: 'app', payload: { n: i, text: 'ünï' } })),
      );
      await store.enqueueOutbox([{ tracker: 'trac:x', hash: hash(), appId: 'app', payload: {} }]);
      t.is(await store.countOutbox(tracker), 5);
      t.is(await store.countOutbox(), 6);

      const [mine, theirs] = await Promise.all([
        store.leaseOutbox(tracker, 'p1', 3, 60_000),
        other.leaseOutbox(tracker, 'p2', 3, 60_000),
      ]);
      t.is(mine.length + theirs.length, 5);
      t.is(new Set([...mine, ...theirs].map((e) => e.id)).size, 5, 'no entry leased twice');
      const first = [...mine, ...theirs].sort((x, y) => x.id - y.id)[0]!;
      t.deepEqual(first.payload, { n: 0, text: 'ünï' });
      t.is(first.attempts, 0);

      await store.completeOutbox(
        mine.map((e) => e.id),
        'p1',
      );
      await store.completeOutbox(
        theirs.map((e) => e.id),
        'not-the-owner',
      );
      t.is(await store.countOutbox(tracker), theirs.length, 'only the owner completes');

      const entry = theirs[0]!;
      const later = new Date(Date.now() + 60_000).toISOString();
      await other.retryOutbox(entry.id, 'p2', later, 'HTTP 503');
      t.false(
        (await store.leaseOutbox(tracker, 'p3', 10, 60_000)).some((e) => e.id === entry.id),
        'a postponed entry is not due yet',
      );
      await other.retryOutbox(entry.id, 'p3', new Date(0).toISOString(), 'ignored: p3 does not hold it');

      const expiring = { tracker: 'trac:y', hash: hash(), appId: 'app', payload: { x: 1 } };
      await store.enqueueOutbox([expiring]);
      t.is((await store.leaseOutbox('trac:y', 'crashed', 10, 1)).length, 1);
      await new Promise((r) => setTimeout(r, 20));
      const taken = await other.leaseOutbox('trac:y', 'survivor', 10, 60_000);
      t.is(taken.length, 1, 'an expired lease is leased again');
      await other.retryOutbox(taken[0]!.id, 'survivor', new Date(Date.now() - 1).toISOString(), 'timeout');
      const retried = await store.leaseOutbox('trac:y', 'third', 10, 60_000);
      t.like(retried[0], { attempts: 1, lastError: 'timeout' });
      if (other !== store) await other.close();
    })(t);
  });

  test('a batch applied again under the same id changes nothing; its outbox entries are written with it', async (t) => {
    await withSubject(async (_s, b) => {
      const store = b as TicketStore;
      const h = hash();
      const batch = [occurrence({ hash: h }), occurrence({ hash: h })];
      const outbox = groupByTicket(batch).map((delta) => ({
        tracker: 'trac:x',
        hash: h,
        appId: 'app',
        payload: summarize(delta) as unknown as JsonValue,
      }));
      const [first] = await store.recordBatch(batch, { batchId: 'batch-a', outbox });
      const [again] = await store.recordBatch(batch, { batchId: 'batch-a', outbox });
      t.like(first, { created: true, occurrenceCount: 2 });
      t.like(again, { ticketId: first!.ticketId, created: false, occurrenceCount: 2 });
      t.is((await store.getOccurrences(first!.ticketId)).length, 2);
      t.is(await store.countOutbox('trac:x'), 1, 'the outbox entry went in once, with the counts');
      await store.recordBatch(batch, { batchId: 'batch-b', outbox });
      t.is((await store.getTicket(first!.ticketId))!.occurrenceCount, 4);
      // The pending delivery of the problem took the second batch in.
      t.is(await store.countOutbox('trac:x'), 1);
      const [leased] = await store.leaseOutbox('trac:x', 'p1', 10, 60_000);
      t.like(leased!.payload, { count: 4 });
    })(t);
  });

  test('comment slots: one comment per interval per linked ticket, across writers', async (t) => {
    await withSubject(async (s, b) => {
      const store = b as TicketStore;
      const key = { hash: hash(), appId: 'app', tracker: 'trac:x' };
      await store.setLink(key, '12');
      const others = [store, ...Array.from({ length: 3 }, () => s.sibling() as TicketStore)];
      await Promise.all(others.map((o) => o.open()));
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) => others[i % others.length]!.claimCommentSlot(key, 60_000)),
      );
      t.is(claims.filter((c) => c.granted).length, 1, 'exactly one writer may comment now');
      const refused = claims.find((c) => !c.granted) as { granted: false; nextAt: string };
      const wait = Date.parse(refused.nextAt) - Date.now();
      t.true(wait > 55_000 && wait <= 60_000, `next slot in about a minute (${wait} ms)`);
      await new Promise((r) => setTimeout(r, 15));
      t.true((await store.claimCommentSlot(key, 10)).granted, 'a short interval has passed');
    })(t);
  });

  test('postponed deliveries wait without counting as failed attempts', async (t) => {
    await withSubject(async (_s, b) => {
      const store = b as TicketStore;
      await store.enqueueOutbox([{ tracker: 'gh:x', hash: hash(), appId: 'app', payload: { n: 1 } }]);
      const [entry] = await store.leaseOutbox('gh:x', 'p1', 10, 60_000);
      await store.postponeOutbox([entry!.id], 'p1', new Date(Date.now() + 60_000).toISOString());
      t.deepEqual(await store.leaseOutbox('gh:x', 'p2', 10, 60_000), [], 'not due yet');
      const [again] = await store.leaseOutbox('gh:x', 'p2', 10, 60_000);
      t.is(again, undefined);
      await store.enqueueOutbox([]);
      // Due again: bring it forward by postponing to the past (only the holder may).
      await store.postponeOutbox([entry!.id], 'p1', new Date(0).toISOString());
      t.deepEqual(
        await store.leaseOutbox('gh:x', 'p2', 10, 60_000),
        [],
        'p1 no longer holds it, so its postponement did nothing',
      );
    })(t);
  });
}
