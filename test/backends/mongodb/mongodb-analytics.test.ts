/**
 * Analytics in the MongoDB store beyond the shared cases, looked at through
 * the driver too:
 * - occurrences keep their weight and the starts of their minute, hour and
 *   day, tickets those of their first sighting (mongodb-buckets.ts);
 *   documents of an older version have none of these, count as one in every
 *   figure, and an older ticket counted again gets its first buckets right;
 * - a regression whose writer died before writing it into the history is
 *   shown from the ticket meanwhile, written once by the batch's retry, and
 *   never twice, also when a copy was made already (mongodb-ticket-events.ts);
 * - sparklines, counted from the stored buckets coarsest first
 *   (mongodb-sparklines.ts), agree with sparkIndex() for windows and slices
 *   of any alignment;
 * - the indexes analytics rely on exist, and a deleted ticket takes its
 *   history with it;
 * - a title search is a literal text even with pattern characters and
 *   control characters in it.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MongoClient, type Db } from 'mongodb';
import { MongoDBBackend } from '../../../src/index.js';
import { sparkIndex } from '../../../src/backends/analytics.js';
import { hash, occurrence } from '../../conformance/backend-suite.js';
import { serverAvailable } from '../../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../../services/mongodb/mongo-server.js';

const exec = promisify(execFile);
const partialBatch = fileURLToPath(new URL('../../fixtures/partial-batch.ts', import.meta.url));

let shared: Promise<MongoServer> | undefined;
const mongo = () => (shared ??= startMongo());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

/** An ISO time on 2025-03-01 (UTC) from `hh:mm`. */
const T = (hhmm: string): string => `2025-03-01T${hhmm}:00.000Z`;
const D = (hhmm: string): Date => new Date(T(hhmm));

/** A store in a database of its own, and the same database seen through the driver. */
async function subject(t: { teardown(fn: () => Promise<void>): void }): Promise<{ store: MongoDBBackend; db: Db }> {
  const { url } = await mongo();
  const database = `a${randomBytes(5).toString('hex')}`;
  const store = new MongoDBBackend(url, { database });
  const client = new MongoClient(url);
  t.teardown(async () => {
    await store.close();
    await client.close();
  });
  await store.open();
  return { store, db: client.db(database) };
}

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('documents of an older version, without weight or buckets, count as one in every figure', async (t) => {
    const { store, db } = await subject(t);
    const occurrences = db.collection('logtickets_occurrences');
    const tickets = db.collection('logtickets_tickets');
    const h = hash();
    const [outcome] = await store.recordBatch([
      occurrence({ hash: h, time: '2025-03-01T10:05:30.250Z', count: 3, data: { message: 'card declined' } }),
    ]);
    const id = outcome!.ticketId;
    t.like(await occurrences.findOne({ ticketId: id }), {
      weight: 3,
      minute: new Date('2025-03-01T10:05:00.000Z'),
      hour: D('10:00'),
      day: D('00:00'),
    });
    t.like(await tickets.findOne({ _id: id as never }), {
      firstMinute: D('10:05'),
      firstHour: D('10:00'),
      firstDay: D('00:00'),
    });

    // As the previous version wrote them: an occurrence of that ticket, and a ticket with two of its own.
    const older = (n: number, ticketId: number, time: string, message: string) => ({
      _id: n as never,
      ticketId,
      time: D(time),
      data: { message },
      release: null,
      environment: null,
    });
    const oldHash = hash();
    await tickets.insertOne({
      _id: 500 as never,
      appId: 'app',
      hash: oldHash,
      level: 14,
      channel: 'shop',
      location: 'src/old.ts:1',
      function: null,
      title: 'an old problem',
      firstSeen: D('09:00'),
      lastSeen: D('11:59'),
      occurrenceCount: 2,
      solved: false,
      solvedAt: null,
      regressionCount: 0,
      lastRegressionAt: null,
      batches: [],
    });
    await occurrences.insertMany([
      older(9_001, id, '10:20', 'card declined'),
      older(9_002, id, '11:59', 'timeout'),
      older(9_003, 500, '09:00', 'timeout'),
      older(9_004, 500, '11:59', 'timeout'),
    ]);

    const hours = { from: T('09:00'), to: T('12:00'), bucket: 'hour' } as const;
    const bars = (...counts: Array<[string, number]>) => counts.map(([hhmm, count]) => ({ start: T(hhmm), count }));
    t.deepEqual(await store.histogram(id, hours), bars(['10:00', 4], ['11:00', 1]));
    t.deepEqual(await store.histogram(null, hours), bars(['09:00', 1], ['10:00', 4], ['11:00', 2]));
    t.deepEqual(
      await store.histogram(id, { from: T('10:00'), to: T('10:30'), bucket: 'minute' }),
      bars(['10:05', 3], ['10:20', 1]),
    );
    t.deepEqual(await store.histogram(null, { ...hours, filter: { search: 'OLD' } }), bars(['09:00', 1], ['11:00', 1]));
    t.deepEqual(
      (await store.sparklines([id, 500], { from: T('09:00'), to: T('12:00'), points: 3 })).get(id),
      [0, 4, 1],
    );
    t.deepEqual(await store.topTickets({ from: T('09:00'), to: T('12:00') }), [
      { ticketId: id, count: 5 },
      { ticketId: 500, count: 2 },
    ]);
    t.deepEqual(await store.messages(id), [
      { message: 'card declined', count: 4 },
      { message: 'timeout', count: 1 },
    ]);
    t.deepEqual(await store.newTickets(hours), bars(['09:00', 1], ['10:00', 1]));
    t.deepEqual(await store.ticketEvents(500), [], 'an older ticket has no history yet');

    // Counted again, later than its first sighting: its first buckets are those of 09:00, not of the batch.
    await store.recordBatch([occurrence({ hash: oldHash, title: 'an old problem', time: T('12:30') })]);
    t.like(await tickets.findOne({ _id: 500 as never }), { firstHour: D('09:00'), firstMinute: D('09:00') });
    t.deepEqual(await store.newTickets(hours), bars(['09:00', 1], ['10:00', 1]));
    t.deepEqual(
      await store.histogram(500, { ...hours, to: T('13:00') }),
      bars(['09:00', 1], ['11:00', 1], ['12:00', 1]),
    );
  });

  test('a regression is in the history once: written down by the retry of a batch whose writer died', async (t) => {
    const { url } = await mongo();
    const { store, db } = await subject(t);
    const tickets = db.collection('logtickets_tickets');
    const events = db.collection('logtickets_ticket_events');
    const h = hash();
    const [first] = await store.recordBatch([occurrence({ hash: h, time: T('10:00') })]);
    const id = first!.ticketId;
    await store.solveTicket(id, { at: T('10:01'), release: null });
    t.is(await events.countDocuments({ ticketId: id }), 1, 'the solve is written down');
    t.false('pendingEvents' in (await tickets.findOne({ _id: id as never }))!, 'and taken off the ticket');

    // The writer dies right after the update that reopened the ticket.
    const batch = [occurrence({ hash: h, time: T('10:30'), release: '2.0.0' })];
    const killed = await exec(process.execPath, [
      '--import',
      'tsx',
      partialBatch,
      JSON.stringify({
        uri: `${url.replace(/\/?$/, '/')}${db.databaseName}`,
        batchId: 'R',
        occurrences: batch,
        killAfter: 1,
      }),
    ]).catch((error: { signal?: string }) => error);
    t.is((killed as { signal?: string }).signal, 'SIGKILL');
    t.like(await store.getTicket(id), { state: 'regressed', regressionCount: 1 });
    t.is(await events.countDocuments({ ticketId: id }), 1, 'the regression is not in the collection yet');
    const history = [
      { ticketId: id, kind: 'solved', at: T('10:01'), release: null },
      { ticketId: id, kind: 'regressed', at: T('10:30'), release: '2.0.0' },
    ];
    t.deepEqual(await store.ticketEvents(id), history, 'it is read from the ticket meanwhile');

    for (let attempt = 0; attempt < 2; attempt++) {
      const [retried] = await store.recordBatch(batch, { batchId: 'R' });
      t.like(retried, { occurrenceCount: 2 }, 'the retry counts nothing again');
      t.deepEqual(await store.ticketEvents(id), history);
      t.is(await events.countDocuments({ ticketId: id, kind: 'regressed' }), 1);
      t.false('pendingEvents' in (await tickets.findOne({ _id: id as never }))!);
    }

    // A writer that died after copying an event but before taking it off the ticket: shown once, copied once.
    const copied = await events.findOne({ ticketId: id, kind: 'regressed' });
    await tickets.updateOne(
      { _id: id as never },
      { $set: { [`pendingEvents.${String(copied!._id)}`]: { kind: 'regressed', at: D('10:30'), release: '2.0.0' } } },
    );
    t.deepEqual(await store.ticketEvents(id), history);
    await store.recordBatch([occurrence({ hash: h, time: T('10:40') })]);
    t.is(await events.countDocuments({ ticketId: id }), 2);
    t.false('pendingEvents' in (await tickets.findOne({ _id: id as never }))!);
    t.deepEqual(await store.ticketEvents(id), history);
  });

  test('sparklines agree with sparkIndex() for windows and slices of any alignment, older documents too', async (t) => {
    const { store, db } = await subject(t);
    // A fixed pseudo-random sequence: the same cases on every run.
    let seed = 20250301;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const pick = (n: number) => Math.floor(random() * n);
    const start = Date.parse(T('00:00'));
    const span = 3 * 86_400_000;
    const hashes = Array.from({ length: 5 }, () => hash());
    const kept: Array<{ h: number; ms: number; weight: number }> = [];
    const batch = Array.from({ length: 400 }, () => {
      const entry = { h: pick(5), ms: start + pick(span), weight: pick(10) === 0 ? 2 + pick(4) : 1 };
      kept.push(entry);
      const time = new Date(entry.ms).toISOString();
      return occurrence({ hash: hashes[entry.h]!, time, ...(entry.weight > 1 ? { count: entry.weight } : {}) });
    });
    const outcomes = await store.recordBatch(batch);
    const ids = hashes.map((h) => outcomes.find((o) => o.hash === h)!.ticketId);
    // Occurrences as the previous version wrote them: no weight, no buckets.
    const older = Array.from({ length: 40 }, (_, n) => ({ h: pick(5), ms: start + pick(span), weight: 1, n }));
    await db
      .collection('logtickets_occurrences')
      .insertMany(
        older.map((o) => ({ _id: (100_000 + o.n) as never, ticketId: ids[o.h], time: new Date(o.ms), data: {} })),
      );
    kept.push(...older);

    const units = [1, 1_000, 60_000, 3_600_000, 86_400_000];
    for (let round = 0; round < 40; round++) {
      // From and length in whole units of a random size, plus (sometimes) a few ms.
      const unit = units[pick(units.length)]!;
      const from = start - 86_400_000 + pick((span + 86_400_000) / unit) * unit + (pick(3) === 0 ? pick(1_000) : 0);
      const to = from + 1 + pick(Math.min(span, 200 * unit));
      const points = 1 + pick(round % 4 === 0 ? 200 : 30);
      const window = { fromMs: from, toMs: to, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
      const expected = ids.map(() => new Array<number>(points).fill(0));
      for (const o of kept) {
        const i = sparkIndex(o.ms, window, points);
        if (i >= 0) expected[o.h]![i]! += o.weight;
      }
      const lines = await store.sparklines(ids, { from: window.from, to: window.to, points });
      t.deepEqual(
        ids.map((id) => lines.get(id)),
        expected,
        `${window.from} to ${window.to} in ${points}`,
      );
    }
  });

  test('the indexes analytics use exist; a deleted ticket takes its history with it', async (t) => {
    const { store, db } = await subject(t);
    const names = async (collection: string) =>
      (await db.collection(collection).listIndexes().toArray()).map((index) => String(index.name));
    const occurrenceIndexes = await names('logtickets_occurrences');
    t.true(occurrenceIndexes.includes('by_ticket'), 'occurrences by ticket and time');
    t.true(occurrenceIndexes.includes('by_time'), 'occurrences by time');
    t.true((await names('logtickets_tickets')).includes('first_seen'), 'tickets by first sighting');
    t.true((await names('logtickets_ticket_events')).includes('by_ticket'), 'events by ticket and time');

    const [o] = await store.recordBatch([occurrence({ hash: hash(), time: T('10:00') })]);
    await store.muteTicket(o!.ticketId, { at: T('10:05') });
    const events = db.collection('logtickets_ticket_events');
    t.is(await events.countDocuments({ ticketId: o!.ticketId }), 1);
    await store.deleteTicket(o!.ticketId);
    t.is(await events.countDocuments({ ticketId: o!.ticketId }), 0);
  });

  test('a title search is literal text, pattern and control characters included', async (t) => {
    const { store } = await subject(t);
    const titles = ['a.b*(c)', 'axb*(c)', 'line\u0000nul', 'tab\there', '[x]+{2}', 'back\\slash ^$|?'];
    const ids: number[] = [];
    for (const title of titles) ids.push((await store.recordBatch([occurrence({ hash: hash(), title })]))[0]!.ticketId);
    const found = async (search: string) =>
      (await store.getTickets({ filter: { search }, orderBy: 'id' })).map((x) => titles[ids.indexOf(x.id)]);
    t.deepEqual(await found('A.B*(C)'), ['a.b*(c)']);
    t.deepEqual(await found('*(c)'), ['a.b*(c)', 'axb*(c)']);
    t.deepEqual(await found('e\u0000n'), ['line\u0000nul']);
    t.deepEqual(await found('\t'), ['tab\there']);
    t.deepEqual(await found('[X]+{2}'), ['[x]+{2}']);
    t.deepEqual(await found('\\slash ^$|?'), ['back\\slash ^$|?']);
    t.is(await store.countTickets({ search: '.' }), 1);
  });
}
