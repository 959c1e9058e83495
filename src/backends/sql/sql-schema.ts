/**
 * The SQL store's tables, created when missing, with a schema version kept in
 * `${prefix}meta` so that later releases can migrate old stores.
 *
 *   tickets      one row per (app id, fingerprint)
 *   occurrences  every occurrence with the whole record as JSON
 *   links        fingerprint → ticket in an external tracker
 *   outbox       deliveries waiting for an external tracker
 *   batches      ids of recently applied batches, so a retried batch is applied once
 */

import { sql, type Kysely } from 'kysely';
import { LogticketsError } from '../../errors.js';
import type { SqlDialect } from './sql-dialect.js';

export const SCHEMA_VERSION = 1;

export interface TableNames {
  readonly meta: string;
  readonly tickets: string;
  readonly occurrences: string;
  readonly links: string;
  readonly outbox: string;
  readonly batches: string;
}

export function tableNames(prefix: string): TableNames {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(prefix)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `prefix must be letters, digits and underscores, starting with a letter or underscore; got ${JSON.stringify(prefix)}`,
    );
  }
  return {
    meta: `${prefix}meta`,
    tickets: `${prefix}tickets`,
    occurrences: `${prefix}occurrences`,
    links: `${prefix}links`,
    outbox: `${prefix}outbox`,
    batches: `${prefix}batches`,
  };
}

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
      last_write_reopened boolean not null default false
    )`,
    `create unique index if not exists ${t.tickets}_key on ${t.tickets} (app_id, hash)`,
    `create index if not exists ${t.tickets}_last_seen on ${t.tickets} (last_seen, id)`,
    `create index if not exists ${t.tickets}_triage on ${t.tickets} (solved, level, last_seen)`,
    `create index if not exists ${t.tickets}_channel on ${t.tickets} (channel)`,
    `create table if not exists ${t.occurrences} (
      id ${d.rowIdColumn},
      ticket_id integer not null references ${t.tickets} (id) on delete cascade,
      time ${time} not null,
      data ${d.jsonType} not null
    )`,
    `create index if not exists ${t.occurrences}_ticket on ${t.occurrences} (ticket_id, time, id)`,
    `create table if not exists ${t.links} (
      tracker text not null,
      app_id text not null,
      hash varchar(64) not null,
      external_id text,
      owner text,
      claimed_until ${time},
      last_comment_at ${time},
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
      last_error text
    )`,
    `create index if not exists ${t.outbox}_due on ${t.outbox} (tracker, available_at, id)`,
    `create table if not exists ${t.batches} (
      batch_id varchar(64) primary key,
      applied_at ${time} not null
    )`,
  ];
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
  for (const statement of statements(d, t)) await sql.raw(statement).execute(conn);
  await sql`insert into ${sql.table(t.meta)} (key, value) values ('schema_version', ${String(SCHEMA_VERSION)})`.execute(
    conn,
  );
}
