/**
 * What each schema version added to the SQL store (sql-schema.ts tells the
 * versions apart in its header), and the in-place upgrade of an older store,
 * run by the first writer that opens it inside its opening transaction.
 *
 * Tables and indexes a version added are made with `create … if not exists`,
 * so the same statements make a new store and complete an old one; columns
 * it added to older tables are added here when a table lacks them.
 */

import { sql, type Kysely } from 'kysely';
import type { SqlDialect } from './sql-dialect.js';
import type { TableNames } from './sql-table-names.js';

/** What version 2 added besides the outbox columns: created when missing, so it also migrates a version 1 store. */
export function version2(d: SqlDialect, t: TableNames): string[] {
  const time = d.timeType;
  return [
    // At most one pending (mergeable) delivery per problem.
    `create unique index if not exists ${t.outbox}_pending on ${t.outbox} (tracker, app_id, hash) where state = 'pending'`,
    `create table if not exists ${t.trackers} (
      tracker text primary key,
      lease_owner text,
      lease_until ${time},
      paused_until ${time},
      failures integer not null default 0,
      reason text,
      cursor text
    )`,
    `create table if not exists ${t.trackerWrites} (
      id ${d.rowIdColumn},
      tracker text not null,
      at ${time} not null
    )`,
    `create index if not exists ${t.trackerWrites}_at on ${t.trackerWrites} (tracker, at)`,
  ];
}

/** What version 4 added besides columns: created when missing, so it also migrates older stores. */
export function version4(d: SqlDialect, t: TableNames): string[] {
  return [
    `create table if not exists ${t.releases} (
      app_id text not null,
      release text not null,
      first_seen ${d.timeType} not null,
      primary key (app_id, release)
    )`,
    // The release filter finds the tickets with an occurrence from a release.
    `create index if not exists ${t.occurrences}_release on ${t.occurrences} (release, ticket_id)`,
  ];
}

/**
 * What version 5 added besides the occurrences' weight: created when
 * missing, so it also migrates older stores.
 *
 * Both indexes of occurrences carry the weight, so that every count of the
 * analytics (sql-analytics.ts) is read from an index alone, never from the
 * rows, whose records can be large: one ticket's occurrences in a window by
 * (ticket_id, time), which also pages a ticket's occurrences in order (id
 * breaks ties of time), and all tickets' in a window by time, with the
 * ticket to filter and group by.
 */
export function version5(d: SqlDialect, t: TableNames): string[] {
  return [
    `create index if not exists ${t.occurrences}_ticket_time on ${t.occurrences} (ticket_id, time, id, weight)`,
    `create index if not exists ${t.occurrences}_time on ${t.occurrences} (time, ticket_id, weight)`,
    `create table if not exists ${t.ticketEvents} (
      id ${d.rowIdColumn},
      ticket_id integer not null references ${t.tickets} (id) on delete cascade,
      kind varchar(10) not null,
      at ${d.timeType} not null,
      release text
    )`,
    `create index if not exists ${t.ticketEvents}_ticket on ${t.ticketEvents} (ticket_id, at)`,
  ];
}

/** Version 1 → 2, inside the opening transaction: the outbox's new columns; old rows are frozen deliveries. */
function migrateFrom1(t: TableNames): string[] {
  return [
    `alter table ${t.outbox} add column state varchar(8) not null default 'pending'`,
    `alter table ${t.outbox} add column delivery_id varchar(64)`,
    `update ${t.outbox} set state = 'frozen'`,
  ];
}

type Columns = ReadonlyArray<readonly [table: string, column: string, type: string]>;

/** The columns version 3 added to tables of older versions: table, column, type. */
function version3Columns(d: SqlDialect, t: TableNames): Columns {
  return [
    [t.tickets, 'muted_at', d.timeType],
    [t.tickets, 'state_at', d.timeType],
    [t.links, 'state', 'varchar(8)'],
    [t.links, 'state_at', d.timeType],
  ];
}

/** The columns version 4 added to tables of older versions: table, column, type. */
function version4Columns(d: SqlDialect, t: TableNames): Columns {
  return [
    [t.tickets, 'first_release', 'text'],
    [t.tickets, 'first_release_at', d.timeType],
    [t.tickets, 'last_release', 'text'],
    [t.tickets, 'last_release_at', d.timeType],
    [t.tickets, 'environments', d.jsonType],
    [t.tickets, 'solved_in_release', 'text'],
    [t.occurrences, 'release', 'text'],
    [t.occurrences, 'environment', 'text'],
  ];
}

/** The column version 5 added: an old occurrence stands for one (the folded counts of old rows were not kept). */
function version5Columns(t: TableNames): Columns {
  return [[t.occurrences, 'weight', 'integer not null default 1']];
}

/** Inside the opening transaction: each of `columns` added when its table lacks it. */
async function addColumns(conn: Kysely<unknown>, d: SqlDialect, columns: Columns): Promise<void> {
  const present = new Map<string, string[]>();
  for (const [table, column, type] of columns) {
    if (!present.has(table)) present.set(table, await d.columns(conn, table));
    if (present.get(table)!.includes(column)) continue;
    await sql.raw(`alter table ${table} add column ${column} ${type}`).execute(conn);
  }
}

/**
 * Bring a store of `version` (1 to 4) up to the columns of this one, inside
 * the opening transaction; the tables and indexes later versions added are
 * then made by the schema's own statements.
 */
export async function upgrade(conn: Kysely<unknown>, d: SqlDialect, t: TableNames, version: number): Promise<void> {
  if (version === 1) for (const statement of migrateFrom1(t)) await sql.raw(statement).execute(conn);
  // Version 1 or 2 → 3, then any older version → 4, then → 5: the columns each added.
  if (version === 1 || version === 2) await addColumns(conn, d, version3Columns(d, t));
  if (version >= 1 && version <= 3) await addColumns(conn, d, version4Columns(d, t));
  if (version >= 1 && version <= 4) {
    await addColumns(conn, d, version5Columns(t));
    // Replaced by version 5's index of the same columns that also carries the weight.
    await sql.raw(`drop index if exists ${t.occurrences}_ticket`).execute(conn);
  }
}
