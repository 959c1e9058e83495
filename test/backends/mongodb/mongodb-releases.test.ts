/**
 * Releases in the MongoDB store beyond the shared cases (release-cases.ts):
 * ticket and occurrence documents written before there were releases have
 * none of the new fields. They read as no releases, no environments and
 * solved without a release, filter as such, and take releases and
 * environments from new occurrences like new documents; no migration.
 */

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { MongoDBBackend } from '../../../src/backends/mongodb/mongodb-backend.js';
import { occurrence } from '../../conformance/backend-suite.js';
import { serverAvailable } from '../../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../../services/mongodb/mongo-server.js';

let shared: Promise<MongoServer> | undefined;
const mongo = () => (shared ??= startMongo());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

const HASHES = { open: 'a1'.repeat(20), solved: 'b2'.repeat(20) } as const;
const AT = new Date(Date.UTC(2025, 2, 1, 10));
const SOLVED_AT = new Date(Date.UTC(2025, 2, 1, 10, 5));
const seconds = (n: number) => new Date(SOLVED_AT.getTime() + n * 1_000).toISOString();

/** Two tickets and their occurrences as the previous version wrote them (with states, without releases). */
async function writeOldDocuments(url: string, database: string): Promise<void> {
  const client = new MongoClient(url);
  try {
    const db = client.db(database);
    const tickets = db.collection('logtickets_tickets');
    await tickets.createIndex({ appId: 1, hash: 1 }, { unique: true, name: 'ticket_key' });
    const occurrences = db.collection('logtickets_occurrences');
    await occurrences.createIndex({ ticketId: 1, time: -1, _id: -1 }, { name: 'by_ticket' });
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
      occurrenceCount: 1,
      solved: false,
      solvedAt: null,
      regressionCount: 0,
      lastRegressionAt: null,
      mutedAt: null,
      stateAt: null,
      state: 'open',
      batches: [],
      ...fields,
    });
    await tickets.insertMany([
      ticket(1, HASHES.open, {}),
      ticket(2, HASHES.solved, { solved: true, solvedAt: SOLVED_AT, stateAt: SOLVED_AT, state: 'solved' }),
    ]);
    await occurrences.insertMany([
      { _id: 1 as never, ticketId: 1, time: AT, data: { old: 1 }, b: 'old', i: 0 },
      { _id: 2 as never, ticketId: 2, time: AT, data: { old: 2 }, b: 'old', i: 1 },
    ]);
    await db.collection('logtickets_counters').insertMany([
      { _id: 'tickets' as never, seq: 2 },
      { _id: 'occurrences' as never, seq: 2 },
    ]);
  } finally {
    await client.close();
  }
}

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('older documents read without releases or environments and take them from new occurrences', async (t) => {
    const { url } = await mongo();
    const database = `r${randomBytes(5).toString('hex')}`;
    await writeOldDocuments(url, database);

    const reader = new MongoDBBackend(url, { database, readOnly: true });
    t.teardown(() => reader.close());
    const none = { firstRelease: null, lastRelease: null, environments: [], solvedInRelease: null };
    t.like(await reader.getTicket(1), { ...none, state: 'open' });
    t.deepEqual((await reader.getTicket(2))!.environments, []);
    t.like(await reader.getTicket(2), { ...none, state: 'solved' });
    t.deepEqual(await reader.getOccurrences(1), [
      { id: 1, ticketId: 1, time: AT.toISOString(), data: { old: 1 }, release: null, environment: null },
    ]);
    t.is(await reader.countTickets({ release: '1.0.0' }), 0);
    t.is(await reader.countTickets({ environment: 'production' }), 0);

    const store = new MongoDBBackend(url, { database });
    t.teardown(() => store.close());
    // Solved without a release: the grace window decides, whatever the occurrence's release.
    const late = { hash: HASHES.solved, release: '0.1.0', environment: 'production' };
    const [inFlight] = await store.recordBatch([occurrence({ ...late, time: seconds(30) })]);
    t.like(inFlight, { ticketId: 2, regressed: false, occurrenceCount: 2 });
    const [after] = await store.recordBatch([occurrence({ ...late, time: seconds(61) })]);
    t.like(after, { ticketId: 2, regressed: true, occurrenceCount: 3 });
    t.like(await store.getTicket(2), { state: 'regressed', firstRelease: '0.1.0', lastRelease: '0.1.0' });
    t.deepEqual((await store.getTicket(2))!.environments, ['production']);

    await store.recordBatch([occurrence({ hash: HASHES.open, time: seconds(70), release: '0.2.0' })]);
    t.like(await store.getTicket(1), { firstRelease: '0.2.0', lastRelease: '0.2.0' });
    t.deepEqual((await store.getTicket(1))!.environments, []);
    t.deepEqual(
      (await store.getTickets({ filter: { release: '0.1.0' } })).map((x) => x.id),
      [2],
    );
    t.deepEqual(
      (await store.getTickets({ filter: { environment: 'production' } })).map((x) => x.id),
      [2],
    );
    t.like(await store.solveTicket(1, { at: seconds(80) }), { solvedInRelease: '0.2.0' }, 'the newest release seen');
  });
}
