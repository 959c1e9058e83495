/**
 * A store written by an older schema version is migrated in place by the
 * first writer that opens it, every row kept; readers refuse it until then.
 * From version 1: its outbox rows become frozen deliveries, and tracker
 * state works. From version 2: its tickets keep their state (open, solved,
 * regressed), none muted, and links take states. From version 3: its
 * tickets and occurrences keep every field and have no releases or
 * environments, its solved tickets were solved without a release, and new
 * occurrences bring releases as in a new store. From version 4:
 * sql-migration-v4.test.ts.
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
import { HASHES_V2, REGRESSED_AT_V2, rowsV2, schemaV2, SOLVED_AT_V2 } from '../../fixtures/sql-schema-v2.js';
import { HASHES_V3, rowsV3, schemaV3, TIMES_V3 } from '../../fixtures/sql-schema-v3.js';
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

  t.is(SCHEMA_VERSION, 5);
  const store = open();
  t.teardown(() => store.close());
  await store.open();
  const [ticket] = await store.getTickets();
  t.like(ticket, { hash: HASH_V1, title: 'old problem', occurrenceCount: 3, state: 'open', muted: false });
  t.deepEqual(
    (await store.getOccurrences(ticket!.id)).map((o) => o.data),
    [{ old: true }],
  );
  t.like(await store.getLink({ tracker: 'gh', appId: 'app', hash: HASH_V1 }), { externalId: '17', state: null });
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

/** A version 2 store, its writer's upgrade, and the store's new index (`indexes`: the names of the store's indexes). */
async function migratesFrom2(
  t: ExecutionContext,
  open: (options?: { readOnly?: boolean }) => SqlBackend,
  indexes: () => Promise<string[]>,
  prefix: string,
): Promise<void> {
  const reader = open({ readOnly: true });
  const refused = await t.throwsAsync(reader.open(), { instanceOf: LogticketsError });
  t.is(refused?.code, 'SCHEMA_MISMATCH', 'a reader does not migrate');
  t.regex(refused!.message, /schema version is 2, older than .* 5: open it once with a writer/);
  await reader.close();

  const store = open();
  t.teardown(() => store.close());
  await store.open();
  t.true((await indexes()).includes(`${prefix}links_external`), 'links are indexed by external id');
  const byHash = new Map((await store.getTickets({ orderBy: 'id' })).map((x) => [x.hash, x]));
  const unchanged = { muted: false, mutedAt: null, stateChangedAt: null, firstRelease: null, solvedInRelease: null };
  t.like(byHash.get(HASHES_V2.open), { ...unchanged, state: 'open', solved: false, occurrenceCount: 2 });
  t.deepEqual(byHash.get(HASHES_V2.open)!.environments, []);
  t.like(byHash.get(HASHES_V2.solved), { ...unchanged, state: 'solved', solved: true, solvedAt: SOLVED_AT_V2 });
  t.like(byHash.get(HASHES_V2.regressed), {
    ...unchanged,
    state: 'regressed',
    regressionCount: 1,
    lastRegressionAt: REGRESSED_AT_V2,
  });
  t.is(await store.countTickets({ muted: false }), 3);
  t.is(await store.countTickets({ state: ['open', 'regressed'] }), 2);
  t.is(await store.countTickets({ state: 'solved' }), 1);
  t.deepEqual(
    (await store.getOccurrences(byHash.get(HASHES_V2.open)!.id)).map((o) => o.data),
    [{ v: 2 }],
  );
  t.like(await store.getTrackerState('gh'), { failures: 2 });
  t.is(await store.countOutbox('gh'), 1);

  // The old tickets change state and regress as new ones do.
  const solved = byHash.get(HASHES_V2.solved)!;
  const recurrence = new Date(Date.parse(SOLVED_AT_V2) + 61_000).toISOString();
  const [outcome] = await store.recordBatch([
    {
      hash: solved.hash,
      appId: 'app',
      level: 14,
      channel: 'shop',
      location: 'src/b.ts:2',
      function: null,
      title: 'solved problem',
      time: recurrence,
      data: {},
    },
  ]);
  t.like(outcome, { regressed: true, occurrenceCount: 4 });
  t.like(await store.getTicket(solved.id), { state: 'regressed', stateChangedAt: recurrence });
  const muted = await store.muteTicket(byHash.get(HASHES_V2.regressed)!.id, { at: SOLVED_AT_V2 });
  t.like(muted, { state: 'muted', mutedAt: SOLVED_AT_V2 }, 'no time of an older change to lose against');

  // Old links have no state until one is set; only finished ones take it.
  const linked = { tracker: 'gh', appId: 'app', hash: HASHES_V2.solved };
  t.like(await store.getLink(linked), { externalId: '21', state: null, stateAt: null });
  await store.setLinkState(linked, 'solved', SOLVED_AT_V2);
  await store.setLinkState({ ...linked, hash: HASHES_V2.open }, 'solved', SOLVED_AT_V2);
  t.like(await store.getLink({ ...linked, hash: HASHES_V2.open }), { externalId: null, state: null });
  t.deepEqual(
    (await store.getLinksByExternalId('gh', ['21'])).map((l) => [l.hash, l.state, l.stateAt]),
    [[HASHES_V2.solved, 'solved', SOLVED_AT_V2]],
  );

  // Opening again changes nothing; readers now accept the store.
  const again = open();
  await again.open();
  t.is(await again.countTickets({ state: 'muted' }), 1);
  await again.close();
  const lateReader = open({ readOnly: true });
  await lateReader.open();
  t.is(await lateReader.countTickets(), 3);
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

test('sqlite: a version 2 store is migrated in place by a writer, its tickets keep their state', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'old.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const statement of [...schemaV2('sqlite', 'logtickets_'), ...rowsV2('sqlite', 'logtickets_')])
    db.exec(statement);
  db.close();
  const indexes = async () => {
    const check = new Database(path, { readonly: true });
    try {
      return check
        .prepare<[], { name: string }>("select name from sqlite_master where type = 'index'")
        .all()
        .map((row) => row.name);
    } finally {
      check.close();
    }
  };
  await migratesFrom2(t, (options = {}) => new SqlBackend(`sqlite:${path}`, options), indexes, 'logtickets_');
});

if (serverAvailable(test, 'PostgreSQL', postgresUnavailableReason())) {
  test('postgres: a version 2 store is migrated in place by a writer, its tickets keep their state', async (t) => {
    const { url } = await (server ??= startPostgres());
    const prefix = `m${randomBytes(5).toString('hex')}_`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    t.teardown(() => client.end());
    for (const statement of [...schemaV2('postgres', prefix), ...rowsV2('postgres', prefix)]) {
      await client.query(statement);
    }
    const indexes = async () =>
      (await client.query<{ name: string }>('select indexname as name from pg_indexes')).rows.map((row) => row.name);
    await migratesFrom2(t, (options = {}) => new SqlBackend(url, { prefix, ...options }), indexes, prefix);
  });
}

/** A version 3 store, its writer's upgrade, and what version 4 added (`indexes`: the names of the store's indexes). */
async function migratesFrom3(
  t: ExecutionContext,
  open: (options?: { readOnly?: boolean }) => SqlBackend,
  indexes: () => Promise<string[]>,
  prefix: string,
): Promise<void> {
  const reader = open({ readOnly: true });
  const refused = await t.throwsAsync(reader.open(), { instanceOf: LogticketsError });
  t.is(refused?.code, 'SCHEMA_MISMATCH', 'a reader does not migrate');
  t.regex(refused!.message, /schema version is 3, older than .* 5: open it once with a writer/);
  await reader.close();

  const store = open();
  t.teardown(() => store.close());
  await store.open();
  t.true((await indexes()).includes(`${prefix}occurrences_release`), 'occurrences are indexed by release');
  t.true((await indexes()).includes(`${prefix}occurrences_time`), 'and by time (version 5)');
  const { first, last, solved, muted, regressed } = TIMES_V3;
  const none = { firstRelease: null, lastRelease: null, environments: [], solvedInRelease: null };
  const base = { firstSeen: first, lastSeen: last, regressionCount: 0, lastRegressionAt: null };
  const open3 = { solved: false, solvedAt: null, muted: false, mutedAt: null };
  t.deepEqual(await store.getTickets({ orderBy: 'id', limit: 10 }), [
    {
      ...{ id: 1, hash: HASHES_V3.open, appId: 'app', level: 14, channel: 'shop', location: 'src/a.ts:1' },
      ...{ function: null, title: 'open problem', occurrenceCount: 2, ...base, ...open3 },
      ...{ stateChangedAt: null, state: 'open', ...none },
    },
    {
      ...{ id: 2, hash: HASHES_V3.solved, appId: 'app', level: 14, channel: 'shop', location: 'src/b.ts:2' },
      ...{ function: 'pay', title: 'solved problem', occurrenceCount: 3, ...base, ...open3 },
      ...{ solved: true, solvedAt: solved, stateChangedAt: solved, state: 'solved', ...none },
    },
    {
      ...{ id: 3, hash: HASHES_V3.muted, appId: 'app', level: 13, channel: 'db', location: 'src/c.ts:3' },
      ...{ function: null, title: 'muted problem', occurrenceCount: 4, ...base, ...open3 },
      ...{ muted: true, mutedAt: muted, stateChangedAt: muted, state: 'muted', ...none },
    },
    {
      ...{ id: 4, hash: HASHES_V3.regressed, appId: 'other', level: 15, channel: 'db', location: 'src/d.ts:4' },
      ...{ function: null, title: 'regressed problem', occurrenceCount: 5, ...base, ...open3 },
      ...{ lastSeen: regressed, regressionCount: 2, lastRegressionAt: regressed, stateChangedAt: regressed },
      ...{ state: 'regressed', ...none },
    },
  ]);
  t.deepEqual(await store.getOccurrences(1, { orderBy: 'time' }), [
    { id: 1, ticketId: 1, time: first, data: { v: 3, n: 1 }, release: null, environment: null },
    { id: 2, ticketId: 1, time: last, data: { v: 3, n: 2 }, release: null, environment: null },
  ]);
  t.is(await store.countTickets({ state: 'muted' }), 1);
  t.is(await store.countTickets({ release: '1.0.0' }), 0);
  t.is(await store.countTickets({ environment: 'production' }), 0);
  t.like(await store.getLink({ tracker: 'gh', appId: 'app', hash: HASHES_V3.muted }), {
    externalId: '32',
    state: 'muted',
  });
  t.like(await store.getTrackerState('gh'), { failures: 1, cursor: 'c-3' });
  t.is(await store.countOutbox('gh'), 1);

  // New occurrences bring releases and environments; an old solve was made without a release: the grace window decides.
  const recurrence = (hash: string, time: string, release: string) => ({
    hash,
    appId: 'app',
    level: 14,
    channel: 'shop',
    location: 'src/b.ts:2',
    function: null,
    title: 'again',
    time,
    data: {},
    release,
    environment: 'production',
  });
  const inFlight = new Date(Date.parse(solved) + 30_000).toISOString();
  const [counted] = await store.recordBatch([recurrence(HASHES_V3.solved, inFlight, '0.9.0')]);
  t.like(counted, { regressed: false, occurrenceCount: 4 });
  const later = new Date(Date.parse(solved) + 61_000).toISOString();
  const [reopened] = await store.recordBatch([recurrence(HASHES_V3.solved, later, '0.9.0')]);
  t.like(reopened, { regressed: true, occurrenceCount: 5 });
  t.like(await store.getTicket(2), { firstRelease: '0.9.0', lastRelease: '0.9.0', environments: ['production'] });
  t.deepEqual(
    (await store.getTickets({ filter: { release: '0.9.0', environment: 'production' } })).map((x) => x.id),
    [2],
  );
  await store.recordBatch([recurrence(HASHES_V3.open, later, '1.0.0')]);
  t.like(await store.solveTicket(1, { at: later }), { solvedInRelease: '1.0.0' }, 'the newest release seen');

  // Opening again changes nothing; readers now accept the store.
  const again = open();
  await again.open();
  t.is(await again.countTickets({ release: '0.9.0' }), 1);
  await again.close();
  const lateReader = open({ readOnly: true });
  await lateReader.open();
  t.like(await lateReader.getTicket(1), { state: 'solved', solvedInRelease: '1.0.0', lastRelease: '1.0.0' });
  await lateReader.close();
}

test('sqlite: a version 3 store is migrated in place by a writer, its tickets and occurrences kept whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-migrate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'old.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const statement of [...schemaV3('sqlite', 'logtickets_'), ...rowsV3('sqlite', 'logtickets_')])
    db.exec(statement);
  db.close();
  const indexes = async () => {
    const check = new Database(path, { readonly: true });
    try {
      return check
        .prepare<[], { name: string }>("select name from sqlite_master where type = 'index'")
        .all()
        .map((row) => row.name);
    } finally {
      check.close();
    }
  };
  await migratesFrom3(t, (options = {}) => new SqlBackend(`sqlite:${path}`, options), indexes, 'logtickets_');
});

if (serverAvailable(test, 'PostgreSQL', postgresUnavailableReason())) {
  test('postgres: a version 3 store is migrated in place by a writer, its tickets and occurrences kept whole', async (t) => {
    const { url } = await (server ??= startPostgres());
    const prefix = `m${randomBytes(5).toString('hex')}_`;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    t.teardown(() => client.end());
    for (const statement of [...schemaV3('postgres', prefix), ...rowsV3('postgres', prefix)]) {
      await client.query(statement);
    }
    const indexes = async () =>
      (await client.query<{ name: string }>('select indexname as name from pg_indexes')).rows.map((row) => row.name);
    await migratesFrom3(t, (options = {}) => new SqlBackend(url, { prefix, ...options }), indexes, prefix);
  });
}
