/**
 * Reading a Logbook store kept in PostgreSQL, with the optional `pg` package
 * (loaded on first use, like the PostgreSQL store's). One connection, reads
 * only; the tables are found along the connection's search_path, as
 * Logbook's SQLAlchemy backend made them.
 */

import { LogticketsError, readField, secretMatchers, type SecretMatchers } from '../errors.js';
import { loadDriver } from '../backends/optional-driver.js';
import {
  hasLogbookTables,
  logbookQueries,
  missingTables,
  type LogbookOccurrenceRow,
  type LogbookSource,
  type LogbookTicketRow,
} from './logbook-tables.js';
import type { LogbookTarget } from './logbook-uri.js';

type PostgresTarget = Extract<LogbookTarget, { kind: 'postgres' }>;

const CONNECT_TIMEOUT_MS = 10_000;

export async function openLogbookPostgres(target: PostgresTarget, prefix: string): Promise<LogbookSource> {
  const { name } = target;
  const secrets = secretMatchers(target.secrets);
  const { default: pg } = await loadDriver<typeof import('pg')>('pg', 'postgresql:// Logbook stores');
  const client = new pg.Client({
    connectionString: target.connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // A connection that breaks later fails the query that runs; the event itself must not crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectError(error, name, secrets);
  }
  const query = async <T>(text: string, values: unknown[] = []): Promise<T[]> => {
    try {
      return (await client.query(text, values)).rows as T[];
    } catch (error) {
      throw readError(error, name, secrets);
    }
  };
  try {
    const sql = logbookQueries(prefix, (n) => `$${n}`);
    const inSchemas = 'table_schema = any(current_schemas(false))';
    const names = async (text: string) => (await query<{ name: string }>(text)).map((row) => row.name);
    const found = await names(`select table_name as name from information_schema.tables where ${inSchemas}`);
    const ticketTables = await names(
      `select table_name as name from information_schema.columns where ${inSchemas} and column_name = 'record_hash'`,
    );
    if (!hasLogbookTables(prefix, found, ticketTables)) throw missingTables(name, prefix, found, ticketTables);
    return {
      name,
      countOccurrences: async () => Number((await query<{ n: string }>(sql.count))[0]?.n ?? 0),
      tickets: async (afterId, limit) =>
        (await query<Record<string, unknown>>(sql.tickets, [afterId, limit])).map(ticketRow),
      occurrences: (ticketId, afterId, limit) =>
        query<LogbookOccurrenceRow>(sql.occurrences, [ticketId, afterId, limit]),
      close: () => client.end().catch(() => undefined),
    };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/** Counts come back as text (bigint). */
function ticketRow(row: Record<string, unknown>): LogbookTicketRow {
  return { ...(row as unknown as LogbookTicketRow), rows: Number(row.rows), solved: row.solved === true };
}

function connectError(error: unknown, name: string, secrets: SecretMatchers): LogticketsError {
  const code = String(readField(error, 'code') ?? '');
  const message = String(readField(error, 'message') ?? error);
  const options = { cause: error, secrets };
  if (code === '28P01' || code === '28000') {
    return new LogticketsError('AUTH_FAILED', `the Logbook store at ${name} refused the login: ${message}`, options);
  }
  if (code === '3D000')
    return new LogticketsError('STORE_NOT_FOUND', `no Logbook store at ${name}: ${message}`, options);
  return new LogticketsError(
    'BACKEND_UNAVAILABLE',
    `cannot reach the Logbook store at ${name}: ${message || code || 'no answer'}`,
    { ...options, retryable: true },
  );
}

function readError(error: unknown, name: string, secrets: SecretMatchers): LogticketsError {
  const message = String(readField(error, 'message') ?? error);
  return new LogticketsError('BACKEND_REJECTED', `reading the Logbook store at ${name}: ${message}`, {
    cause: error,
    secrets,
  });
}
