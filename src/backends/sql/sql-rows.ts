/** Tickets between the SQL store's rows and the contract's objects: columns, filters, row mapping. */

import { sql, type RawBuilder } from 'kysely';
import type { Ticket, TicketFilter, TicketOrderField } from '../contract.js';
import { filterStates } from '../query-options.js';
import { stateOf, type TicketState } from '../ticket-state.js';
import type { SqlDialect } from './sql-dialect.js';

export const ORDER_COLUMNS: Record<TicketOrderField, string> = {
  id: 'id',
  lastSeen: 'last_seen',
  firstSeen: 'first_seen',
  occurrenceCount: 'occurrence_count',
  level: 'level',
  regressionCount: 'regression_count',
};

export function ticketWhere(d: SqlDialect, f: TicketFilter): RawBuilder<unknown> {
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

export function toTicket(d: SqlDialect, row: Record<string, unknown>): Ticket {
  const time = (v: unknown) => (v == null ? null : d.time(v));
  const state = {
    solved: Boolean(row.solved),
    mutedAt: time(row.muted_at),
    lastRegressionAt: time(row.last_regression_at),
    stateChangedAt: time(row.state_at),
  };
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
  };
}
