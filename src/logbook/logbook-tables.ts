/**
 * A Logbook ticketing store, read: the rows of its `<prefix>tickets` and
 * `<prefix>occurrences` tables as Logbook's SQL backend writes them, with
 * times and hashes as text whatever the column types are (SQLite keeps the
 * hash Logbook binds as bytes as a BLOB; PostgreSQL has timestamps). Each
 * reader only reads: it never creates, changes or locks anything.
 */

import { LogticketsError } from '../errors.js';

/** A row of `<prefix>tickets`, with how many occurrence rows it has. */
export interface LogbookTicketRow {
  readonly ticketId: number;
  readonly hash: string | null;
  readonly level: number | null;
  readonly channel: string | null;
  readonly location: string | null;
  readonly module: string | null;
  /** As the database writes it: `2026-01-15 12:00:00.123456`. */
  readonly lastOccurrence: string | null;
  readonly occurrenceCount: number | null;
  readonly solved: boolean;
  readonly appId: string | null;
  /** Rows of `<prefix>occurrences` that belong to it. */
  readonly rows: number;
}

/** A row of `<prefix>occurrences`. */
export interface LogbookOccurrenceRow {
  readonly occurrenceId: number;
  /** As the database writes it (see LogbookTicketRow.lastOccurrence). */
  readonly time: string | null;
  /** The record as JSON text. */
  readonly data: string | null;
  readonly appId: string | null;
}

export interface LogbookSource {
  /** Where it is, without credentials (`sqlite:/srv/app/tickets.db`, `postgres://db:5432/app`). */
  readonly name: string;
  /** Occurrence rows that belong to a ticket. */
  countOccurrences(): Promise<number>;
  /** Tickets by id, `limit` at most, after the ticket `afterId`. */
  tickets(afterId: number, limit: number): Promise<LogbookTicketRow[]>;
  /** A ticket's occurrences by id, `limit` at most, after the occurrence `afterId`. */
  occurrences(ticketId: number, afterId: number, limit: number): Promise<LogbookOccurrenceRow[]>;
  close(): Promise<void>;
}

/** The SQL of the readers, for tables named with `prefix` (checked: letters, digits and _). */
export function logbookQueries(prefix: string, param: (n: number) => string) {
  const tickets = `"${prefix}tickets"`;
  const occurrences = `"${prefix}occurrences"`;
  return {
    count: `select count(*) as n from ${occurrences} o join ${tickets} t on t.ticket_id = o.ticket_id`,
    tickets:
      `select t.ticket_id as "ticketId", cast(t.record_hash as text) as hash, t.level, t.channel, t.location, ` +
      `t.module, cast(t.last_occurrence_time as text) as "lastOccurrence", t.occurrence_count as "occurrenceCount", ` +
      `t.solved, t.app_id as "appId", ` +
      `(select count(*) from ${occurrences} o where o.ticket_id = t.ticket_id) as rows ` +
      `from ${tickets} t where t.ticket_id > ${param(1)} order by t.ticket_id limit ${param(2)}`,
    occurrences:
      `select occurrence_id as "occurrenceId", cast(time as text) as time, data, app_id as "appId" ` +
      `from ${occurrences} where ticket_id = ${param(1)} and occurrence_id > ${param(2)} ` +
      `order by occurrence_id limit ${param(3)}`,
  };
}

/**
 * Whether a store holds Logbook's tables with `prefix`; `tables`: all its
 * tables, `ticketTables`: those with a `record_hash` column (Logbook's
 * tickets tables, not logtickets' own).
 */
export function hasLogbookTables(prefix: string, tables: readonly string[], ticketTables: readonly string[]): boolean {
  return ticketTables.includes(`${prefix}tickets`) && tables.includes(`${prefix}occurrences`);
}

/** The error for a store that lacks the tables, naming the prefixes of those it has. */
export function missingTables(
  name: string,
  prefix: string,
  tables: readonly string[],
  ticketTables: readonly string[],
): LogticketsError {
  const prefixes = ticketTables
    .filter((table) => table.endsWith('tickets'))
    .map((table) => table.slice(0, -'tickets'.length))
    .filter((p) => hasLogbookTables(p, tables, ticketTables))
    .sort()
    .map((p) => `--prefix ${p === '' ? "''" : p}`);
  const hint = prefixes.length === 0 ? 'it holds none' : `try ${prefixes.join(' or ')}`;
  return new LogticketsError(
    'STORE_NOT_FOUND',
    `no Logbook ticketing tables ${prefix}tickets and ${prefix}occurrences in ${name} (${hint})`,
  );
}
