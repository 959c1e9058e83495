/**
 * A version 4 store (releases and environments, before analytics) is
 * migrated in place by the first writer that opens it; readers refuse it
 * until then. It gains the occurrences' weight (each old occurrence stands
 * for one), the indexes analytics count from (the old index by ticket is
 * replaced by one that carries the weight) and the tickets' history, which
 * starts empty; every row is kept, and analytics, filters, new occurrences
 * and state changes work on the old tickets as in a new store.
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
import { HASHES_V4, rowsV4, schemaV4, TIMES_V4 } from '../../fixtures/sql-schema-v4.js';
import { serverAvailable } from '../../services/availability.js';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../../services/postgres.js';

let server: Promise<PostgresServer> | undefined;
test.after.always(async () => {
  if (server !== undefined) await (await server).stop();
});

/** What exists of the store, looked at from outside: its index names, and the columns of its occurrences. */
interface Inspect {
  indexes(): Promise<string[]>;
  occurrenceColumns(): Promise<string[]>;
}

const hour = (h: number) => `2025-03-01T${String(h).padStart(2, '0')}:00:00.000Z`;

async function migratesFrom4(
  t: ExecutionContext,
  open: (options?: { readOnly?: boolean }) => SqlBackend,
  inspect: Inspect,
  prefix: string,
): Promise<void> {
  const reader = open({ readOnly: true });
  const refused = await t.throwsAsync(reader.open(), { instanceOf: LogticketsError });
  t.is(refused?.code, 'SCHEMA_MISMATCH', 'a reader does not migrate');
  t.regex(refused!.message, /schema version is 4, older than .* 5: open it once with a writer/);
  await reader.close();

  const store = open();
  t.teardown(() => store.close());
  await store.open();
  const indexes = await inspect.indexes();
  for (const name of ['occurrences_time', 'occurrences_ticket_time', 'ticket_events_ticket', 'occurrences_release']) {
    t.true(indexes.includes(`${prefix}${name}`), name);
  }
  t.false(indexes.includes(`${prefix}occurrences_ticket`), 'the index without the weight is gone');
  t.true((await inspect.occurrenceColumns()).includes('weight'));

  // Every row kept as it was.
  const { first, second, third } = TIMES_V4;
  const tickets = await store.getTickets({ orderBy: 'id', limit: 10 });
  t.deepEqual(
    tickets.map((x) => [x.id, x.hash, x.state, x.occurrenceCount, x.firstRelease, x.lastRelease, x.solvedInRelease]),
    [
      [1, HASHES_V4.open, 'open', 3, '1.0.0', '1.1.0', null],
      [2, HASHES_V4.solved, 'solved', 1, '1.0.0', '1.0.0', '1.1.0'],
      [3, HASHES_V4.muted, 'muted', 1, null, null, null],
    ],
  );
  t.deepEqual(tickets[0]!.environments, ['production', 'staging']);
  t.deepEqual(await store.getOccurrences(1, { orderBy: 'time' }), [
    {
      id: 1,
      ticketId: 1,
      time: first,
      data: { message: 'disk full', n: 1 },
      release: '1.0.0',
      environment: 'production',
    },
    { id: 2, ticketId: 1, time: second, data: { message: 'disk full', n: 2 }, release: null, environment: 'staging' },
    {
      id: 3,
      ticketId: 1,
      time: third,
      data: { message: 'disk nearly full', n: 3 },
      release: '1.1.0',
      environment: 'production',
    },
  ]);

  // Analytics over the old rows: each stands for one; the histories start empty.
  const window = { from: hour(10), to: hour(14) };
  t.deepEqual(await store.histogram(1, { ...window, bucket: 'hour' }), [
    { start: hour(10), count: 1 },
    { start: hour(11), count: 2 },
  ]);
  t.deepEqual(await store.messages(1), [
    { message: 'disk full', count: 2 },
    { message: 'disk nearly full', count: 1 },
  ]);
  t.deepEqual(await store.topTickets(window), [
    { ticketId: 1, count: 3 },
    { ticketId: 2, count: 1 },
    { ticketId: 3, count: 1 },
  ]);
  t.deepEqual(await store.newTickets({ ...window, bucket: 'hour' }), [
    { start: hour(10), count: 2 },
    { start: hour(11), count: 1 },
  ]);
  t.deepEqual(
    await store.sparklines([1, 2], { ...window, points: 4 }),
    new Map([
      [1, [1, 2, 0, 0]],
      [2, [1, 0, 0, 0]],
    ]),
  );
  for (const id of [1, 2, 3]) t.deepEqual(await store.ticketEvents(id), []);
  t.deepEqual(
    (await store.getTickets({ filter: { search: '100%', seenSince: third } })).map((x) => x.id),
    [1],
  );
  t.is(await store.countTickets({ seenBefore: first }), 0);

  // New occurrences carry their weight; changes and regressions go into the histories.
  const again = (hash: string, time: string) => ({
    hash,
    appId: 'app',
    level: 14,
    channel: 'shop',
    location: 'src/a.ts:1',
    function: null,
    title: 'again',
    time,
    data: { message: 'again' },
  });
  await store.recordBatch([{ ...again(HASHES_V4.open, '2025-03-01T12:15:00.000Z'), count: 5 }]);
  t.like(await store.getTicket(1), { occurrenceCount: 8 });
  t.deepEqual(await store.histogram(1, { ...window, bucket: 'hour' }), [
    { start: hour(10), count: 1 },
    { start: hour(11), count: 2 },
    { start: hour(12), count: 5 },
  ]);
  await store.solveTicket(1, { at: hour(13), release: '1.1.0' });
  const [regressed] = await store.recordBatch([
    { ...again(HASHES_V4.solved, '2025-03-01T13:30:00.000Z'), release: '1.2.0' },
  ]);
  t.true(regressed!.regressed, 'solved in 1.1.0, back in 1.2.0');
  await store.unmuteTicket(3, { at: hour(13) });
  t.deepEqual(await store.ticketEvents(1), [{ ticketId: 1, kind: 'solved', at: hour(13), release: '1.1.0' }]);
  t.deepEqual(await store.ticketEvents(2), [
    { ticketId: 2, kind: 'regressed', at: '2025-03-01T13:30:00.000Z', release: '1.2.0' },
  ]);
  t.deepEqual(await store.ticketEvents(3), [{ ticketId: 3, kind: 'unmuted', at: hour(13), release: null }]);

  // Opening again changes nothing; readers now accept the store and read its analytics.
  const reopened = open();
  await reopened.open();
  t.is(await reopened.countTickets(), 3);
  await reopened.close();
  const lateReader = open({ readOnly: true });
  await lateReader.open();
  t.deepEqual(await lateReader.histogram(null, { ...window, bucket: 'day' }), [{ start: hour(0), count: 11 }]);
  t.is((await lateReader.ticketEvents(2)).length, 1);
  await lateReader.close();
}

test('sqlite: a version 4 store is migrated in place by a writer, and gains what analytics count from', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'old.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const statement of [...schemaV4('sqlite', 'logtickets_'), ...rowsV4('sqlite', 'logtickets_')])
    db.exec(statement);
  db.close();
  const look = <T>(fn: (check: Database.Database) => T): T => {
    const check = new Database(path, { readonly: true });
    try {
      return fn(check);
    } finally {
      check.close();
    }
  };
  const inspect: Inspect = {
    indexes: async () =>
      look((check) =>
        check
          .prepare<[], { name: string }>("select name from sqlite_master where type = 'index'")
          .all()
          .map((row) => row.name),
      ),
    occurrenceColumns: async () =>
      look((check) =>
        check
          .prepare<[], { name: string }>("select name from pragma_table_info('logtickets_occurrences')")
          .all()
          .map((row) => row.name),
      ),
  };
  await migratesFrom4(t, (options = {}) => new SqlBackend(`sqlite:${path}`, options), inspect, 'logtickets_');
});

if (serverAvailable(test, 'PostgreSQL', postgresUnavailableReason())) {
  test('postgres: a version 4 store is migrated in place by a writer, and gains what analytics count from', async (t) => {
    const { url } = await (server ??= startPostgres());
    const prefix = `m${randomBytes(5).toString('hex')}_`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    t.teardown(() => client.end());
    for (const statement of [...schemaV4('postgres', prefix), ...rowsV4('postgres', prefix)]) {
      await client.query(statement);
    }
    const inspect: Inspect = {
      indexes: async () =>
        (await client.query<{ name: string }>('select indexname as name from pg_indexes')).rows.map((row) => row.name),
      occurrenceColumns: async () =>
        (
          await client.query<{ name: string }>(
            'select column_name as name from information_schema.columns where table_name = $1',
            [`${prefix}occurrences`],
          )
        ).rows.map((row) => row.name),
    };
    await migratesFrom4(t, (options = {}) => new SqlBackend(url, { prefix, ...options }), inspect, prefix);
  });
}
