/**
 * Conformance: releases and environments (src/backends/release-order.ts,
 * src/backends/ticket-merge.ts) in every store. A ticket keeps its first and
 * last release and its environments, and its occurrences theirs; a ticket
 * solved in a release is reopened only by an occurrence from a later
 * release, versions ordered as versions and other names by first sighting;
 * a solve names the newest release seen unless told otherwise; lists and
 * counts filter by release and environment; concurrent first sightings in
 * several processes end as one release with the earliest time. Times are
 * given explicitly, so nothing here depends on the store's clock.
 */

import type { TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LogticketsError, type OccurrenceInput, type TicketBackend, type TicketFilter } from '../../src/index.js';
import { releaseRows } from './release-rows.js';

const exec = promisify(execFile);

/** What these cases need of the suite's subject (backend-suite.ts gives more). */
interface ReleaseSubject {
  readonly child?: { readonly uri: string; readonly prefix?: string };
}

type WithReleaseSubject = (
  fn: (s: ReleaseSubject, b: TicketBackend) => Promise<void>,
) => (t: { teardown(fn: () => Promise<void> | void): void }) => Promise<void>;

const hash = (): string => randomBytes(20).toString('hex');

/** `seconds` after a fixed moment, as a store keeps times. */
const at = (seconds: number): string => new Date(Date.UTC(2025, 2, 1, 10) + seconds * 1_000).toISOString();

const occurrence = (
  h: string,
  seconds: number,
  release: string | null | undefined,
  over: Partial<OccurrenceInput> = {},
): OccurrenceInput => ({
  hash: h,
  appId: 'app',
  level: 14,
  channel: 'shop.payments',
  location: 'src/pay.ts:42',
  function: 'charge',
  title: 'card declined',
  time: at(seconds),
  data: { seconds },
  ...(release === undefined ? {} : { release }),
  ...over,
});

export function releaseCases(test: TestFn, withSubject: WithReleaseSubject): void {
  test('releases: a ticket keeps its first and last release and its environments; occurrences keep theirs', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch([
        occurrence(h, 100, '1.2.0', { environment: 'production' }),
        occurrence(h, 50, null, { environment: 'staging' }),
      ]);
      const id = o!.ticketId;
      t.like(await b.getTicket(id), { firstRelease: '1.2.0', lastRelease: '1.2.0' });
      // Arriving later, but from earlier: it becomes the first release.
      await b.recordBatch([occurrence(h, 20, '1.1.0', { environment: 'production' })]);
      await b.recordBatch([
        occurrence(h, 300, 'abc123', { environment: 'canary' }),
        occurrence(h, 200, '1.3.0'),
        occurrence(h, 250, undefined, { environment: null }),
      ]);
      const ticket = await b.getTicket(id);
      t.like(ticket, { firstRelease: '1.1.0', lastRelease: 'abc123', occurrenceCount: 6, solvedInRelease: null });
      t.deepEqual(ticket!.environments, ['canary', 'production', 'staging']);
      const stored = await b.getOccurrences(id, { orderBy: 'time', limit: 10 });
      t.deepEqual(
        stored.map((x) => [x.time, x.release, x.environment]),
        [
          [at(20), '1.1.0', 'production'],
          [at(50), null, 'staging'],
          [at(100), '1.2.0', 'production'],
          [at(200), '1.3.0', null],
          [at(250), null, null],
          [at(300), 'abc123', 'canary'],
        ],
      );
      // A later occurrence without a release leaves the last release as it is.
      await b.recordBatch([occurrence(h, 400, null)]);
      t.like(await b.getTicket(id), { lastRelease: 'abc123' });

      // Releases seen at one time: by name, whichever arrived first.
      for (const order of [
        ['zulu', 'alpha'],
        ['alpha', 'zulu'],
      ]) {
        const tie = hash();
        const [first] = await b.recordBatch([occurrence(tie, 500, order[0])]);
        await b.recordBatch([occurrence(tie, 500, order[1])]);
        t.like(
          await b.getTicket(first!.ticketId),
          { firstRelease: 'alpha', lastRelease: 'zulu' },
          order.join(' then '),
        );
      }

      const [plain] = await b.recordBatch([occurrence(hash(), 0, undefined)]);
      t.like(await b.getTicket(plain!.ticketId), { firstRelease: null, lastRelease: null, solvedInRelease: null });
      t.deepEqual((await b.getTicket(plain!.ticketId))!.environments, []);
    })(t);
  });

  test('releases: a ticket keeps the first 50 environments seen, sorted', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const name = (i: number) => `env-${String(i).padStart(2, '0')}`;
      const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => name(from + i));
      const [o] = await b.recordBatch(range(20, 50).map((e, i) => occurrence(h, i, null, { environment: e })));
      // 25 new ones, room for 20: the first in order are kept.
      await b.recordBatch([...range(50, 55), ...range(0, 20)].map((e) => occurrence(h, 60, null, { environment: e })));
      t.deepEqual((await b.getTicket(o!.ticketId))!.environments, range(0, 50));
      await b.recordBatch([occurrence(h, 70, null, { environment: 'production' })]);
      t.deepEqual((await b.getTicket(o!.ticketId))!.environments, range(0, 50), 'full: no more are added');
      t.is(await b.countTickets({ environment: 'env-52' }), 0);
      t.is(await b.countTickets({ environment: 'env-49' }), 1);
    })(t);
  });

  test('releases: solved in a version, a recurrence from it or an older one is counted, a later one reopens', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch([occurrence(h, 0, '1.3.9'), occurrence(h, 10, '1.4.0')]);
      const id = o!.ticketId;
      const solved = await b.solveTicket(id, { at: at(100), release: 'v1.4.0' });
      t.like(solved, { state: 'solved', solvedInRelease: 'v1.4.0', solvedAt: at(100) });
      t.deepEqual(await b.getTicket(id), solved);

      // An hour later: the grace window alone would have reopened it.
      for (const [seconds, release] of [
        [3_700, '1.3.9'],
        [3_800, '1.4.0'],
        [3_900, 'v1.4.0'],
        [4_000, '1.4.0-rc.2'],
      ] as const) {
        const [counted] = await b.recordBatch([occurrence(h, seconds, release)]);
        t.false(counted!.regressed, `${release} is not later than v1.4.0`);
      }
      t.like(await b.getTicket(id), {
        state: 'solved',
        solvedInRelease: 'v1.4.0',
        occurrenceCount: 6,
        regressionCount: 0,
        lastSeen: at(4_000),
      });

      // One second after the solve, within the grace window: a later release reopens at once.
      const [later] = await b.recordBatch([occurrence(h, 101, '1.10.0')]);
      t.like(later, { regressed: true, occurrenceCount: 7 });
      t.like(await b.getTicket(id), {
        state: 'regressed',
        solved: false,
        solvedAt: null,
        solvedInRelease: null,
        regressionCount: 1,
        lastRegressionAt: at(101),
        stateChangedAt: at(101),
        lastRelease: '1.4.0-rc.2',
      });

      // An occurrence of a later release from before the solve still reopens; the change is dated by the solve.
      await b.solveTicket(id, { at: at(5_000), release: '1.10.0' });
      const [early] = await b.recordBatch([occurrence(h, 4_990, '2.0.0')]);
      t.true(early!.regressed);
      t.like(await b.getTicket(id), { state: 'regressed', lastRegressionAt: at(5_000), stateChangedAt: at(5_000) });

      // Occurrences without a release follow the grace window, also beside ones with a release.
      await b.solveTicket(id, { at: at(6_000), release: '2.0.0' });
      const [inFlight] = await b.recordBatch([occurrence(h, 6_010, null), occurrence(h, 6_500, '1.0.0')]);
      t.false(inFlight!.regressed, 'without a release, within the grace window');
      const [unreleased] = await b.recordBatch([occurrence(h, 6_100, null), occurrence(h, 6_600, '2.0.0')]);
      t.true(unreleased!.regressed, 'without a release, after the grace window');
      t.like(await b.getTicket(id), { regressionCount: 3, state: 'regressed', stateChangedAt: at(6_600) });
    })(t);
  });

  test('releases: other names are ordered by first sighting, also when an earlier one arrives late', async (t) => {
    await withSubject(async (_s, b) => {
      const [h0, h1, h2] = [hash(), hash(), hash()];
      // First sightings: alpha 0, bravo 100, charlie 300 (on another ticket of the app).
      await b.recordBatch([occurrence(h0, 0, 'alpha'), occurrence(h0, 100, 'bravo'), occurrence(h0, 300, 'charlie')]);
      const [o1] = await b.recordBatch([occurrence(h1, 150, 'bravo')]);
      const id = o1!.ticketId;
      await b.solveTicket(id, { at: at(400), release: 'bravo' });
      const counted = await b.recordBatch([occurrence(h1, 500, 'alpha'), occurrence(h1, 510, 'bravo')]);
      t.false(counted[0]!.regressed, 'alpha and bravo are not later than bravo');
      // Sighted now for the first time, but from before bravo: an older release.
      const [late] = await b.recordBatch([occurrence(h1, 600, 'hotfix'), occurrence(h1, 50, 'hotfix')]);
      t.false(late!.regressed, 'hotfix was first seen (at 50) before bravo (at 100)');
      const [older] = await b.recordBatch([occurrence(h1, 700, 'hotfix')]);
      t.false(older!.regressed);
      t.like(await b.getTicket(id), { state: 'solved', solvedInRelease: 'bravo', occurrenceCount: 6 });
      // A release first seen after bravo (charlie at 300) reopens, even from before the solve.
      const [after] = await b.recordBatch([occurrence(h1, 350, 'charlie')]);
      t.true(after!.regressed);
      t.like(await b.getTicket(id), { state: 'regressed', regressionCount: 1, lastRegressionAt: at(400) });

      // A version and a name: by first sighting too.
      const [o2] = await b.recordBatch([occurrence(h2, 200, '2.0.0')]);
      await b.solveTicket(o2!.ticketId, { at: at(900), release: '2.0.0' });
      const [before] = await b.recordBatch([occurrence(h2, 1_000, 'bravo')]);
      t.false(before!.regressed, 'bravo (100) was first seen before 2.0.0 (200)');
      const [named] = await b.recordBatch([occurrence(h2, 1_100, 'charlie')]);
      t.true(named!.regressed, 'charlie (300) was first seen after 2.0.0 (200)');

      // A release never seen counts as first seen at the solve.
      const h3 = hash();
      const [o3] = await b.recordBatch([occurrence(h3, 0, 'alpha')]);
      await b.solveTicket(o3!.ticketId, { at: at(250), release: 'unseen-build' });
      const [unseen] = await b.recordBatch([occurrence(h3, 2_000, 'charlie')]);
      t.true(unseen!.regressed, 'charlie (300) came after the solve (250)');
    })(t);
  });

  test('releases: a solve names the newest release seen for its app unless told; null solves without one', async (t) => {
    await withSubject(async (_s, b) => {
      const [h, other, lone] = [hash(), hash(), hash()];
      const [o] = await b.recordBatch([
        occurrence(h, 0, '1.2.0'),
        occurrence(h, 10, '1.10.0'),
        occurrence(h, 20, '1.9.0'),
        occurrence(other, 30, '9.0.0', { appId: 'other-app' }),
        occurrence(lone, 40, null, { appId: 'lone-app' }),
      ]);
      const id = o!.ticketId;
      t.like(await b.solveTicket(id, { at: at(100) }), { solvedInRelease: '1.10.0' }, 'by version, not by text');
      const loneId = (await b.getTickets({ filter: { appId: 'lone-app' } }))[0]!.id;
      t.like(await b.solveTicket(loneId, { at: at(100) }), { state: 'solved', solvedInRelease: null });

      // Solved without a release: the grace window decides, whatever the release.
      t.like(await b.solveTicket(id, { at: at(200), release: null }), { solvedInRelease: null, solvedAt: at(200) });
      const [within] = await b.recordBatch([occurrence(h, 230, '2.0.0')]);
      t.false(within!.regressed, 'within the grace window');
      const [past] = await b.recordBatch([occurrence(h, 300, '1.0.0')]);
      t.true(past!.regressed, 'after the grace window, even from an older release');

      // Reopening and muting clear it; an older change leaves it as it is.
      t.like(await b.solveTicket(id, { at: at(400), release: '1.2.0' }), { solvedInRelease: '1.2.0' });
      t.like(await b.solveTicket(id, { at: at(399), release: '1.9.0' }), { solvedInRelease: '1.2.0' });
      t.like(await b.reopenTicket(id, { at: at(410) }), { state: 'open', solvedInRelease: null });
      await b.solveTicket(id, { at: at(420), release: '1.2.0' });
      t.like(await b.muteTicket(id, { at: at(430) }), { state: 'muted', solvedInRelease: null });
      t.like(await b.getTicket(id), { solvedInRelease: null });
    })(t);
  });

  test('releases: lists and counts filter by release and by environment', async (t) => {
    await withSubject(async (_s, b) => {
      const hashes = Array.from({ length: 4 }, hash);
      const outcomes = await b.recordBatch([
        occurrence(hashes[0]!, 0, '1.0.0', { environment: 'production' }),
        occurrence(hashes[1]!, 0, '1.1.0', { environment: 'staging' }),
        occurrence(hashes[2]!, 0, '1.0.0', { environment: 'production' }),
        occurrence(hashes[2]!, 10, '1.1.0', { environment: 'staging' }),
        occurrence(hashes[3]!, 0, null),
      ]);
      const id = (i: number) => outcomes.find((o) => o.hash === hashes[i])!.ticketId;
      await b.solveTicket(id(0), { at: at(100) });
      const cases: Array<[TicketFilter, number[]]> = [
        [{ release: '1.0.0' }, [0, 2]],
        [{ release: '1.1.0' }, [1, 2]],
        [{ release: '2.0.0' }, []],
        [{ environment: 'production' }, [0, 2]],
        [{ environment: 'staging' }, [1, 2]],
        [{ environment: 'nowhere' }, []],
        [{ environment: 'staging', release: '1.0.0' }, [2]],
        [{ release: '1.0.0', state: 'solved' }, [0]],
        [{ release: '1.0.0', solved: false, environment: 'production' }, [2]],
        [{ release: '1.1.0', appId: 'other' }, []],
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
      }
      const paged = [
        ...(await b.getTickets({ filter: { release: '1.1.0' }, orderBy: 'id', limit: 1 })),
        ...(await b.getTickets({ filter: { release: '1.1.0' }, orderBy: 'id', limit: 1, offset: 1 })),
      ];
      t.deepEqual(
        paged.map((x) => x.id),
        [id(1), id(2)].sort((x, y) => x - y),
        'pages of a filtered list',
      );
    })(t);
  });

  test('releases: bad releases and environments are INVALID_ARGUMENT naming them', async (t) => {
    await withSubject(async (_s, b) => {
      const h = hash();
      const [o] = await b.recordBatch([occurrence(h, 0, '1.0.0')]);
      const id = o!.ticketId;
      const cases: Array<[Promise<unknown>, RegExp]> = [
        [b.solveTicket(id, { release: 5 as never }), /options\.release/],
        [b.solveTicket(id, { release: '' }), /options\.release/],
        [b.solveTicket(id, { release: 'two\nlines' }), /options\.release/],
        [b.solveTicket(id, { at: at(1), release: 'x'.repeat(201) }), /options\.release/],
        [b.recordBatch([occurrence(h, 1, 7 as never)]), /occurrences\[0\]\.release/],
        [b.recordBatch([occurrence(h, 1, null, { environment: 'a\tb' })]), /occurrences\[0\]\.environment/],
        [b.getTickets({ filter: { release: 3 as never } }), /filter\.release/],
        [b.countTickets({ environment: null as never }), /filter\.environment/],
      ];
      for (const [promise, message] of cases) {
        const error = await t.throwsAsync(promise, { instanceOf: LogticketsError, message });
        t.is((error as LogticketsError).code, 'INVALID_ARGUMENT', error?.message);
      }
      t.like(await b.getTicket(id), { occurrenceCount: 1, state: 'open', solvedInRelease: null });
      const [long] = await b.recordBatch([occurrence(h, 1, 'x'.repeat(200), { environment: 'é'.repeat(200) })]);
      t.like(long, { occurrenceCount: 2 }, '200 characters are fine');
    })(t);
  });

  test('releases: first sightings from several OS processes at once end as one release, the earliest, and the rule holds', async (t) => {
    await withSubject(async (s, b) => {
      const [kept, reopened] = [hash(), hash()];
      // Both solved in "base", first seen at 100.
      const setup = await b.recordBatch([occurrence(kept, 100, 'base'), occurrence(reopened, 100, 'base')]);
      for (const o of setup) await b.solveTicket(o.ticketId, { at: at(150), release: 'base' });
      // Each writer sights "older" (from before base) and "newer" (after it) for the first time, at once.
      const writers = [0, 1, 2];
      const batches = (w: number) =>
        Array.from({ length: 8 }, (_, k) => [
          occurrence(kept, 10 + w * 10 + k, 'older'),
          occurrence(reopened, 200 + w * 10 + k, 'newer'),
        ]);
      if (s.child === undefined) {
        await Promise.all(writers.map(async (w) => Promise.all(batches(w).map((batch) => b.recordBatch(batch)))));
      } else {
        const fixture = fileURLToPath(new URL('../fixtures/record-releases.ts', import.meta.url));
        const startAt = Date.now() + 3_000;
        await Promise.all(
          writers.map((w) =>
            exec(
              process.execPath,
              ['--import', 'tsx', fixture, JSON.stringify({ ...s.child, startAt, batches: batches(w) })],
              { timeout: 60_000 },
            ),
          ),
        );
        t.deepEqual(await releaseRows(s.child), [
          { appId: 'app', release: 'base', firstSeen: at(100) },
          { appId: 'app', release: 'newer', firstSeen: at(200) },
          { appId: 'app', release: 'older', firstSeen: at(10) },
        ]);
      }
      const tickets = new Map((await b.getTickets({ limit: 10 })).map((x) => [x.hash, x]));
      t.like(tickets.get(kept), { state: 'solved', solvedInRelease: 'base', occurrenceCount: 25, regressionCount: 0 });
      t.like(tickets.get(reopened), {
        state: 'regressed',
        solvedInRelease: null,
        occurrenceCount: 25,
        regressionCount: 1,
      });
      t.like(tickets.get(kept), { firstRelease: 'older', lastRelease: 'base' });
      t.like(tickets.get(reopened), { firstRelease: 'base', lastRelease: 'newer' });
      // The order holds afterwards: solved in "newer", "older" and "base" are counted, a later name reopens.
      const id = tickets.get(reopened)!.id;
      await b.solveTicket(id, { at: at(500) });
      t.like(await b.getTicket(id), { solvedInRelease: 'newer' }, 'the newest release seen');
      const counted = await b.recordBatch([occurrence(reopened, 600, 'older'), occurrence(reopened, 610, 'base')]);
      t.false(counted[0]!.regressed);
      const [last] = await b.recordBatch([occurrence(reopened, 620, 'newest')]);
      t.true(last!.regressed);
    })(t);
  });
}
