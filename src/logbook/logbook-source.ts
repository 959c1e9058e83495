/**
 * Opening a Logbook ticketing store for reading, by its URI (logbook-uri.ts):
 * SQLite with better-sqlite3, PostgreSQL with the optional `pg` package.
 */

import { LogticketsError } from '../errors.js';
import { openLogbookPostgres } from './logbook-postgres.js';
import { openLogbookSqlite } from './logbook-sqlite.js';
import type { LogbookSource } from './logbook-tables.js';
import { LOGBOOK_PREFIX, parseLogbookUri } from './logbook-uri.js';

export type { LogbookSource } from './logbook-tables.js';

/** Open and check a Logbook store: the file or server is there and holds both tables. */
export async function openLogbookSource(uri: string, prefix: string = 'logbook_'): Promise<LogbookSource> {
  if (!LOGBOOK_PREFIX.test(prefix)) {
    throw new LogticketsError('INVALID_ARGUMENT', `--prefix must be letters, digits and _ only, got "${prefix}"`);
  }
  const target = parseLogbookUri(uri);
  return target.kind === 'sqlite' ? openLogbookSqlite(target, prefix) : openLogbookPostgres(target, prefix);
}
