/**
 * Conformance, continued from analytics-cases.ts: a ticket's history of state
 * changes and regressions (only changes that are applied and change the
 * state, oldest first, ties in the order of TICKET_EVENT_KINDS); the list
 * filters search (a substring, case ignored, no wildcards), seenSince and
 * seenBefore; bad arguments, each INVALID_ARGUMENT naming it, and unknown
 * tickets; and histograms exact while three OS processes record at once.
 */

import type { TestFn } from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LogticketsError, type OccurrenceInput, type TicketFilter } from '../../src/index.js';
import { analytics, hash, idOf, occurrence, recordEach, T, type WithAnalyticsSubject } from './analytics-subject.js';

/** `minutes` after 10:00 on 2025-03-01. */
const at = (minutes: number): string => new Date(Date.parse(T('10:00:00.000')) + minutes * 60_000).toISOString();

const day = { from: T('00:00:00.000'), to: '2025-03-02T00:00:00.000Z' };

export function analyticsHistoryCases(test: TestFn, withSubject: WithAnalyticsSubject): void {
  test("analytics: a ticket's history keeps each applied change of state and each regression, with releases", async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const h = hash();
      const [id] = await recordEach(b, [occurrence(h, at(0), { release: '1.0.0' })]);
      const x = id!;
      t.deepEqual(await b.ticketEvents(x), [], 'nothing happened yet');
      await b.solveTicket(x, { at: at(10), release: '1.0.0' });
      await b.solveTicket(x, { at: at(11), release: '1.0.0' }); // solved already: no change of state
      t.like(await b.muteTicket(x, { at: at(5) }), { state: 'solved' }, 'an older change is not applied');
      await b.reopenTicket(x, { at: at(20) });
      await b.reopenTicket(x, { at: at(21) }); // open already
      await b.muteTicket(x, { at: at(30) });
      await b.recordBatch([occurrence(h, at(31), { release: '2.0.0' })]); // muted: counted only
      await b.unmuteTicket(x, { at: at(40) });
      await b.solveTicket(x, { at: at(50), release: '2.0.0' });
      await b.recordBatch([occurrence(h, at(55), { release: '2.0.0' })]); // the release it was solved in
      const [regressed] = await b.recordBatch([occurrence(h, at(56), { release: '3.0.0', count: 4 })]);
      t.true(regressed!.regressed);
      await b.solveTicket(x, { at: at(60), release: null });
      const inGrace = new Date(Date.parse(at(60)) + 30_000).toISOString();
      const afterGrace = new Date(Date.parse(at(60)) + 61_000).toISOString();
      await b.recordBatch([occurrence(h, inGrace)]);
      await b.recordBatch([occurrence(h, afterGrace)]);
      await b.reopenTicket(x, { at: at(65) });
      t.like(await b.getTicket(x), { state: 'open', regressionCount: 2 });
      const event = (kind: string, time: string, release: string | null = null) => ({
        ticketId: x,
        kind,
        at: time,
        release,
      });
      t.deepEqual(await b.ticketEvents(x), [
        event('solved', at(10), '1.0.0'),
        event('reopened', at(20)),
        event('muted', at(30)),
        event('unmuted', at(40)),
        event('solved', at(50), '2.0.0'),
        event('regressed', at(56), '3.0.0'),
        event('solved', at(60)),
        event('regressed', afterGrace),
        event('reopened', at(65)),
      ]);

      // Events of one time: in the order of their kinds, whatever order they were made in.
      const hy = hash();
      const [y] = await recordEach(b, [occurrence(hy, at(0))]);
      await b.muteTicket(y!, { at: at(10) });
      await b.unmuteTicket(y!, { at: at(20) });
      await b.solveTicket(y!, { at: at(20), release: '2.0.0' });
      // From a later release but from before the solve: it regressed when it was solved.
      await b.recordBatch([occurrence(hy, at(15), { release: '4.0.0' })]);
      t.deepEqual(
        (await b.ticketEvents(y!)).map((e) => [e.kind, e.at, e.release]),
        [
          ['muted', at(10), null],
          ['solved', at(20), '2.0.0'],
          ['unmuted', at(20), null],
          ['regressed', at(20), '4.0.0'],
        ],
      );

      // A deleted ticket takes its history with it.
      await b.deleteTicket(x);
      const gone = await t.throwsAsync(b.ticketEvents(x), { instanceOf: LogticketsError });
      t.is(gone?.code, 'TICKET_NOT_FOUND');
      const [again] = await recordEach(b, [occurrence(h, at(70))]);
      t.deepEqual(await b.ticketEvents(again!), []);
    })(t);
  });

  test('analytics: tickets are filtered by a search of their title and by when they were seen', async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const h = Array.from({ length: 5 }, () => hash());
      const ids = await recordEach(b, [
        occurrence(h[0]!, '10:00:00.000', { title: 'Disk 100% full' }),
        occurrence(h[1]!, '09:00:00.000', { title: 'disk_full on /var' }),
        occurrence(h[2]!, '11:00:00.000', { title: 'diskXfull' }),
        occurrence(h[3]!, '08:00:00.000', { title: 'DISK 1000 FULL' }),
        occurrence(h[4]!, '10:00:00.000', { title: 'Payment failed' }),
      ]);
      await b.recordBatch([
        occurrence(h[1]!, '11:00:00.000'),
        occurrence(h[2]!, '12:00:00.000'),
        occurrence(h[3]!, '08:30:00.000'),
      ]);
      // The tickets a filter keeps, as 1 to 5; the count agrees.
      const kept = async (filter: TicketFilter) => {
        const tickets = await b.getTickets({ filter, orderBy: 'id', limit: 100 });
        t.is(await b.countTickets(filter), tickets.length, JSON.stringify(filter));
        return tickets.map((x) => ids.indexOf(x.id) + 1);
      };
      t.deepEqual(await kept({ search: 'disk' }), [1, 2, 3, 4]);
      t.deepEqual(await kept({ search: 'DISK' }), [1, 2, 3, 4], 'case is ignored');
      t.deepEqual(await kept({ search: '100%' }), [1], '% is a character like any other');
      t.deepEqual(await kept({ search: 'k_f' }), [2], '_ too');
      t.deepEqual(await kept({ search: '%' }), [1]);
      t.deepEqual(await kept({ search: '_' }), [2]);
      t.deepEqual(await kept({ search: 'ON /VAR' }), [2]);
      t.deepEqual(await kept({ search: '' }), [1, 2, 3, 4, 5]);
      t.deepEqual(await kept({ search: 'no such title' }), []);
      t.deepEqual(await kept({ seenSince: T('11:00:00.000') }), [2, 3], 'last seen at or after');
      t.deepEqual(await kept({ seenSince: '2025-03-01T12:00:00+01:00' }), [2, 3]);
      t.deepEqual(await kept({ seenSince: T('12:00:00.001') }), []);
      t.deepEqual(await kept({ seenBefore: T('10:00:00.000') }), [2, 4], 'first seen before');
      t.deepEqual(await kept({ seenSince: T('10:00:00.000'), seenBefore: T('11:00:00.000') }), [1, 2, 5]);
      t.deepEqual(await kept({ seenSince: T('10:00:00.000'), seenBefore: T('11:00:00.000'), search: 'DISK' }), [1, 2]);
      t.deepEqual(await b.histogram(null, { ...day, bucket: 'day', filter: { search: '100%' } }), [
        { start: T('00:00:00.000'), count: 1 },
      ]);
      t.deepEqual(await b.topTickets({ ...day, filter: { search: 'disk', seenBefore: T('10:00:00.000') } }), [
        { ticketId: ids[1]!, count: 2 },
        { ticketId: ids[3]!, count: 2 },
      ]);
      const refused: Array<[Promise<unknown>, RegExp]> = [
        [b.getTickets({ filter: { search: 'x'.repeat(201) } }), /filter\.search/],
        [b.countTickets({ search: 7 as never }), /filter\.search/],
        [b.countTickets({ seenSince: 'yesterday' }), /filter\.seenSince/],
        [b.getTickets({ filter: { seenBefore: 5 as never } }), /filter\.seenBefore/],
        [b.histogram(null, { ...day, bucket: 'day', filter: { seenSince: 'soon' } }), /filter\.seenSince/],
      ];
      for (const [promise, message] of refused) {
        const error = await t.throwsAsync(promise, { instanceOf: LogticketsError, message });
        t.is(error?.code, 'INVALID_ARGUMENT');
      }
    })(t);
  });

  test('analytics: bad arguments are INVALID_ARGUMENT naming them; an unknown ticket is TICKET_NOT_FOUND', async (t) => {
    await withSubject(async (_s, backend) => {
      const b = analytics(t, backend);
      const [id, deleted] = await recordEach(b, [
        occurrence(hash(), '10:00:00.000'),
        occurrence(hash(), '10:00:00.000'),
      ]);
      await b.deleteTicket(deleted!);
      const hours = { ...day, bucket: 'hour' } as const;
      const bad: Array<[Promise<unknown>, RegExp]> = [
        [b.histogram(id!, { ...hours, from: 'noon' }), /\bfrom\b/],
        [b.histogram(id!, { ...hours, to: undefined as never }), /\bto\b/],
        [b.histogram(id!, { ...hours, from: day.to, to: day.from }), /to .* must come after from/],
        [b.histogram(id!, { ...hours, bucket: 'week' as never }), /\bbucket\b/],
        [b.histogram(id!, { from: '2025-01-01T00:00:00Z', to: day.to, bucket: 'minute' }), /buckets/],
        [b.histogram(0, hours), /ticket id/],
        [b.histogram(id!, { ...hours, filter: { level: 14 } }), /\bfilter\b/],
        [b.histogram(null, { ...hours, filter: { colour: 'red' } as never }), /unknown filter colour/],
        [b.histogram(null, 'hourly' as never), /histogram options must be an object/],
        [b.newTickets({ ...day } as never), /\bbucket\b/],
        [b.sparklines('1' as never, { ...day, points: 5 }), /ticketIds/],
        [b.sparklines([1.5], { ...day, points: 5 }), /ticket id/],
        [
          b.sparklines(
            Array.from({ length: 501 }, (_, i) => i + 1),
            { ...day, points: 5 },
          ),
          /ticketIds/,
        ],
        [b.sparklines([id!], { ...day, points: 0 }), /\bpoints\b/],
        [b.sparklines([id!], { ...day, points: 201 }), /\bpoints\b/],
        [b.sparklines([id!], { ...day, points: 2.5 }), /\bpoints\b/],
        [b.sparklines([id!], { from: day.from, points: 5 } as never), /\bto\b/],
        [b.topTickets({ ...day, limit: 0 }), /\blimit\b/],
        [b.topTickets({ ...day, limit: 1001 }), /\blimit\b/],
        [b.topTickets({ to: day.to } as never), /\bfrom\b/],
        [b.messages(id!, { limit: 2.5 }), /\blimit\b/],
        [b.messages(-1), /ticket id/],
        [b.ticketEvents('1' as never), /ticket id/],
      ];
      for (const [promise, message] of bad) {
        const error = await t.throwsAsync(promise, { instanceOf: LogticketsError, message });
        t.is(error?.code, 'INVALID_ARGUMENT', error?.message);
      }
      for (const promise of [b.histogram(deleted!, hours), b.messages(deleted!), b.ticketEvents(deleted!)]) {
        const error = await t.throwsAsync(promise, { instanceOf: LogticketsError });
        t.is(error?.code, 'TICKET_NOT_FOUND', error?.message);
      }
      t.deepEqual((await b.sparklines([deleted!], { ...day, points: 2 })).get(deleted!), [0, 0]);
    })(t);
  });

  test('analytics: three OS processes recording at once give exactly the expected bars', async (t) => {
    await withSubject(async (s, backend) => {
      const b = analytics(t, backend);
      const [hot, cold] = [hash(), hash()];
      const own = [hash(), hash(), hash()];
      // Writer w's k-th batch: 25 entries over four hours, every fourth standing for three.
      const batches = (w: number): OccurrenceInput[][] =>
        Array.from({ length: 4 }, (_, k) =>
          Array.from({ length: 25 }, (_, j) =>
            occurrence([hot, cold, own[w]!][j % 3]!, at((w * 37 + k * 53 + j * 11) % 240), {
              ...(j % 4 === 0 ? { count: 3 } : {}),
              data: { message: `writer ${w}`, k, j },
            }),
          ),
        );
      const writers = [0, 1, 2];
      if (s.child === undefined) {
        await Promise.all(writers.map(async (w) => Promise.all(batches(w).map((batch) => b.recordBatch(batch)))));
      } else {
        await inProcesses(s.child, writers.map(batches));
      }
      // The same occurrences counted here: hour (0 to 3 after 10:00) → count, all and per fingerprint.
      const expected = new Map<string, number[]>([['all', [0, 0, 0, 0]]]);
      for (const entry of writers.flatMap(batches).flat()) {
        const hour = Math.floor((Date.parse(entry.time) - Date.parse(at(0))) / 3_600_000);
        for (const key of ['all', entry.hash]) {
          if (!expected.has(key)) expected.set(key, [0, 0, 0, 0]);
          expected.get(key)![hour]! += entry.count ?? 1;
        }
      }
      const bars = (counts: number[]) =>
        counts.flatMap((count, i) => (count === 0 ? [] : [{ start: at(i * 60), count }]));
      const window = { from: at(0), to: at(240), bucket: 'hour' } as const;
      t.deepEqual(await b.histogram(null, window), bars(expected.get('all')!));
      const total = expected.get('all')!.reduce((n, c) => n + c, 0);
      t.deepEqual(await b.histogram(null, { ...window, bucket: 'day' }), [{ start: T('00:00:00.000'), count: total }]);
      for (const h of [hot, cold, ...own]) {
        const id = await idOf(b, h);
        t.deepEqual(await b.histogram(id, window), bars(expected.get(h)!), `ticket of ${h}`);
        const count = expected.get(h)!.reduce((n, c) => n + c, 0);
        t.like(await b.getTicket(id), { occurrenceCount: count });
        t.deepEqual((await b.sparklines([id], { from: at(0), to: at(240), points: 4 })).get(id), expected.get(h));
      }
      t.is(await b.countTickets(), 5);
    })(t);
  });
}

/**
 * Run each writer's batches in an OS process of its own: all open the store,
 * and once every one has said it is ready, all are told to write at once.
 */
async function inProcesses(
  child: { readonly uri: string; readonly prefix?: string },
  work: readonly OccurrenceInput[][][],
): Promise<void> {
  const fixture = fileURLToPath(new URL('../fixtures/record-when-told.ts', import.meta.url));
  const processes = work.map((batches) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify({ ...child, batches })], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<void>((resolve, reject) =>
      proc.once('close', (code) =>
        code === 0 && stdout.includes('done\n') ? resolve() : reject(new Error(`a writer failed (${code}): ${stderr}`)),
      ),
    );
    // Awaited below; until then a failure must not count as unhandled.
    done.catch(() => undefined);
    const ready = new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('ready\n')) resolve();
      });
      done.then(() => reject(new Error('a writer ended before it was ready')), reject);
    });
    return { proc, ready, done };
  });
  try {
    await Promise.all(processes.map((p) => p.ready));
    for (const p of processes) p.proc.stdin.end('go\n');
    await Promise.all(processes.map((p) => p.done));
  } finally {
    for (const p of processes) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
  }
}
