/**
 * A store written by the previous schema version (1) is migrated in place
 * by the first writer that opens it: every row kept, its outbox rows become
 * frozen deliveries, and tracker state works. Readers refuse it until then.
 */

import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { LogticketsError } from '../../../src/errors.js';
import { SqlBackend } from '../../../src/backends/sql/sql-backend.js';
import { SCHEMA_VERSION } from '../../../src/backends/sql/sql-schema.js';
import { HASH_V1, rowsV1, schemaV1 } from '../../fixtures/sql-schema-v1.js';
import { serverAvailable } from '../../services/availability.js';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../../services/postgres.js';

let server: Promise<PostgresServer> | undefined;
test.after.always(async () => {
  if (server !== undefined) await (await server).stop();
});

async function migrates(t: ExecutionContext, open: (options?: { readOnly?: boolean }) => SqlBackend): Promise<void> {
  const reader = open({ readOnly: true });
  const refused = await t.throwsAsync(reader.open(), { instanceOf: LogticketsError });
  t.is(refused?.code, 'SCHEMA_MISMATCH', 'a reader does not migrate');
  await reader.close();

  t.is(SCHEMA_VERSION, 2);
  const store = open();
  t.teardown(() => store.close());
  await store.open();
  const [ticket] = await store.getTickets();
  t.like(ticket, { hash: HASH_V1, title: 'old problem', occurrenceCount: 3 });
  t.deepEqual(
    (await store.getOccurrences(ticket!.id)).map((o) => o.data),
    [{ old: true }],
  );
  t.like(await store.getLink({ tracker: 'gh', appId: 'app', hash: HASH_V1 }), { externalId: '17' });
  t.is(await store.countOutbox('gh'), 2, 'both old deliveries kept');

  // Old rows are frozen deliveries: a new one starts a pending row of its own.
  await store.enqueueOutbox([{ tracker: 'gh', appId: 'app', hash: HASH_V1, payload: { n: 3 } }]);
  await store.enqueueOutbox([{ tracker: 'gh', appId: 'app', hash: HASH_V1, payload: { n: 4 } }]);
  t.is(await store.countOutbox('gh'), 3);
  const leased = await store.leaseOutbox('gh', 'p', 10, 60_000);
  t.deepEqual(
    leased.map((e) => [e.payload, e.attempts, e.state]),
    [
      [{ n: 1 }, 0, 'frozen'],
      [{ n: 2 }, 2, 'frozen'],
      [{ n: 4 }, 0, 'frozen'],
    ],
  );
  t.true(
    leased.every((e) => typeof e.deliveryId === 'string'),
    'old rows get a delivery id when first leased',
  );
  t.true(
    leased.every((e) => !e.attempted),
    'no earlier lease handed out an id to look for',
  );

  t.true(await store.acquireTrackerLease('gh', 'p', 60_000));
  t.true(await store.updateTrackerState('gh', 'p', { failures: 1 }));
  t.true((await store.takeTrackerWrite('gh', 'p', [{ writes: 1, perMs: 1_000 }])).granted);

  // Opening again changes nothing; readers now accept the store.
  const again = open();
  await again.open();
  t.like(await again.getTrackerState('gh'), { failures: 1 });
  await again.close();
  const lateReader = open({ readOnly: true });
  await lateReader.open();
  t.is(await lateReader.countTickets(), 1);
  await lateReader.close();
}

test('sqlite: a version 1 store is migrated in place by a writer, its data kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'old.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const statement of [...schemaV1('sqlite', 'logtickets_'), ...rowsV1('logtickets_')]) db.exec(statement);
  db.close();
  await migrates(t, (options = {}) => new SqlBackend(`sqlite:${path}`, options));
});

if (serverAvailable(test, 'PostgreSQL', postgresUnavailableReason())) {
  test('postgres: a version 1 store is migrated in place by a writer, its data kept', async (t) => {
    const { url } = await (server ??= startPostgres());
    const prefix = `m${randomBytes(5).toString('hex')}_`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const statement of [...schemaV1('postgres', prefix), ...rowsV1(prefix)]) await client.query(statement);
    await client.end();
    await migrates(t, (options = {}) => new SqlBackend(url, { prefix, ...options }));
  });
}
