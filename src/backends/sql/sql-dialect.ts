/**
 * The differences between SQLite and PostgreSQL that the SQL store needs,
 * kept in one place: how to connect, column types, and the few expressions
 * that are spelled differently. Drivers are imported only when used, so a
 * PostgreSQL user never loads the SQLite native module and vice versa.
 */

import { recordText } from '../../logging/json-text.js';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql, type RawBuilder } from 'kysely';
import { LogticketsError, secretMatchers, uriSecrets } from '../../errors.js';
import { loadDriver } from '../optional-driver.js';
import type { JsonValue } from '../../logging/json-safe.js';
import type { SqlTarget } from './sql-uri.js';
import { isBusy, retryWhileBusy } from './sqlite-busy.js';
import { addSqliteFunctions } from './sqlite-functions.js';
import { SqliteThread, SqliteWorkerDialect } from './sqlite-thread.js';

export { isBusy, retryWhileBusy } from './sqlite-busy.js';

/**
 * How the store is opened: `create` makes what is missing (a writer);
 * `existing` writes only into a store that is there; `read-only` never writes.
 */
export type SqlAccess = 'create' | 'existing' | 'read-only';

export interface SqlDialect {
  readonly kind: 'sqlite' | 'postgres';
  readonly db: Kysely<unknown>;
  /** Primary key of tickets: ids users see, never reused. */
  readonly idColumn: string;
  /** Primary key of high-volume rows (occurrences, outbox): cheapest unique id, 64-bit. */
  readonly rowIdColumn: string;
  readonly timeType: string;
  readonly jsonType: string;
  readonly counterType: string;
  /** The larger / smaller of two values. */
  greatest(a: RawBuilder<unknown>, b: RawBuilder<unknown>): RawBuilder<unknown>;
  least(a: RawBuilder<unknown>, b: RawBuilder<unknown>): RawBuilder<unknown>;
  /** A boolean as a bind value. */
  bool(value: boolean): boolean | number;
  /** Text as a bind value: PostgreSQL text cannot hold NUL characters. */
  text(value: string): string;
  /** JSON text as a bind value. */
  json(value: string): string;
  /**
   * An occurrence's record as insertRows takes it: its JSON text. (Handing
   * the SQLite worker the record itself costs the application's thread as
   * much as serializing it, and the whole write more.)
   */
  record(data: JsonValue): unknown;
  /** Start a write transaction on a pinned connection. */
  readonly beginWrite: string;
  /** Times as the driver returns them → ISO strings. */
  time(value: unknown): string;
  /** Serialise schema changes between processes (no-op where the engine already does). */
  lockSchema(conn: Kysely<unknown>, key: string): Promise<void>;
  /**
   * Insert occurrence rows `[ticketId, time, record]` (the record as made by
   * `record()`) inside the open write transaction on `conn`: SQLite runs one
   * cached prepared statement per row on its single connection; PostgreSQL
   * sends multi-row inserts.
   */
  insertRows(
    conn: Kysely<unknown>,
    table: string,
    columns: readonly string[],
    rows: readonly unknown[][],
  ): Promise<void>;
  /** An error worth running the whole transaction again for (lock held, deadlock). */
  isTransient(error: unknown): boolean;
  /** The column names of a table (in lower case), or [] when there is no such table. */
  columns(conn: Kysely<unknown>, table: string): Promise<string[]>;
  /** The names of all tables. */
  tables(conn: Kysely<unknown>): Promise<string[]>;
}

// Rows per INSERT with many VALUES tuples: under every driver's bind limit.
const ROWS_PER_INSERT = 500;

export interface SqlConnectOptions {
  /** SQLite: how long to keep retrying while another connection holds the write lock (default 10 000 ms). */
  readonly busyTimeoutMs?: number;
  /**
   * SQLite: run a writer's statements on a worker thread (default true), so
   * that commits never hold up the event loop. A reader always runs them on
   * the calling thread (the CLI: short reads, nothing to wait for).
   */
  readonly sqliteWorker?: boolean;
  /** PostgreSQL: pool size. */
  readonly poolSize?: number;
  readonly connectTimeoutMs?: number;
  /** Called with errors of idle pooled connections (which must not crash the process). */
  readonly onIdleError?: (error: Error) => void;
}

export function createDialect(
  target: SqlTarget,
  options: SqlConnectOptions = {},
  access: SqlAccess = 'create',
): SqlDialect {
  return target.dialect === 'sqlite'
    ? sqliteDialect(target.path, target.name, options, access)
    : postgresDialect(target.connectionString, options);
}

interface SqliteHandle {
  pragma(source: string): unknown;
  prepare(source: string): { run(...params: unknown[]): unknown };
}

function sqliteDialect(path: string, name: string, options: SqlConnectOptions, access: SqlAccess): SqlDialect {
  if (access !== 'read-only' && options.sqliteWorker !== false) return sqliteWorkerDialect(path, name, options, access);
  // The one connection kysely drives; kept here so bulk inserts can reuse prepared statements on it.
  let raw: SqliteHandle | undefined;
  const statements = new Map<string, { run(...params: unknown[]): unknown }>();
  const db = new Kysely<unknown>({
    dialect: new SqliteDialect({
      database: async () => {
        const { default: Database } = await import('better-sqlite3');
        const file = path !== ':memory:';
        if (access !== 'create' && file) checkSqliteFile(path, name);
        // No busy wait inside SQLite: it would sleep on the application's
        // thread. The backend retries SQLITE_BUSY asynchronously instead.
        if (access === 'read-only') {
          const handle = new Database(path, {
            timeout: 0,
            readonly: file && !readerCleansUp(path),
            fileMustExist: file,
          });
          // Refused by SQLite itself, whichever way the file was opened.
          handle.pragma('query_only = ON');
          addSqliteFunctions(handle);
          raw = handle;
          return handle;
        }
        const handle = new Database(path, { timeout: 0, fileMustExist: access === 'existing' && file });
        // An existing store already is in WAL mode; only a new one is switched.
        if (access === 'create' && file) await switchToWal(handle, options.busyTimeoutMs ?? 10_000);
        // WAL with NORMAL is durable across application crashes.
        handle.pragma('synchronous = NORMAL');
        handle.pragma('foreign_keys = ON');
        addSqliteFunctions(handle);
        raw = handle;
        return handle;
      },
    }),
  });
  return sqliteParts(db, async (_conn, table, columns, rows) => {
    const source = insertSource(table, columns);
    let statement = statements.get(source);
    if (statement === undefined) {
      statement = raw!.prepare(source);
      statements.set(source, statement);
    }
    // Between chunks the event loop gets a turn: a big batch must not stall the application.
    for (let i = 0; i < rows.length; i++) {
      statement.run(...rows[i]!);
      if (i % 100 === 99 && i + 1 < rows.length) await new Promise((resolve) => setImmediate(resolve));
    }
  });
}

/**
 * A writer's SQLite store: its connection lives on a worker thread
 * (sqlite-thread.ts), statements are compiled here and run there, and bulk
 * inserts go over as one message.
 */
function sqliteWorkerDialect(path: string, name: string, options: SqlConnectOptions, access: SqlAccess): SqlDialect {
  const file = path !== ':memory:';
  const thread = new SqliteThread(
    { path, create: access === 'create', busyTimeoutMs: options.busyTimeoutMs ?? 10_000 },
    () => {
      if (access !== 'create' && file) checkSqliteFile(path, name);
    },
  );
  const db = new Kysely<unknown>({ dialect: new SqliteWorkerDialect(thread) });
  return sqliteParts(db, async (_conn, table, columns, rows) => {
    if (rows.length > 0) await thread.request({ op: 'many', sql: insertSource(table, columns), rows });
  });
}

function insertSource(table: string, columns: readonly string[]): string {
  return `insert into "${table}" (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`;
}

/** What SQLite stores share, whichever thread runs their statements. */
function sqliteParts(db: Kysely<unknown>, insertRows: SqlDialect['insertRows']): SqlDialect {
  return {
    kind: 'sqlite',
    db,
    idColumn: 'integer primary key autoincrement',
    // A rowid alias: AUTOINCREMENT would update sqlite_sequence on every insert.
    rowIdColumn: 'integer primary key',
    timeType: 'text',
    jsonType: 'text',
    counterType: 'integer',
    greatest: (a, b) => sql`max(${a}, ${b})`,
    least: (a, b) => sql`min(${a}, ${b})`,
    bool: (value) => (value ? 1 : 0),
    text: (value) => value,
    json: (value) => value,
    record: (data) => recordText(data),
    beginWrite: 'begin immediate',
    time: (value) => String(value),
    lockSchema: async () => {},
    insertRows,
    isTransient: isBusy,
    columns: async (conn, table) => {
      const result = await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(conn);
      return result.rows.map((r) => String(r.name).toLowerCase());
    },
    tables: async (conn) => {
      const result = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(conn);
      return result.rows.map((r) => String(r.name));
    },
  };
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/** A store that must exist: the file is there and is an SQLite database (or empty). */
function checkSqliteFile(path: string, name: string): void {
  if (!existsSync(path)) throw new LogticketsError('STORE_NOT_FOUND', `no store at ${path}`, { backend: name });
  const header = readHeader(path);
  if (header.length > 0 && (header.length < 100 || header.toString('latin1', 0, 16) !== SQLITE_MAGIC)) {
    throw new LogticketsError('STORE_NOT_FOUND', `${path} is not an SQLite database, so not a logtickets store`, {
      backend: name,
    });
  }
}

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(100);
    return buffer.subarray(0, readSync(fd, buffer, 0, 100, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a reader must open a WAL database read-write (with query_only) to
 * leave no files behind. Reading a WAL database needs its -wal and -shm
 * files; when no connection has them open they do not exist, a read-only
 * connection creates them and cannot remove them, while a read-write one
 * removes them as the last connection to close (SQLite itself refuses its
 * writes: query_only). When a writer has them open, a read-only connection
 * creates nothing. One case remains: a writer that commits and closes while
 * such a reader is open leaves the reader as the last connection, and its
 * close copies that writer's commits into the database file, as the writer's
 * own close would have.
 */
function readerCleansUp(path: string): boolean {
  const header = readHeader(path);
  const wal = header.length >= 20 && header[18] === 2 && header[19] === 2;
  return wal && !existsSync(`${path}-wal`);
}

/**
 * Turn on write-ahead logging. Switching needs a moment alone with the file
 * and SQLite does not wait for it on its own, so several processes opening a
 * new store at once take turns here.
 */
async function switchToWal(handle: { pragma(source: string): unknown }, waitMs: number): Promise<void> {
  await retryWhileBusy(async () => handle.pragma('journal_mode = WAL'), waitMs);
}

const insertTexts = new Map<string, string>();

/** `insert into "t" (a, b) values ($1, $2), ($3, $4)…` for `count` rows, made once per shape. */
function multiRowInsert(table: string, columns: readonly string[], count: number): string {
  const key = `${table}\u0000${columns.join(',')}\u0000${count}`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    const tuples: string[] = [];
    for (let r = 0; r < count; r++) {
      tuples.push(`(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    }
    text = `insert into "${table}" (${columns.join(', ')}) values ${tuples.join(', ')}`;
    if (insertTexts.size >= 64) insertTexts.clear();
    insertTexts.set(key, text);
  }
  return text;
}

const NUL = /\u0000/g;
// A JSON escape of NUL that is not itself an escaped backslash followed by "u0000".
const JSON_NUL = /(?<=(?:^|[^\\])(?:\\\\)*)\\u0000/g;

// A reader needs nothing of its own here: SqlCore refuses its writes before they are sent (a session option
// such as default_transaction_read_only would be refused by connection poolers like PgBouncer).
function postgresDialect(connectionString: string, options: SqlConnectOptions): SqlDialect {
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: async () => {
        const { default: pg } = await loadDriver<typeof import('pg')>('pg', 'postgres:// stores');
        const pool = new pg.Pool({
          connectionString,
          max: options.poolSize ?? 4,
          connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
          // Idle connections must not keep the application's process alive.
          allowExitOnIdle: true,
          // bigint counts as JS numbers (exact up to 2^53), only on our own connections.
          types: {
            getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
              oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as never,
          },
        });
        // A connection that breaks emits 'error' on its client, idle or not; an
        // unheard 'error' event would crash the application. The query that
        // was running fails on its own, and is retried by the pipeline.
        // The hook gets a sanitized error: pg's own may carry connection details.
        const secrets = secretMatchers(uriSecrets(connectionString));
        const report = (error: Error) =>
          options.onIdleError?.(
            new LogticketsError('BACKEND_UNAVAILABLE', `idle connection failed: ${error.message}`, {
              cause: error,
              retryable: true,
              secrets,
            }),
          );
        pool.on('error', report);
        pool.on('connect', (client) => client.on('error', report));
        return pool;
      },
    }),
  });
  return {
    kind: 'postgres',
    db,
    idColumn: 'serial primary key',
    rowIdColumn: 'bigserial primary key',
    timeType: 'timestamptz',
    jsonType: 'jsonb',
    counterType: 'bigint',
    greatest: (a, b) => sql`greatest(${a}, ${b})`,
    least: (a, b) => sql`least(${a}, ${b})`,
    bool: (value) => value,
    text: (value) => (value.includes('\u0000') ? value.replace(NUL, '\uFFFD') : value),
    json: (value) => (value.includes('\\u0000') ? value.replace(JSON_NUL, '\\ufffd') : value),
    record(data) {
      return this.json(recordText(data));
    },
    beginWrite: 'begin',
    time: (value) => (value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString()),
    lockSchema: async (conn, key) => {
      await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(conn);
    },
    insertRows: async (conn, table, columns, rows) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        // Written out directly: through the query builder, each of the chunk's values would be a node to compile.
        await conn.executeQuery(CompiledQuery.raw(multiRowInsert(table, columns, chunk.length), chunk.flat()));
      }
    },
    // Deadlock or serialization failure: PostgreSQL rolled back, the transaction can simply run again.
    isTransient: (error) => ['40P01', '40001'].includes(String((error as { code?: unknown } | null)?.code)),
    columns: async (conn, table) => {
      const result = await sql<{ name: string }>`select column_name as name from information_schema.columns
        where table_name = ${table} and table_schema = any (current_schemas(false))`.execute(conn);
      return result.rows.map((r) => String(r.name).toLowerCase());
    },
    tables: async (conn) => {
      const result = await sql<{ name: string }>`select table_name as name from information_schema.tables
        where table_schema = any (current_schemas(false))`.execute(conn);
      return result.rows.map((r) => String(r.name));
    },
  };
}
