/**
 * The MongoDB store's bookkeeping of batches and connections, looked at from
 * outside through the driver:
 * - a ticket's list of pending batch ids holds only batches still being
 *   written (so it cannot grow with a busy ticket, nor forget a batch that a
 *   writer will retry), and applied batches go into a ledger that forgets
 *   them by age, after the documented retention period;
 * - release() closes an idle client without cutting a call short, and the
 *   next call connects again; a client passed in is never closed.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { MongoDBBackend, type OccurrenceInput } from '../../../src/index.js';
import { BATCH_ID_RETENTION_MS } from '../../../src/backends/contract.js';
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

const database = () => `t${randomBytes(5).toString('hex')}`;

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('pending batch ids are only those being written; the ledger of applied batches forgets by age', async (t) => {
    const { url } = await mongo();
    const db = database();
    let clock = Date.UTC(2025, 2, 1);
    const backend = new MongoDBBackend(url, { database: db, now: () => new Date(clock) });
    const raw = new MongoClient(url);
    t.teardown(async () => {
      await backend.close();
      await raw.close();
    });
    const tickets = raw.db(db).collection('logtickets_tickets');
    const ledger = raw.db(db).collection('logtickets_batches');
    const hot = `0${hash().slice(1)}`;
    const pending = async () => ((await tickets.findOne({ hash: hot }))?.batches as string[] | undefined) ?? [];
    const batch: OccurrenceInput[] = [occurrence({ hash: hot }), occurrence({ hash: `f${hash().slice(1)}` })];

    // A writer dies right after the hot ticket counted: the batch is pending there.
    await backend.open();
    const killed = await exec(process.execPath, [
      '--import',
      'tsx',
      partialBatch,
      JSON.stringify({ uri: `${url.replace(/\/?$/, '/')}${db}`, batchId: 'B', occurrences: batch, killAfter: 1 }),
    ]).catch((error: { signal?: string }) => error);
    t.is((killed as { signal?: string }).signal, 'SIGKILL');
    t.deepEqual(await pending(), ['B']);
    t.is(await ledger.countDocuments(), 0, 'an unfinished batch is not in the ledger');

    for (let i = 0; i < 40; i++) {
      clock += 1_000;
      await backend.recordBatch([occurrence({ hash: hot })], { batchId: `later-${i}` });
      t.deepEqual(await pending(), ['B'], `finished batches leave no id on the ticket (${i})`);
    }
    t.is(await ledger.countDocuments(), 40);

    const [retried] = await backend.recordBatch(batch, { batchId: 'B' });
    t.is(retried!.occurrenceCount, 41, 'the retry did not count the hot ticket again');
    t.deepEqual(await pending(), []);
    t.truthy(await ledger.findOne({ _id: 'B' as never }));

    // More than the retention period later, the next write deletes what expired.
    clock += BATCH_ID_RETENTION_MS + 15 * 60_000;
    await backend.recordBatch([occurrence({ hash: hash() })], { batchId: 'C' });
    t.deepEqual(
      (await ledger.find().toArray()).map((d) => d._id),
      ['C'],
    );
    const [late] = await backend.recordBatch(batch, { batchId: 'B' });
    t.is(late!.occurrenceCount, 42, 'past the retention period the same id is a new batch (the documented bound)');
  });

  test('release() closes an idle client between calls, never under one; a client passed in stays open', async (t) => {
    const { url } = await mongo();
    const db = database();
    const backend = new MongoDBBackend(url, { database: db });
    t.teardown(() => backend.close());
    const h = hash();
    const steps: ReadonlyArray<readonly [string, () => Promise<unknown>, unknown]> = [
      [
        'write',
        async () => (await backend.recordBatch([occurrence({ hash: h })], { batchId: 'r1' }))[0]!.occurrenceCount,
        1,
      ],
      ['release', () => backend.release(), undefined],
      ['read after a release', () => backend.countTickets(), 1],
      ['release', () => backend.release(), undefined],
      ['release again', () => backend.release(), undefined],
      [
        'retry after a release',
        async () => (await backend.recordBatch([occurrence({ hash: h })], { batchId: 'r1' }))[0]!.occurrenceCount,
        1,
      ],
      [
        'release while a call runs',
        async () => {
          const reading = backend.getTickets();
          await backend.release();
          return (await reading).length;
        },
        1,
      ],
      ['write after it', async () => (await backend.recordBatch([occurrence({ hash: h })]))[0]!.occurrenceCount, 2],
    ];
    for (const [name, step, expected] of steps) t.deepEqual(await step(), expected, name);

    const client = new MongoClient(url);
    t.teardown(() => client.close());
    const given = new MongoDBBackend(client, { database: db });
    t.is(await given.countTickets(), 1);
    await given.release();
    await given.close();
    t.is(
      await client.db(db).collection('logtickets_tickets').countDocuments(),
      1,
      'the application’s client still works',
    );
  });
}
