/**
 * The application's side of the SQLite worker (sqlite-worker.ts): a kysely
 * dialect whose one connection lives on that worker thread. Statements are
 * compiled here as for any SQLite store and posted there; the event loop
 * only hands them over and picks up the answers, so a commit that waits for
 * the disk never holds up the application.
 *
 * The worker does not keep the process alive while it idles (a store left
 * open must not stop a service from ending), only while statements are on
 * their way. If it stops (killed, out of memory), what was waiting fails as
 * a store that is unavailable, which the pipeline retries, and the next
 * statement starts a new one.
 */

import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type { SqliteOpening, SqliteReply, SqliteRequest } from './sqlite-worker.js';

// Built, this module runs from dist/ and starts the worker next to it. Run
// from src/ under a TypeScript loader (this package's tests and benchmarks,
// which build first), it starts the built worker: Node 20 applies no loader
// hooks to a worker's entry. The worker gets none of the application's
// options either (its --import hooks, say, have nothing to do there).
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? '../../../dist/backends/sql/sqlite-worker.js' : './sqlite-worker.js',
  import.meta.url,
);

type Request = SqliteRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Waiter {
  resolve(reply: SqliteReply): void;
  reject(error: Error): void;
}

/** An error as the driver would have thrown it on this thread: name, message and SQLite code. */
function sqliteError(data: { name: string; message: string; code: string | undefined }): Error {
  const error = new Error(data.message) as Error & { code?: string };
  error.name = data.name;
  if (data.code !== undefined) error.code = data.code;
  return error;
}

/** The worker stopped: retryable for the pipeline (an I/O failure of the store, as SQLite would say). */
function stoppedError(why: string): Error {
  return sqliteError({
    name: 'SqliteError',
    message: `the SQLite worker thread stopped: ${why}`,
    code: 'SQLITE_IOERR',
  });
}

export class SqliteThread {
  private worker: Worker | undefined;
  private starting: Promise<Worker> | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly opening: SqliteOpening,
    /** Checks made on this thread before the worker starts (e.g. that an existing store is there). */
    private readonly before: () => void = () => {},
  ) {}

  /** Start the worker and open the store in it (again, after it stopped). */
  start(): Promise<Worker> {
    if (this.closed) return Promise.reject(stoppedError('the store is closed'));
    this.starting ??= this.spawn().catch((error: unknown) => {
      this.starting = undefined;
      throw error;
    });
    return this.starting;
  }

  private spawn(): Promise<Worker> {
    this.before();
    return new Promise<Worker>((resolve, reject) => {
      const worker = new Worker(WORKER_URL, { workerData: this.opening, execArgv: [] });
      let ready = false;
      worker.on('message', (reply: SqliteReply) => {
        if (reply.id === 0) {
          if ('error' in reply) return reject(sqliteError(reply.error));
          ready = true;
          this.worker = worker;
          worker.unref();
          return resolve(worker);
        }
        const waiter = this.waiting.get(reply.id);
        if (waiter === undefined) return;
        this.waiting.delete(reply.id);
        if (this.waiting.size === 0) worker.unref();
        if ('error' in reply) waiter.reject(sqliteError(reply.error));
        else waiter.resolve(reply);
      });
      worker.on('error', (error) => {
        if (!ready) reject(error);
        this.stopped(worker, error.message);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(stoppedError(`exit code ${code} while opening the store`));
        this.stopped(worker, `exit code ${code}`);
      });
    });
  }

  private stopped(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.starting = undefined;
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiting) waiter.reject(stoppedError(why));
  }

  async request(request: Request): Promise<SqliteReply> {
    const worker = await this.start();
    // It stopped in the meantime: its waiters were already failed, so this one would wait for ever.
    if (this.worker !== worker) return this.request(request);
    const id = this.nextId++;
    return new Promise<SqliteReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Statements on their way keep the process alive until they are answered.
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ ...request, id });
    });
  }

  /** Close the store's connection and end the worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    const worker =
      this.worker ?? (this.starting === undefined ? undefined : await this.starting.catch(() => undefined));
    if (worker !== undefined) {
      await this.request({ op: 'close' }).catch(() => undefined);
      await worker.terminate();
    }
    this.closed = true;
  }
}

class WorkerConnection implements DatabaseConnection {
  constructor(private readonly thread: SqliteThread) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const reply = await this.thread.request({ op: 'query', sql: compiled.sql, params: compiled.parameters });
    if ('rows' in reply) return { rows: reply.rows as R[] };
    if ('changes' in reply) {
      return { numAffectedRows: BigInt(reply.changes), insertId: BigInt(reply.lastInsertRowid), rows: [] };
    }
    return { rows: [] };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the SQLite worker connection does not stream');
  }
}

/** One connection for everyone, as SQLite has: a caller holds it until it releases it. */
class WorkerDriver implements Driver {
  private readonly connection: WorkerConnection;
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(private readonly thread: SqliteThread) {
    this.connection = new WorkerConnection(thread);
  }

  async init(): Promise<void> {
    await this.thread.start();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.held !== undefined) await this.held;
    this.held = new Promise((resolve) => (this.release = resolve));
    return this.connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const release = this.release;
    this.held = undefined;
    this.release = undefined;
    release?.();
  }

  async destroy(): Promise<void> {
    await this.thread.close();
  }
}

export class SqliteWorkerDialect implements Dialect {
  constructor(private readonly thread: SqliteThread) {}
  createAdapter() {
    return new SqliteAdapter();
  }
  createDriver(): Driver {
    return new WorkerDriver(this.thread);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}
