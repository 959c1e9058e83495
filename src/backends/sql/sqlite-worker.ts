/**
 * The SQLite worker thread: it owns a writer's connection to the store, so
 * that SQLite's synchronous statements (a commit waits for the disk) run
 * beside the application's event loop instead of on it. The application's
 * thread compiles each statement and posts it here (sqlite-thread.ts); this
 * thread runs it and posts the rows back. One connection, one statement at a
 * time, in the order they came: a transaction begun by one message is the
 * one the next messages run in.
 *
 * Only better-sqlite3 is loaded here; errors go back as their name, message
 * and SQLite code, which is all the store needs to tell busy from broken.
 */

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { retryWhileBusy } from './sqlite-busy.js';
import { addSqliteFunctions } from './sqlite-functions.js';

/** How the worker opens the store (given as workerData). */
export interface SqliteOpening {
  readonly path: string;
  /** Create the file and switch a new store to write-ahead logging. */
  readonly create: boolean;
  readonly busyTimeoutMs: number;
}

export type SqliteRequest =
  | { readonly id: number; readonly op: 'query'; readonly sql: string; readonly params: readonly unknown[] }
  | { readonly id: number; readonly op: 'many'; readonly sql: string; readonly rows: readonly (readonly unknown[])[] }
  | { readonly id: number; readonly op: 'close' };

export interface SqliteErrorData {
  readonly name: string;
  readonly message: string;
  readonly code: string | undefined;
}

export type SqliteReply =
  | { readonly id: 0; readonly ready: true }
  | { readonly id: number; readonly rows: unknown[] }
  | { readonly id: number; readonly changes: number; readonly lastInsertRowid: number | bigint }
  | { readonly id: number; readonly done: true }
  | { readonly id: number; readonly error: SqliteErrorData };

type Statement = Database.Statement<unknown[]>;

// Statements are prepared once per text; texts that vary with a batch's size are few, but not bounded.
const STATEMENT_CACHE = 200;

function errorData(error: unknown): SqliteErrorData {
  const e = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  return {
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
    code: typeof e?.code === 'string' ? e.code : undefined,
  };
}

async function open(opening: SqliteOpening): Promise<Database.Database> {
  const file = opening.path !== ':memory:';
  // No busy wait inside SQLite (see sqlite-busy.ts): a lock is waited for between attempts.
  const db = new Database(opening.path, { timeout: 0, fileMustExist: file && !opening.create });
  try {
    // An existing store already is in WAL mode; only a new one is switched.
    if (opening.create && file)
      await retryWhileBusy(async () => db.pragma('journal_mode = WAL'), opening.busyTimeoutMs);
    // WAL with NORMAL is durable across application crashes.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    addSqliteFunctions(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function serve(db: Database.Database): void {
  const port = parentPort!;
  const statements = new Map<string, Statement>();
  const prepared = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      if (statements.size >= STATEMENT_CACHE) statements.delete(statements.keys().next().value!);
      statements.set(sql, statement);
    }
    return statement;
  };
  port.on('message', (request: SqliteRequest) => {
    let reply: SqliteReply;
    try {
      if (request.op === 'query') {
        const statement = prepared(request.sql);
        if (statement.reader) {
          reply = { id: request.id, rows: statement.all(...request.params) };
        } else {
          const { changes, lastInsertRowid } = statement.run(...request.params);
          reply = { id: request.id, changes, lastInsertRowid };
        }
      } else if (request.op === 'many') {
        const statement = prepared(request.sql);
        for (const row of request.rows) statement.run(...row);
        reply = { id: request.id, done: true };
      } else {
        statements.clear();
        db.close();
        port.postMessage({ id: request.id, done: true } satisfies SqliteReply);
        port.close();
        return;
      }
    } catch (error) {
      reply = { id: request.id, error: errorData(error) };
    }
    port.postMessage(reply);
  });
}

if (parentPort !== null) {
  const port = parentPort;
  open(workerData as SqliteOpening).then(
    (db) => {
      serve(db);
      port.postMessage({ id: 0, ready: true } satisfies SqliteReply);
    },
    (error: unknown) => {
      port.postMessage({ id: 0, error: errorData(error) } satisfies SqliteReply);
      port.close();
    },
  );
}
