/**
 * Ticket states in the MongoDB store beyond the shared cases: documents of
 * an older version (no mutedAt, stateAt or state) read with those as null,
 * keep the state they had (open, solved, regressed) in reads and in state
 * filters, and change and regress like new ones. A reopen at the very time
 * of the last regression leaves the ticket regressed, in reads and filters
 * alike.
 */

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoDBBackend } from '../../../src/backends/mongodb/mongodb-backend.js';
import { hash, occurrence } from '../../conformance/backend-suite.js';
import { serverAvailable } from '../../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../../services/mongodb/mongo-server.js';

let shared: Promise<MongoServer> | undefined;
const mongo = () => (shared ??= startMongo());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

const HASHES = { open: 'c'.repeat(40), solved: 'd'.repeat(40), regressed: 'e'.repeat(40) } as const;
const AT = new Date(Date.UTC(2025, 2, 1, 10));
const SOLVED_AT = new Date(Date.UTC(2025, 2, 1, 10, 5));
const REGRESSED_AT = new Date(Date.UTC(2025, 2, 1, 10, 9));

/** Tickets and a link as the previous version wrote them. */
async function writeOldTickets(url: string, database: string): Promise<void> {
  const client = new MongoClient(url);
  try {
    const db = client.db(database);
    const tickets = db.collection('logtickets_tickets');
    await tickets.createIndex({ appId: 1, hash: 1 }, { unique: true, name: 'ticket_key' });
    await db
      .collection('logtickets_occurrences')
      .createIndex({ ticketId: 1, time: -1, _id: -1 }, { name: 'by_ticket' });
    const ticket = (id: number, h: string, fields: object) => ({
      _id: id as never,
      appId: 'app',
      hash: h,
      level: 14,
      channel: 'shop',
      location: `src/${id}.ts:1`,
      function: null,
      title: `problem ${id}`,
      firstSeen: AT,
      lastSeen: AT,
      occurrenceCount: 2,
      solved: false,
      solvedAt: null,
      regressionCount: 0,
      lastRegressionAt: null,
      batches: [],
      ...fields,
    });
    await tickets.insertMany([
      ticket(1, HASHES.open, {}),
      ticket(2, HASHES.solved, { solved: true, solvedAt: SOLVED_AT }),
      ticket(3, HASHES.regressed, { regressionCount: 1, lastRegressionAt: REGRESSED_AT }),
    ]);
    await db.collection('logtickets_counters').insertOne({ _id: 'tickets' as never, seq: 3 });
    await db.collection('logtickets_links').insertOne({
      tracker: 'gh',
      appId: 'app',
      hash: HASHES.solved,
      externalId: '21',
      owner: null,
      claimedUntil: null,
    });
  } finally {
    await client.close();
  }
}

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('older ticket documents keep their state, filter by it, and change like new ones', async (t) => {
    const { url } = await mongo();
    const database = `s${randomBytes(5).toString('hex')}`;
    await writeOldTickets(url, database);

    const reader = new MongoDBBackend(url, { database, readOnly: true });
    t.teardown(() => reader.close());
    const unchanged = { muted: false, mutedAt: null, stateChangedAt: null };
    t.like(await reader.getTicket(1), { ...unchanged, state: 'open' });
    t.like(await reader.getTicket(2), { ...unchanged, state: 'solved', solvedAt: SOLVED_AT.toISOString() });
    t.like(await reader.getTicket(3), { ...unchanged, state: 'regressed' });
    const ids = async (filter: object) =>
      (await reader.getTickets({ filter, orderBy: 'id' })).map((x) => x.id) as number[];
    t.deepEqual(await ids({ state: 'open' }), [1]);
    t.deepEqual(await ids({ state: 'solved' }), [2]);
    t.deepEqual(await ids({ state: 'regressed' }), [3]);
    t.deepEqual(await ids({ state: 'muted' }), []);
    t.deepEqual(await ids({ state: ['open', 'regressed'] }), [1, 3]);
    t.deepEqual(await ids({ muted: false }), [1, 2, 3]);
    t.is(await reader.countTickets({ muted: true }), 0);
    t.like(await reader.getLink({ tracker: 'gh', appId: 'app', hash: HASHES.solved }), { state: null, stateAt: null });

    const store = new MongoDBBackend(url, { database });
    t.teardown(() => store.close());
    await store.open();
    const recurrence = new Date(SOLVED_AT.getTime() + 61_000).toISOString();
    const [outcome] = await store.recordBatch([occurrence({ hash: HASHES.solved, time: recurrence })]);
    t.like(outcome, { ticketId: 2, regressed: true, occurrenceCount: 3 });
    t.like(await store.getTicket(2), { state: 'regressed', stateChangedAt: recurrence });
    const [counted] = await store.recordBatch([occurrence({ hash: HASHES.open })]);
    t.like(counted, { ticketId: 1, created: false, occurrenceCount: 3 });
    t.like(await store.muteTicket(3, { at: AT.toISOString() }), { state: 'muted', mutedAt: AT.toISOString() });
    t.deepEqual(await ids({ state: 'regressed' }), [2]);
    t.deepEqual(await ids({ state: 'open' }), [1], 'counted without a state change: still open');
    t.deepEqual(await ids({ state: 'muted' }), [3]);
    t.deepEqual(await ids({ muted: false }), [1, 2]);

    await store.setLinkState({ tracker: 'gh', appId: 'app', hash: HASHES.solved }, 'open', recurrence);
    t.deepEqual(
      (await store.getLinksByExternalId('gh', ['21'])).map((l) => [l.hash, l.state, l.stateAt]),
      [[HASHES.solved, 'open', recurrence]],
    );
  });

  test('a reopen at the very time of the last regression leaves it regressed, in reads and filters', async (t) => {
    const { url } = await mongo();
    const store = new MongoDBBackend(url, { database: `s${randomBytes(5).toString('hex')}` });
    t.teardown(() => store.close());
    const h = hash();
    const [o] = await store.recordBatch([occurrence({ hash: h, time: '2025-03-01T10:00:00.000Z' })]);
    await store.solveTicket(o!.ticketId, { at: '2025-03-01T10:00:10.000Z' });
    await store.recordBatch([occurrence({ hash: h, time: '2025-03-01T10:05:00.000Z' })]);
    const tie = await store.reopenTicket(o!.ticketId, { at: '2025-03-01T10:05:00.000Z' });
    t.like(tie, { state: 'regressed', stateChangedAt: '2025-03-01T10:05:00.000Z' });
    t.is(await store.countTickets({ state: 'regressed' }), 1);
    t.is(await store.countTickets({ state: 'open' }), 0);
    const later = await store.reopenTicket(o!.ticketId, { at: '2025-03-01T10:05:00.001Z' });
    t.is(later.state, 'open');
    t.is(await store.countTickets({ state: 'open' }), 1);
    t.is(await store.countTickets({ state: 'regressed' }), 0);
  });
}
