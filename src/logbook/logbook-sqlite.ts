/**
 * Reading a Logbook store kept in a SQLite file, read-only: nothing is
 * created when the file is not there, and a live Logbook may go on writing.
 * better-sqlite3 is loaded on first use (an import of PostgreSQL does not
 * pay for it).
 */

import { existsSync, statSync } from 'node:fs';
import { LogticketsError } from '../errors.js';
import {
  hasLogbookTables,
  logbookQueries,
  missingTables,
  type LogbookOccurrenceRow,
  type LogbookSource,
  type LogbookTicketRow,
} from './logbook-tables.js';
import type { LogbookTarget } from './logbook-uri.js';

type SqliteTarget = Extract<LogbookTarget, { kind: 'sqlite' }>;

export async function openLogbookSqlite(target: SqliteTarget, prefix: string): Promise<LogbookSource> {
  const { path, name } = target;
  if (!existsSync(path)) throw new LogticketsError('STORE_NOT_FOUND', `no Logbook store at ${path} (no such file)`);
  if (statSync(path).isDirectory()) {
    throw new LogticketsError('STORE_NOT_FOUND', `no Logbook store at ${path} (it is a directory)`);
  }
  const { default: Database } = await import('better-sqlite3');
  let db: InstanceType<typeof Database>;
  let found: string[];
  let ticketTables: string[];
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw readError(error, name, 'opening');
  }
  try {
    // The first read is where a file that is no database says so.
    found = (db.prepare(`select name from sqlite_master where type = 'table'`).all() as { name: string }[]).map(
      (row) => row.name,
    );
    const columns = db.prepare(`select count(*) as n from pragma_table_info(?) where name = 'record_hash'`);
    ticketTables = found.filter((table) => (columns.get(table) as { n: number }).n > 0);
  } catch (error) {
    db.close();
    throw readError(error, name, 'reading');
  }
  const sql = logbookQueries(prefix, () => '?');
  if (!hasLogbookTables(prefix, found, ticketTables)) {
    db.close();
    throw missingTables(name, prefix, found, ticketTables);
  }
  const count = db.prepare(sql.count);
  const tickets = db.prepare(sql.tickets);
  const occurrences = db.prepare(sql.occurrences);
  const run = <T>(action: () => T): Promise<T> => {
    try {
      return Promise.resolve(action());
    } catch (error) {
      return Promise.reject(readError(error, name, 'reading'));
    }
  };
  return {
    name,
    countOccurrences: () => run(() => Number((count.get() as { n: number }).n)),
    tickets: (afterId, limit) =>
      run(() => (tickets.all(afterId, limit) as Record<string, unknown>[]).map((row) => ticketRow(row))),
    occurrences: (ticketId, afterId, limit) =>
      run(() => occurrences.all(ticketId, afterId, limit) as LogbookOccurrenceRow[]),
    close: async () => {
      if (db.open) db.close();
    },
  };
}

/** SQLite has no booleans: Logbook's `solved` is 0 or 1. */
function ticketRow(row: Record<string, unknown>): LogbookTicketRow {
  return { ...(row as unknown as LogbookTicketRow), solved: row.solved === 1 || row.solved === true };
}

function readError(error: unknown, name: string, action: string): LogticketsError {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB') {
    return new LogticketsError('STORE_NOT_FOUND', `${name.slice('sqlite:'.length)} is not a SQLite database`, {
      cause: error,
    });
  }
  const busy = code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
  return new LogticketsError(busy ? 'BACKEND_BUSY' : 'BACKEND_UNAVAILABLE', `${action} ${name}: ${message}`, {
    cause: error,
    retryable: busy,
  });
}
