/**
 * The MongoDB outbox beyond the shared suites. A retried batch whose first
 * attempt merged its delivery and died before the batch ledger merges
 * nothing twice. A MongoDB store written before tracker state and the
 * bounded outbox: a
 * read-only open creates nothing and still answers (tracker state reads as
 * defaults); a writer's open gives old deliveries keys of their own (frozen
 * rows) and creates the new collection and indexes. A postpone that died
 * between merging a row into the pending row and deleting it leaves nothing
 * counted twice once the next lease comes.
 */

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { LogticketsError } from '../../../src/errors.js';
import { MongoDBBackend } from '../../../src/backends/mongodb/mongodb-backend.js';
import type { Collections } from '../../../src/backends/mongodb/mongodb-connection.js';
import { mergeOutbox } from '../../../src/backends/mongodb/mongodb-outbox.js';
import { groupByTicket } from '../../../src/backends/batch.js';
import { asSummary, mergePayloads, summarize } from '../../../src/backends/outbox-summary.js';
import type { JsonValue } from '../../../src/logging/json-safe.js';
import { hash, occurrence } from '../../conformance/backend-suite.js';
import { serverAvailable } from '../../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../../services/mongodb/mongo-server.js';
import { collectionsOf } from '../store-inspection.js';

let shared: Promise<MongoServer> | undefined;
const mongo = () => (shared ??= startMongo());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

const HASH = 'b'.repeat(40);

/** The collections, indexes and documents the previous version wrote. */
async function writeOldStore(url: string, database: string): Promise<void> {
  const client = new MongoClient(url);
  try {
    const db = client.db(database);
    const c = (name: string) => db.collection(`logtickets_${name}`);
    await c('tickets').createIndex({ appId: 1, hash: 1 }, { unique: true, name: 'ticket_key' });
    await c('occurrences').createIndex({ b: 1, i: 1 }, { unique: true, name: 'batch_entry' });
    await c('outbox').createIndex({ tracker: 1, availableAt: 1, _id: 1 }, { name: 'due' });
    await c('outbox').createIndex({ b: 1, i: 1 }, { unique: true, name: 'batch_entry' });
    await c('batches').createIndex({ at: 1 }, { name: 'age' });
    const at = new Date(Date.UTC(2025, 2, 1, 10));
    await c('tickets').insertOne({
      _id: 1 as never,
      appId: 'app',
      hash: HASH,
      level: 14,
      channel: 'shop',
      location: 'src/a.ts:1',
      function: null,
      title: 'old problem',
      firstSeen: at,
      lastSeen: at,
      occurrenceCount: 2,
      solved: false,
      solvedAt: null,
      regressionCount: 0,
      lastRegressionAt: null,
      batches: [],
    });
    await c('counters').insertOne({ _id: 'outbox' as never, seq: 2 });
    const delivery = (id: number, n: number) => ({
      _id: id as never,
      tracker: 'gh',
      appId: 'app',
      hash: HASH,
      payload: { n },
      attempts: 0,
      availableAt: at,
      owner: null,
      leasedUntil: null,
      lastError: null,
      b: 'old-batch',
      i: id,
    });
    await c('outbox').insertMany([delivery(1, 1), delivery(2, 2)]);
  } finally {
    await client.close();
  }
}

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('an older store: readers create nothing and read defaults; a writer upgrades it', async (t) => {
    const { url } = await mongo();
    const database = `u${randomBytes(5).toString('hex')}`;
    await writeOldStore(url, database);
    const before = await collectionsOf(url, database);

    const reader = new MongoDBBackend(url, { database, readOnly: true });
    t.teardown(() => reader.close());
    t.is(await reader.countTickets(), 1);
    t.is(await reader.countOutbox('gh'), 2);
    t.deepEqual(await reader.getTrackerState('gh'), {
      tracker: 'gh',
      pausedUntil: null,
      failures: 0,
      reason: null,
      cursor: null,
    });
    t.is(await reader.getTrackerLease('gh'), null);
    const refused = await t.throwsAsync(reader.acquireTrackerLease('gh', 'a', 1_000), { instanceOf: LogticketsError });
    t.is(refused?.code, 'READ_ONLY');
    await reader.close();
    t.deepEqual(await collectionsOf(url, database), before, 'a reader created nothing');

    const store = new MongoDBBackend(url, { database });
    t.teardown(() => store.close());
    await store.open();
    t.true((await collectionsOf(url, database)).includes('logtickets_trackers'));
    // Old deliveries are frozen rows: a new one starts the problem's pending row.
    await store.enqueueOutbox([{ tracker: 'gh', appId: 'app', hash: HASH, payload: { n: 3 } }]);
    await store.enqueueOutbox([{ tracker: 'gh', appId: 'app', hash: HASH, payload: { n: 4 } }]);
    t.is(await store.countOutbox('gh'), 3);
    const leased = await store.leaseOutbox('gh', 'p', 10, 60_000);
    t.deepEqual(
      leased.map((e) => [e.id, e.payload, e.state]),
      [
        [1, { n: 1 }, 'frozen'],
        [2, { n: 2 }, 'frozen'],
        [3, { n: 4 }, 'frozen'],
      ],
    );
    t.is(new Set(leased.map((e) => e.deliveryId)).size, 3, 'each with a delivery id of its own');
    t.true(
      leased.every((e) => !e.attempted),
      'no earlier lease handed out an id to look for',
    );
    t.true(await store.acquireTrackerLease('gh', 'p', 60_000));
    t.true((await store.takeTrackerWrite('gh', 'p', [{ writes: 1, perMs: 60_000 }])).granted);

    // Opening again (another process starting) is harmless.
    const again = new MongoDBBackend(url, { database });
    await again.open();
    t.like(await again.getTrackerLease('gh'), { owner: 'p' });
    await again.close();
  });
}

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('a batch retried after its first attempt merged its delivery merges it once, even once frozen', async (t) => {
    const { url } = await mongo();
    const database = `r${randomBytes(5).toString('hex')}`;
    const store = new MongoDBBackend(url, { database });
    t.teardown(() => store.close());
    await store.open();
    const h = hash();
    const batch = [occurrence({ hash: h }), occurrence({ hash: h })];
    const outbox = groupByTicket(batch).map((d) => ({
      tracker: 'gh',
      appId: d.appId,
      hash: d.hash,
      payload: summarize(d) as unknown as JsonValue,
    }));
    await store.enqueueOutbox(outbox);
    // A first attempt of batch "b1" that merged its delivery and died before the ledger.
    const client = new MongoClient(url);
    t.teardown(() => client.close());
    const db = client.db(database);
    const c = { outbox: db.collection('logtickets_outbox'), counters: db.collection('logtickets_counters') };
    await mergeOutbox('test', c as unknown as Collections, outbox, new Date(), 'b1');
    await store.recordBatch(batch, { batchId: 'b1', outbox });
    const [pending] = await store.leaseOutbox('gh', 'p', 10, 60_000);
    t.is(asSummary(pending!.payload).count, 4, 'the retry merged nothing again');

    // Frozen since, the row still tells that b1 is in it.
    await mergeOutbox('test', c as unknown as Collections, outbox, new Date(), 'b2');
    await store.leaseOutbox('gh', 'p', 10, 60_000);
    await store.recordBatch(batch, { batchId: 'b2', outbox });
    t.is(await store.countOutbox('gh'), 2, 'no new pending row: b2 was delivered in the frozen one');
    const rows = await db.collection('logtickets_outbox').find({}).toArray();
    t.deepEqual(
      rows.map((r) => r.batches),
      [[], []],
      'markers cleared',
    );
  });
}

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('a postpone that died between merging a row and deleting it is settled by the next lease', async (t) => {
    const { url } = await mongo();
    const database = `p${randomBytes(5).toString('hex')}`;
    let ms = Date.UTC(2025, 2, 1, 10);
    const store = new MongoDBBackend(url, { database, now: () => new Date(ms) });
    t.teardown(() => store.close());
    await store.open();
    const client = new MongoClient(url);
    t.teardown(() => client.close());
    const outbox = client.db(database).collection('logtickets_outbox');
    const h = hash();
    const one = () =>
      groupByTicket([occurrence({ hash: h })]).map((d) => ({
        tracker: 'gh',
        appId: d.appId,
        hash: d.hash,
        payload: summarize(d) as unknown as JsonValue,
      }));
    /** Two rows of the problem as a postponer leaves them when it dies after the merge: both hold the leased one's content. */
    const halfPostponed = async () => {
      await store.enqueueOutbox(one());
      const [leased] = await store.leaseOutbox('gh', 'dead', 10, 1_000);
      await store.enqueueOutbox(one());
      const pending = await outbox.findOne({ hash: h, state: 'pending' });
      const merged = mergePayloads(leased!.payload, JSON.parse(String(pending!.payloadJson)) as JsonValue);
      await outbox.updateOne(
        { _id: pending!._id },
        { $set: { payloadJson: JSON.stringify(merged) }, $inc: { v: 1 }, $push: { absorbed: leased!.id } as never },
      );
      return leased!;
    };

    // The merged row's lease runs out first: the next lease deletes it instead of leasing it.
    const dropped = await halfPostponed();
    ms += 2_000;
    const leased = await store.leaseOutbox('gh', 'survivor', 10, 60_000);
    t.deepEqual(
      leased.map((e) => asSummary(e.payload).count),
      [2],
    );
    t.not(leased[0]!.id, dropped.id);
    t.is(await store.countOutbox('gh'), 1);
    t.is(await outbox.countDocuments({ absorbed: { $exists: true } }), 0, 'no list left behind');
    await store.completeOutbox([leased[0]!.id], 'survivor');

    // The row it merged into is leased first: that lease deletes the merged row.
    const held = await halfPostponed();
    const [pending] = await store.leaseOutbox('gh', 'survivor', 10, 60_000);
    t.is(asSummary(pending!.payload).count, 2);
    t.is(await store.countOutbox('gh'), 1, 'the merged row is gone although its lease still runs');
    t.is(await outbox.countDocuments({ _id: held.id as never }), 0);
    t.is(await outbox.countDocuments({ absorbed: { $exists: true } }), 0);
  });
}
