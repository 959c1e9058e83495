/**
 * Conformance: analytics (src/backends/analytics.ts) in every store. Bars
 * per minute, hour and day are exact for occurrences at known times, windows
 * include `from` and exclude `to`, buckets start on UTC boundaries, and an
 * occurrence that stands for several (`count`) counts as that many in every
 * figure; the all-tickets histogram, new tickets and top tickets keep what a
 * filter keeps; sparklines cut a window into equal slices as sparkIndex()
 * does. Times are given explicitly, so nothing here depends on the store's
 * clock. The history of state changes and regressions, the list filters
 * search, seenSince and seenBefore, bad arguments and the cross-process case
 * are in analytics-history-cases.ts.
 */

import type { TestFn } from 'ava';
import type { OccurrenceInput } from '../../src/index.js';
import { analyticsHistoryCases } from './analytics-history-cases.js';
import { analytics, hash, idOf, occurrence, recordEach, T, type WithAnalyticsSubject } from './analytics-subject.js';

const bar = (start: string, count: number) => ({ start: T(start), count });

export function analyticsCases(test: TestFn, withSubject: WithAnalyticsSubject): void {
  test('analytics: a ticket histogram has exact bars per hour, minute and day; from included, to excluded', async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const [h, other] = [hash(), hash()];
      // Out of order and in two batches; `count` entries stand for several occurrences.
      await b.recordBatch([
        occurrence(h, '10:59:59.999'),
        occurrence(h, '10:00:00.000'),
        occurrence(h, '2025-02-28T23:59:59.999Z'),
        occurrence(h, '11:30:00.000', { count: 5 }),
        occurrence(h, '10:00:59.999', { count: 2 }),
        occurrence(other, '10:30:00.000', { count: 3 }),
      ]);
      await b.recordBatch([
        occurrence(h, '12:00:00.000'),
        occurrence(h, '09:59:59.999'),
        occurrence(h, '10:01:00.000'),
        occurrence(h, '00:00:00.000'),
        occurrence(h, '2025-03-02T00:00:00.000Z'),
        occurrence(other, '11:00:00.000'),
      ]);
      const id = await idOf(b, h);

      const hours = { from: T('10:00:00.000'), to: T('12:00:00.000'), bucket: 'hour' } as const;
      t.deepEqual(await b.histogram(id, hours), [bar('10:00:00.000', 5), bar('11:00:00.000', 5)]);
      t.deepEqual(await b.histogram(id, { from: T('10:00:00.000'), to: T('10:02:00.000'), bucket: 'minute' }), [
        bar('10:00:00.000', 3),
        bar('10:01:00.000', 1),
      ]);
      const days = await b.histogram(id, {
        from: '2025-02-28T00:00:00.000Z',
        to: '2025-03-03T00:00:00.000Z',
        bucket: 'day',
      });
      t.deepEqual(days, [
        bar('2025-02-28T00:00:00.000Z', 1),
        bar('2025-03-01T00:00:00.000Z', 13),
        bar('2025-03-02T00:00:00.000Z', 1),
      ]);
      const ticket = await b.getTicket(id);
      t.is(
        days.reduce((n, x) => n + x.count, 0),
        ticket!.occurrenceCount,
        "the bars add up to the ticket's count",
      );

      // A window that starts inside a bucket: the bar starts on the hour, with what falls in the window.
      t.deepEqual(await b.histogram(id, { from: T('10:30:00.000'), to: T('11:30:00.000'), bucket: 'hour' }), [
        bar('10:00:00.000', 1),
      ]);
      // Times in another offset, or without milliseconds, name the same instants.
      t.deepEqual(
        await b.histogram(id, { from: '2025-03-01T11:00:00+01:00', to: '2025-03-01T12:00Z', bucket: 'hour' }),
        [bar('10:00:00.000', 5), bar('11:00:00.000', 5)],
      );
      t.deepEqual(
        await b.histogram(id, { from: T('12:00:00.000'), to: T('12:00:00.001'), bucket: 'minute' }),
        [bar('12:00:00.000', 1)],
        'from is included',
      );
      t.deepEqual(
        await b.histogram(id, { from: T('12:00:00.001'), to: T('13:00:00.000'), bucket: 'minute' }),
        [],
        'nothing in the window: no bars',
      );
      t.deepEqual(await b.histogram(await idOf(b, other), hours), [bar('10:00:00.000', 3), bar('11:00:00.000', 1)]);
    })(t);
  });

  test('analytics: the all-tickets histogram and new tickets per bucket keep the tickets a filter keeps', async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const [hA, hB, hC, hD] = [hash(), hash(), hash(), hash()];
      const ids = await recordEach(b, [
        occurrence(hA, '10:05:00.000', { appId: 'a', title: 'Payment failed', count: 2 }),
        occurrence(hB, '11:00:00.000', { appId: 'b', level: 15, title: 'Disk full' }),
        occurrence(hC, '10:30:00.000', { appId: 'a', title: 'Timeout' }),
        occurrence(hD, '2025-02-27T09:00:00.000Z', { appId: 'a', level: 13, title: 'Old one' }),
      ]);
      await b.recordBatch([
        occurrence(hA, '2025-03-02T08:00:00.000Z', { appId: 'a' }),
        occurrence(hB, '11:10:00.000', { appId: 'b', level: 15, count: 4 }),
        occurrence(hD, '10:45:00.000', { appId: 'a', level: 13 }),
      ]);
      t.is(new Set(ids).size, 4);
      await b.solveTicket(ids[2]!, { at: T('12:00:00.000') });

      const days = { from: T('00:00:00.000'), to: '2025-03-03T00:00:00.000Z', bucket: 'day' } as const;
      const march = (first: number, second?: number) =>
        second === undefined
          ? [bar('00:00:00.000', first)]
          : [bar('00:00:00.000', first), bar('2025-03-02T00:00:00.000Z', second)];
      t.deepEqual(await b.histogram(null, days), march(9, 1));
      t.deepEqual(await b.histogram(null, { from: T('10:00:00.000'), to: T('12:00:00.000'), bucket: 'hour' }), [
        bar('10:00:00.000', 4),
        bar('11:00:00.000', 5),
      ]);
      t.deepEqual(await b.histogram(null, { ...days, filter: { level: 15 } }), march(5));
      t.deepEqual(await b.histogram(null, { ...days, filter: { appId: 'a' } }), march(4, 1));
      t.deepEqual(await b.histogram(null, { ...days, filter: { state: 'solved' } }), march(1));
      t.deepEqual(await b.histogram(null, { ...days, filter: { state: ['open', 'regressed'] } }), march(8, 1));
      t.deepEqual(await b.histogram(null, { ...days, filter: { appId: 'a', minLevel: 14 } }), march(3, 1));
      t.deepEqual(await b.histogram(null, { ...days, filter: { search: 'FULL' } }), march(5));
      t.deepEqual(await b.histogram(null, { ...days, filter: { appId: 'nobody' } }), []);

      t.deepEqual(await b.newTickets(days), march(3), 'the one first seen on the 27th is not new in the window');
      t.deepEqual(await b.newTickets({ ...days, filter: { appId: 'a' } }), march(2));
      t.deepEqual(await b.newTickets({ ...days, filter: { state: 'solved' } }), march(1));
      t.deepEqual(await b.newTickets({ from: T('10:00:00.000'), to: T('11:00:00.000'), bucket: 'hour' }), [
        bar('10:00:00.000', 2),
      ]);
      t.deepEqual(await b.newTickets({ ...days, from: '2025-02-27T09:00:00.000Z' }), [
        bar('2025-02-27T00:00:00.000Z', 1),
        bar('00:00:00.000', 3),
      ]);
    })(t);
  });

  test('analytics: sparklines cut the window into equal slices, zeros included, for many tickets at once', async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const [hp, hq] = [hash(), hash()];
      const ms = (n: number) => new Date(Date.parse(T('10:00:00.000')) + n).toISOString();
      const [p, q] = await recordEach(b, [occurrence(hp, ms(0)), occurrence(hq, ms(20))]);
      await b.recordBatch([
        occurrence(hp, ms(-1)),
        occurrence(hp, ms(3), { count: 2 }),
        occurrence(hp, ms(4)),
        occurrence(hp, ms(7)),
        occurrence(hp, ms(8), { count: 3 }),
        occurrence(hp, ms(9)),
        occurrence(hp, ms(10)),
      ]);
      const unknown = 987_654;
      const window = { from: ms(0), to: ms(10) };
      // Ten milliseconds in 3 slices of 4: the last is shorter.
      const three = await b.sparklines([p!, q!, unknown], { ...window, points: 3 });
      t.deepEqual([...three.keys()], [p, q, unknown]);
      t.deepEqual(three.get(p!), [3, 2, 4]);
      t.deepEqual(three.get(q!), [0, 0, 0], 'nothing in the window');
      t.deepEqual(three.get(unknown), [0, 0, 0], 'no such ticket');
      t.deepEqual((await b.sparklines([p!], { ...window, points: 1 })).get(p!), [9]);
      t.deepEqual((await b.sparklines([p!], { ...window, points: 4 })).get(p!), [1, 3, 4, 1]);
      t.deepEqual((await b.sparklines([p!], { ...window, points: 6 })).get(p!), [1, 2, 1, 1, 4, 0], 'slices of 2');
      t.deepEqual((await b.sparklines([p!], { ...window, points: 10 })).get(p!), [1, 0, 0, 2, 1, 0, 0, 1, 3, 1]);
      t.deepEqual((await b.sparklines([p!, p!], { ...window, points: 2 })).get(p!), [4, 5]);
      t.is((await b.sparklines([], { ...window, points: 5 })).size, 0);

      // A page of the list: 60 tickets in one call, each busy in its own hour of the day.
      const hashes = Array.from({ length: 60 }, () => hash());
      await b.recordBatch(
        hashes.flatMap((h, i) =>
          Array.from({ length: (i % 5) + 1 }, (_, k) =>
            occurrence(h, `2025-03-02T${String(i % 24).padStart(2, '0')}:${String(k * 7).padStart(2, '0')}:00.000Z`),
          ),
        ),
      );
      const tickets = await b.getTickets({ filter: { seenSince: '2025-03-02T00:00:00.000Z' }, limit: 100 });
      const byHash = new Map(tickets.map((x) => [x.hash, x.id]));
      const ids = hashes.map((h) => byHash.get(h)!);
      const day = { from: '2025-03-02T00:00:00.000Z', to: '2025-03-03T00:00:00.000Z', points: 24 };
      const lines = await b.sparklines(ids, day);
      t.is(lines.size, 60);
      ids.forEach((id, i) => {
        const expected = new Array<number>(24).fill(0);
        expected[i % 24] = (i % 5) + 1;
        t.deepEqual(lines.get(id), expected, `ticket ${i}`);
      });
      // The same occurrences in the all-tickets histogram of those tickets, by the hour and by the minute.
      const minutes = new Map<string, number>();
      const hours = new Map<string, number>();
      hashes.forEach((_, i) => {
        const hour = `2025-03-02T${String(i % 24).padStart(2, '0')}`;
        hours.set(hour, (hours.get(hour) ?? 0) + (i % 5) + 1);
        for (let k = 0; k <= i % 5; k++) {
          const minute = `${hour}:${String(k * 7).padStart(2, '0')}`;
          minutes.set(minute, (minutes.get(minute) ?? 0) + 1);
        }
      });
      const bars = (counts: Map<string, number>, rest: string) =>
        [...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([start, count]) => ({ start: `${start}${rest}`, count }));
      // (Options a method does not read, as `points` here, are let through.)
      const filter = { seenSince: day.from };
      t.deepEqual(await b.histogram(null, { ...day, bucket: 'hour', filter }), bars(hours, ':00:00.000Z'));
      t.deepEqual(await b.histogram(null, { ...day, bucket: 'minute', filter }), bars(minutes, ':00.000Z'));
    })(t);
  });

  test('analytics: top tickets of a window, most first, ties by id, with a limit and a filter', async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const h = Array.from({ length: 6 }, () => hash());
      const ids = await recordEach(b, [
        occurrence(h[0]!, '10:00:00.000', { count: 5 }),
        occurrence(h[1]!, '10:10:00.000'),
        occurrence(h[2]!, '10:20:00.000', { count: 2, level: 15 }),
        occurrence(h[3]!, '10:30:00.000'),
        occurrence(h[4]!, '09:00:00.000', { count: 10 }),
        occurrence(h[5]!, '11:00:00.000', { count: 2 }),
      ]);
      await b.recordBatch([
        occurrence(h[1]!, '10:11:00.000'),
        occurrence(h[1]!, '10:12:00.000'),
        occurrence(h[2]!, '10:21:00.000', { level: 15 }),
        occurrence(h[5]!, '10:59:59.999'),
      ]);
      const [A, B, C, D, , F] = ids as [number, number, number, number, number, number];
      const window = { from: T('10:00:00.000'), to: T('11:00:00.000') };
      t.deepEqual(await b.topTickets(window), [
        { ticketId: A, count: 5 },
        { ticketId: B, count: 3 },
        { ticketId: C, count: 3 },
        { ticketId: D, count: 1 },
        { ticketId: F, count: 1 },
      ]);
      t.deepEqual(await b.topTickets({ ...window, limit: 2 }), [
        { ticketId: A, count: 5 },
        { ticketId: B, count: 3 },
      ]);
      t.deepEqual(await b.topTickets({ ...window, filter: { level: 15 } }), [{ ticketId: C, count: 3 }]);
      t.deepEqual(await b.topTickets({ from: T('09:00:00.000'), to: T('12:00:00.000'), limit: 1 }), [
        { ticketId: ids[4]!, count: 10 },
      ]);
      t.deepEqual(await b.topTickets({ from: T('12:00:00.000'), to: T('13:00:00.000') }), []);
    })(t);
  });

  test("analytics: a ticket's messages with counts, most frequent first, ties by message, with a limit", async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const [h, other] = [hash(), hash()];
      const said = (message: unknown, over: Partial<OccurrenceInput> = {}) =>
        occurrence(h, '10:00:00.000', { data: { message, extra: { n: 1 } } as never, ...over });
      await b.recordBatch([
        said('b'),
        said('c'),
        said('a', { count: 2 }),
        said('c'),
        said('Z'),
        said('b'),
        said('c'),
        said('Z'),
        occurrence(h, '10:00:00.000', { data: { other: 1 } }),
        said(42),
        said(null),
        occurrence(other, '10:00:00.000', { data: { message: 'c' } }),
      ]);
      const id = await idOf(b, h);
      t.deepEqual(await b.messages(id), [
        { message: 'c', count: 3 },
        { message: 'Z', count: 2 },
        { message: 'a', count: 2 },
        { message: 'b', count: 2 },
      ]);
      t.deepEqual(await b.messages(id, { limit: 2 }), [
        { message: 'c', count: 3 },
        { message: 'Z', count: 2 },
      ]);
      const many = hash();
      const [m] = await b.recordBatch(
        Array.from({ length: 25 }, (_, i) =>
          occurrence(many, '10:00:00.000', { data: { message: `failure ${String(i).padStart(2, '0')}` } }),
        ),
      );
      const listed = await b.messages(m!.ticketId);
      t.is(listed.length, 20, 'twenty by default');
      t.deepEqual(listed[0], { message: 'failure 00', count: 1 });
      t.is((await b.messages(m!.ticketId, { limit: 1000 })).length, 25);
    })(t);
  });

  test("analytics: a ticket's messages among its newest occurrences only, when asked", async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const h = hash();
      const at = (time: string, message: string, over: Partial<OccurrenceInput> = {}) =>
        occurrence(h, time, { data: { message }, ...over });
      // Written out of time order: "newest" is by the occurrences' time, not by when they were written.
      await b.recordBatch([
        at('10:00:05.000', 'new'),
        at('10:00:01.000', 'old', { count: 3 }),
        at('10:00:04.000', 'new'),
      ]);
      await b.recordBatch([at('10:00:02.000', 'old'), at('10:00:03.000', 'middle')]);
      const id = await idOf(b, h);
      t.deepEqual(await b.messages(id), [
        { message: 'old', count: 4 },
        { message: 'new', count: 2 },
        { message: 'middle', count: 1 },
      ]);
      t.deepEqual(await b.messages(id, { newest: 2 }), [{ message: 'new', count: 2 }]);
      t.deepEqual(await b.messages(id, { newest: 4 }), [
        { message: 'new', count: 2 },
        { message: 'middle', count: 1 },
        { message: 'old', count: 1 },
      ]);
      await t.throwsAsync(b.messages(id, { newest: 0 }), {
        code: 'INVALID_ARGUMENT',
        message: /^newest must be an integer from 1 to 1000000/,
      });
    })(t);
  });

  analyticsHistoryCases(test, withSubject);
}
