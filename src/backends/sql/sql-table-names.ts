/**
 * The names of the SQL store's tables, from its prefix. Apart from the
 * schema (sql-schema.ts) so that SqlBackend can refuse a bad prefix in its
 * constructor without loading the query builder.
 */

import { LogticketsError } from '../../errors.js';

export interface TableNames {
  readonly meta: string;
  readonly tickets: string;
  readonly occurrences: string;
  readonly links: string;
  readonly outbox: string;
  readonly batches: string;
  readonly trackers: string;
  readonly trackerWrites: string;
  readonly releases: string;
  readonly ticketEvents: string;
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
    trackers: `${prefix}trackers`,
    trackerWrites: `${prefix}tracker_writes`,
    releases: `${prefix}releases`,
    ticketEvents: `${prefix}ticket_events`,
  };
}
