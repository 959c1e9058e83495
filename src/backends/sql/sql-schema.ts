/**
 * The SQL store's tables, created when missing, with a schema version kept in
 * `${prefix}meta` so that later releases can migrate old stores.
 *
 *   tickets      one row per (app id, fingerprint)
 *   occurrences  every occurrence with the whole record as JSON
 *   links        fingerprint → ticket in an external tracker
 *   outbox       deliveries waiting for an external tracker
 *   batches      ids of recently applied batches, so a retried batch is applied once
 *   trackers     per tracker: the deliverer's lease, a pause, failures, a sync cursor
 *   tracker_writes  one row per tracker write (the write budget's sliding windows)
 *   releases     the first sighting of each release of each app
 *   ticket_events  each ticket's history: state changes and regressions
 *
 * Version 2 added the `trackers` and `tracker_writes` tables and the
 * outbox's `state` and `delivery_id` columns with a unique index on pending
 * rows; a version 1 store is migrated in place when a writer opens it (its
 * outbox rows become frozen deliveries: there may be several per problem).
 *
 * Version 3 added ticket states (ticket-state.ts): the tickets' `muted_at`
 * and `state_at`, the links' `state` and `state_at`, and an index of links
 * by external id. A version 1 or 2 store gets the columns when a writer
 * opens it; its tickets keep the state they had (open, solved, or
 * regressed), none muted, with no known time of their last change.
 *
 * Version 4 added releases and environments (release-order.ts,
 * ticket-merge.ts): the `releases` table (the first sighting of each release
 * of each app), the occurrences' `release` and `environment` with an index
 * by release, and the tickets' first and last release (each with the time of
 * its occurrence), environments and the release they were solved in. An
 * older store gets the columns when a writer opens it, all null: its
 * tickets and occurrences have no releases or environments, and its solved
 * tickets were solved without a release.
 *
 * Version 5 added what analytics (analytics.ts, sql-analytics.ts) count
 * from: the occurrences' `weight` (how many occurrences a row stands for,
 * OccurrenceInput.count, so that a histogram adds up to the ticket's count),
 * an index of occurrences by time, the index by ticket and time carrying the
 * weight (it replaces the one without it), and the `ticket_events` table with
 * an index by ticket and time. An older store gets them when a writer opens
 * it (sql-migrations.ts): each of its occurrences stands for one (folded
 * counts were not kept per row), and its tickets' histories start empty.
 *
 * What each version added is made by sql-migrations.ts, which also upgrades
 * older stores in place.
 */

import { sql, type Kysely } from 'kysely';
import { LogticketsError } from '../../errors.js';
import type { SqlDialect } from './sql-dialect.js';
import { upgrade, version2, version4, version5 } from './sql-migrations.js';
import type { TableNames } from './sql-table-names.js';

export { tableNames, type TableNames } from './sql-table-names.js';

export const SCHEMA_VERSION = 5;

function statements(d: SqlDialect, t: TableNames): string[] {
  const time = d.timeType;
  return [
    `create table if not exists ${t.tickets} (
      id ${d.idColumn},
      hash varchar(64) not null,
      app_id text not null,
      level integer not null,
      channel text not null,
      location text not null,
      function text,
      title text not null,
      first_seen ${time} not null,
      last_seen ${time} not null,
      occurrence_count ${d.counterType} not null,
      solved boolean not null default false,
      solved_at ${time},
      regression_count integer not null default 0,
      last_regression_at ${time},
      last_write_reopened boolean not null default false,
      muted_at ${time},
      state_at ${time},
      first_release text,
      first_release_at ${time},
      last_release text,
      last_release_at ${time},
      environments ${d.jsonType},
      solved_in_release text
    )`,
    `create unique index if not exists ${t.tickets}_key on ${t.tickets} (app_id, hash)`,
    `create index if not exists ${t.tickets}_last_seen on ${t.tickets} (last_seen, id)`,
    `create index if not exists ${t.tickets}_triage on ${t.tickets} (solved, level, last_seen)`,
    `create index if not exists ${t.tickets}_channel on ${t.tickets} (channel)`,
    `create table if not exists ${t.occurrences} (
      id ${d.rowIdColumn},
      ticket_id integer not null references ${t.tickets} (id) on delete cascade,
      time ${time} not null,
      weight integer not null default 1,
      data ${d.jsonType} not null,
      release text,
      environment text
    )`,
    `create table if not exists ${t.links} (
      tracker text not null,
      app_id text not null,
      hash varchar(64) not null,
      external_id text,
      owner text,
      claimed_until ${time},
      last_comment_at ${time},
      state varchar(8),
      state_at ${time},
      primary key (tracker, app_id, hash)
    )`,
    `create table if not exists ${t.outbox} (
      id ${d.rowIdColumn},
      tracker text not null,
      app_id text not null,
      hash varchar(64) not null,
      payload ${d.jsonType} not null,
      attempts integer not null default 0,
      available_at ${time} not null,
      owner text,
      leased_until ${time},
      last_error text,
      state varchar(8) not null default 'pending',
      delivery_id varchar(64)
    )`,
    `create index if not exists ${t.outbox}_due on ${t.outbox} (tracker, available_at, id)`,
    `create table if not exists ${t.batches} (
      batch_id varchar(64) primary key,
      applied_at ${time} not null
    )`,
    ...version2(d, t),
    // Two-way sync finds the links of the tickets a tracker changed.
    `create index if not exists ${t.links}_external on ${t.links} (tracker, external_id)`,
    ...version4(d, t),
    ...version5(d, t),
  ];
}

/** The columns each table must have for this version to read and write it. */
function requiredColumns(t: TableNames): ReadonlyArray<readonly [string, readonly string[]]> {
  return [
    [
      t.tickets,
      [
        'id',
        'hash',
        'app_id',
        'level',
        'channel',
        'location',
        'function',
        'title',
        'first_seen',
        'last_seen',
        'occurrence_count',
        'solved',
        'solved_at',
        'regression_count',
        'last_regression_at',
        'last_write_reopened',
        'muted_at',
        'state_at',
        'first_release',
        'first_release_at',
        'last_release',
        'last_release_at',
        'environments',
        'solved_in_release',
      ],
    ],
    [t.occurrences, ['id', 'ticket_id', 'time', 'data', 'release', 'environment', 'weight']],
    [
      t.links,
      ['tracker', 'app_id', 'hash', 'external_id', 'owner', 'claimed_until', 'last_comment_at', 'state', 'state_at'],
    ],
    [
      t.outbox,
      [
        'id',
        'tracker',
        'app_id',
        'hash',
        'payload',
        'attempts',
        'available_at',
        'owner',
        'leased_until',
        'last_error',
        'state',
        'delivery_id',
      ],
    ],
    [t.batches, ['batch_id', 'applied_at']],
    [t.trackers, ['tracker', 'lease_owner', 'lease_until', 'paused_until', 'failures', 'reason', 'cursor']],
    [t.trackerWrites, ['id', 'tracker', 'at']],
    [t.releases, ['app_id', 'release', 'first_seen']],
    [t.ticketEvents, ['id', 'ticket_id', 'kind', 'at', 'release']],
  ];
}

/**
 * Check, without changing anything, that the store in `conn` is a logtickets
 * store of this schema version: every table with every column this version
 * uses. Nothing here fails a statement, so it may run inside an open
 * PostgreSQL transaction.
 */
export async function verifySchema(
  conn: Kysely<unknown>,
  d: SqlDialect,
  t: TableNames,
  backend: string,
): Promise<void> {
  const fail = (code: 'STORE_NOT_FOUND' | 'SCHEMA_MISMATCH', message: string): never => {
    throw new LogticketsError(code, message, { backend });
  };
  if ((await d.columns(conn, t.tickets)).length === 0) {
    const others = await otherPrefixes(conn, d);
    fail(
      'STORE_NOT_FOUND',
      `no table ${t.tickets} in ${backend}: not a logtickets store, or one written with another prefix` +
        (others.length === 0 ? '' : ` (it has logtickets tables with prefix ${others.join(', ')})`),
    );
  }
  const version = await schemaVersion(conn, d, t);
  if (version === undefined) {
    fail(
      'SCHEMA_MISMATCH',
      `table ${t.tickets} in ${backend} was not made by logtickets (no schema version in ${t.meta}): another program's table, or another prefix`,
    );
  }
  if (version! > SCHEMA_VERSION) {
    throw new LogticketsError(
      'SCHEMA_TOO_NEW',
      `the store's schema version is ${version} but this logtickets knows version ${SCHEMA_VERSION}: upgrade logtickets`,
      { backend },
    );
  }
  if (version! < SCHEMA_VERSION) {
    fail(
      'SCHEMA_MISMATCH',
      `the store's schema version is ${version}, older than this logtickets' ${SCHEMA_VERSION}: open it once with a writer to upgrade it`,
    );
  }
  for (const [table, columns] of requiredColumns(t)) {
    const present = await d.columns(conn, table);
    if (present.length === 0) fail('SCHEMA_MISMATCH', `no table ${table} in ${backend}: the store is incomplete`);
    const missing = columns.filter((c) => !present.includes(c));
    if (missing.length > 0) {
      fail(
        'SCHEMA_MISMATCH',
        `table ${table} in ${backend} has no column ${missing.join(', ')}: written by another program or version`,
      );
    }
  }
}

async function schemaVersion(conn: Kysely<unknown>, d: SqlDialect, t: TableNames): Promise<number | undefined> {
  const columns = await d.columns(conn, t.meta);
  if (!columns.includes('key') || !columns.includes('value')) return undefined;
  const found = await sql<{
    value: string;
  }>`select value from ${sql.table(t.meta)} where key = 'schema_version'`.execute(conn);
  const version = Number(found.rows[0]?.value);
  return Number.isInteger(version) ? version : undefined;
}

/** Prefixes of other logtickets stores in the same database, for a hint. */
async function otherPrefixes(conn: Kysely<unknown>, d: SqlDialect): Promise<string[]> {
  const tables = await d.tables(conn);
  const set = new Set(tables);
  return tables
    .filter((name) => name.endsWith('meta') && set.has(`${name.slice(0, -'meta'.length)}tickets`))
    .map((name) => name.slice(0, -'meta'.length) || '""')
    .sort();
}

/** Create missing tables inside `conn`'s open transaction; refuse a newer schema. */
export async function ensureSchema(
  conn: Kysely<unknown>,
  d: SqlDialect,
  t: TableNames,
  backend: string,
): Promise<void> {
  await d.lockSchema(conn, t.meta);
  await sql
    .raw(`create table if not exists ${t.meta} (key varchar(64) primary key, value text not null)`)
    .execute(conn);
  const found = await sql<{
    value: string;
  }>`select value from ${sql.table(t.meta)} where key = 'schema_version'`.execute(conn);
  const version = found.rows[0] === undefined ? 0 : Number(found.rows[0].value);
  if (version > SCHEMA_VERSION) {
    throw new LogticketsError(
      'SCHEMA_TOO_NEW',
      `the store's schema version is ${version} but this logtickets knows version ${SCHEMA_VERSION}: upgrade logtickets`,
      { backend },
    );
  }
  if (version === SCHEMA_VERSION) return;
  if (version >= 1) await upgrade(conn, d, t, version);
  for (const statement of statements(d, t)) await sql.raw(statement).execute(conn);
  await sql`insert into ${sql.table(t.meta)} (key, value) values ('schema_version', ${String(SCHEMA_VERSION)})
    on conflict (key) do update set value = excluded.value`.execute(conn);
}
