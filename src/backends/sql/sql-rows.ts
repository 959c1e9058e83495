/** Tickets between the SQL store's rows and the contract's objects: columns, filters, row mapping. */

import { sql, type RawBuilder } from 'kysely';
import type { ReleaseMark } from '../batch.js';
import type { Ticket, TicketFilter, TicketOrderField } from '../contract.js';
import { filterStates } from '../query-options.js';
import { stateOf, type StateFields, type TicketState } from '../ticket-state.js';
import type { SqlDialect } from './sql-dialect.js';
import { SQLITE_FOLD } from './sqlite-functions.js';
import type { TableNames } from './sql-table-names.js';

export const ORDER_COLUMNS: Record<TicketOrderField, string> = {
  id: 'id',
  lastSeen: 'last_seen',
  firstSeen: 'first_seen',
  occurrenceCount: 'occurrence_count',
  level: 'level',
  regressionCount: 'regression_count',
};

export function ticketWhere(d: SqlDialect, t: TableNames, f: TicketFilter): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`1 = 1`];
  if (f.hash !== undefined) parts.push(sql`hash = ${f.hash}`);
  if (f.solved !== undefined) parts.push(sql`solved = ${d.bool(f.solved)}`);
  const states = filterStates(f);
  if (states !== undefined) parts.push(sql`(${sql.join(states.map(stateIs), sql` or `)})`);
  if (f.muted !== undefined) parts.push(f.muted ? sql`muted_at is not null` : sql`muted_at is null`);
  if (f.level !== undefined) parts.push(sql`level = ${f.level}`);
  if (f.minLevel !== undefined) parts.push(sql`level >= ${f.minLevel}`);
  if (f.appId !== undefined) parts.push(sql`app_id = ${f.appId}`);
  if (f.channel !== undefined) parts.push(sql`channel = ${f.channel}`);
  if (f.release !== undefined) {
    parts.push(sql`id in (select ticket_id from ${sql.table(t.occurrences)} where release = ${d.text(f.release)})`);
  }
  if (f.search !== undefined) {
    // A substring, case folded on both sides; strpos and instr take no wildcards, so % and _ are plain text.
    parts.push(
      d.kind === 'sqlite'
        ? sql`instr(${sql.raw(SQLITE_FOLD)}(title), ${f.search.toLowerCase()}) > 0`
        : sql`strpos(lower(title), lower(cast(${d.text(f.search)} as text))) > 0`,
    );
  }
  if (f.seenSince !== undefined) parts.push(sql`last_seen >= ${f.seenSince}`);
  if (f.seenBefore !== undefined) parts.push(sql`first_seen < ${f.seenBefore}`);
  if (f.environment !== undefined) {
    const environment = d.text(f.environment);
    parts.push(
      d.kind === 'sqlite'
        ? sql`exists (select 1 from json_each(environments) where value = ${environment})`
        : sql`environments @> jsonb_build_array(cast(${environment} as text))`,
    );
  }
  return sql.join(parts, sql` and `);
}

/**
 * The rows in a state, as `stateOf` (ticket-state.ts) derives it: muted
 * first, then solved; an unsolved ticket is regressed when its last
 * regression is its last state change.
 */
function stateIs(state: TicketState): RawBuilder<unknown> {
  const regressionLast = sql`(last_regression_at is not null and (state_at is null or last_regression_at >= state_at))`;
  switch (state) {
    case 'muted':
      return sql`(muted_at is not null)`;
    case 'solved':
      return sql`(muted_at is null and solved = true)`;
    case 'regressed':
      return sql`(muted_at is null and solved = false and ${regressionLast})`;
    case 'open':
      return sql`(muted_at is null and solved = false and not ${regressionLast})`;
  }
}

/** What a ticket's state is derived from (ticket-state.ts), from its row. */
export function stateFieldsOf(d: SqlDialect, row: Record<string, unknown>): StateFields {
  const time = (v: unknown) => (v == null ? null : d.time(v));
  return {
    solved: Boolean(row.solved),
    mutedAt: time(row.muted_at),
    lastRegressionAt: time(row.last_regression_at),
    stateChangedAt: time(row.state_at),
  };
}

export function toTicket(d: SqlDialect, row: Record<string, unknown>): Ticket {
  const time = (v: unknown) => (v == null ? null : d.time(v));
  const state = stateFieldsOf(d, row);
  return {
    id: Number(row.id),
    hash: String(row.hash),
    appId: String(row.app_id),
    level: Number(row.level),
    channel: String(row.channel),
    location: String(row.location),
    function: row.function == null ? null : String(row.function),
    title: String(row.title),
    firstSeen: d.time(row.first_seen),
    lastSeen: d.time(row.last_seen),
    occurrenceCount: Number(row.occurrence_count),
    solved: state.solved,
    solvedAt: time(row.solved_at),
    regressionCount: Number(row.regression_count),
    lastRegressionAt: state.lastRegressionAt,
    muted: state.mutedAt !== null,
    mutedAt: state.mutedAt,
    stateChangedAt: state.stateChangedAt,
    state: stateOf(state),
    firstRelease: row.first_release == null ? null : String(row.first_release),
    lastRelease: row.last_release == null ? null : String(row.last_release),
    environments: environmentsOf(row.environments),
    solvedInRelease: row.solved_in_release == null ? null : String(row.solved_in_release),
  };
}

/** A ticket's environments: JSON text in SQLite, parsed by the driver in PostgreSQL, null in rows of older versions. */
export function environmentsOf(value: unknown): string[] {
  if (value == null) return [];
  const list: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return Array.isArray(list) ? list.map(String).sort() : [];
}

/** A release and the time of its occurrence, from two columns; null when there is none. */
export function releaseMark(d: SqlDialect, release: unknown, time: unknown): ReleaseMark | null {
  return release == null || time == null ? null : { release: String(release), time: d.time(time) };
}
