/**
 * What every statement of the SQL store goes through: opening the store once
 * (creating or only verifying its tables, by access mode), reads with retries
 * while SQLite is busy, and write transactions on one pinned connection. A
 * store opened read-only never starts a write.
 */

import { sql, type Kysely } from 'kysely';
import { LogticketsError, type SecretMatchers } from '../../errors.js';
import type { JsonValue } from '../../logging/json-safe.js';
import { readOnlyError } from '../contract.js';
import { retryWhileBusy, type SqlAccess, type SqlDialect } from './sql-dialect.js';
import { classifySqlError } from './sql-errors.js';
import { ensureSchema, verifySchema, type TableNames } from './sql-schema.js';

export class SqlCore {
  private opening: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    readonly d: SqlDialect,
    readonly t: TableNames,
    readonly access: SqlAccess,
    private readonly busyTimeoutMs: number,
    /** The URI's password, replaced by value in errors (see error-sanitizer.ts). */
    secrets: SecretMatchers = [],
  ) {
    this.#secrets = secrets;
  }

  // A private field: util.inspect and snapshots of this object never show it.
  readonly #secrets: SecretMatchers;

  /** Create what is missing (a writer), or verify that the store is there and of this version. */
  open(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    this.opening ??= (
      this.access === 'create'
        ? this.transact('open the store', async (conn) => {
            await ensureSchema(conn, this.d, this.t, this.name);
            // A table of another program under our name would fail every write later: say so now.
            await verifySchema(conn, this.d, this.t, this.name);
          })
        : this.inspect('open the store', (conn) => verifySchema(conn, this.d, this.t, this.name))
    ).catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.d.db.destroy().catch(() => undefined);
  }

  async read<T>(action: string, run: (db: Kysely<unknown>) => Promise<T>): Promise<T> {
    await this.open();
    try {
      return await retryWhileBusy(() => run(this.d.db), this.busyTimeoutMs);
    } catch (error) {
      throw classifySqlError(error, this.name, action, this.#secrets);
    }
  }

  /**
   * Run `fn` in a write transaction on one pinned connection, after opening
   * the store; when SQLite's write lock is taken, roll back and run it again
   * a moment later.
   */
  async write<T>(action: string, fn: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
    if (this.closed) throw this.closedError();
    if (this.access === 'read-only') throw readOnlyError(this.name, action);
    await this.open();
    return this.transact(action, fn);
  }

  private async transact<T>(action: string, fn: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
    try {
      return await retryWhileBusy(() => this.transaction(fn), this.busyTimeoutMs, this.d.isTransient);
    } catch (error) {
      throw classifySqlError(error, this.name, action, this.#secrets);
    }
  }

  /** SQLite keeps JSON as text; PostgreSQL's driver has already parsed jsonb. */
  jsonValue(value: unknown): JsonValue {
    return this.d.kind === 'sqlite' ? (JSON.parse(String(value)) as JsonValue) : (value as JsonValue);
  }

  /** Run `fn` on one pinned connection without a transaction (reading only). */
  private async inspect<T>(action: string, fn: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
    try {
      return await retryWhileBusy(() => this.d.db.connection().execute(fn), this.busyTimeoutMs);
    } catch (error) {
      throw classifySqlError(error, this.name, action, this.#secrets);
    }
  }

  private transaction<T>(fn: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
    return this.d.db.connection().execute(async (conn) => {
      await sql.raw(this.d.beginWrite).execute(conn);
      try {
        const result = await fn(conn);
        await sql.raw('commit').execute(conn);
        return result;
      } catch (error) {
        await sql
          .raw('rollback')
          .execute(conn)
          .catch(() => undefined);
        throw error;
      }
    });
  }

  private closedError(): LogticketsError {
    return new LogticketsError('CLOSED', 'backend is closed', { backend: this.name });
  }
}
