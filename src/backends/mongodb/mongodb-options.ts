/**
 * The MongoDB store's options, checked at construction (before anything
 * connects), and what they say about where the store is: the database, the
 * collection prefix, a credential-free name and the secrets to keep out of
 * errors.
 */

import { LogticketsError, secretMatchers, uriSecrets, type SecretMatchers } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type { StoreAccessOptions } from '../contract.js';
import { parseMongoUri } from './mongodb-uri.js';

/*
 * mongodb is an optional peer dependency: the types below are the ones an
 * application sees (they are in logtickets' published .d.ts), so they never
 * name the driver's own. An application without mongodb must type-check
 * against logtickets with skipLibCheck off (test/package/pack.test.ts).
 */

/**
 * A MongoClient of the `mongodb` driver (≥ 7) that a store can be given
 * instead of a URI: only the part of its shape the types need, so that any
 * MongoClient fits and no mongodb types are needed to compile.
 */
export interface MongoClientLike {
  db(dbName?: string, options?: object): unknown;
  connect(): Promise<unknown>;
  close(force?: boolean): Promise<void>;
}

/** The driver's `WriteConcernSettings`, written out (see MongoClientLike for why). */
export interface MongoWriteConcern {
  /** The write concern: a number of members, or `'majority'`. */
  readonly w?: number | 'majority';
  /** The write concern timeout. */
  readonly wtimeoutMS?: number;
  /** The journal write concern. */
  readonly journal?: boolean;
  /** @deprecated The driver's: use `journal`. */
  readonly j?: boolean;
  /** @deprecated The driver's: use `wtimeoutMS`. */
  readonly wtimeout?: number;
  /** @deprecated The driver's: use `journal`. */
  readonly fsync?: boolean | 1;
}

export interface MongoDBBackendOptions extends StoreAccessOptions {
  /** Database name (default: the one in the URI, else `logtickets`). */
  readonly database?: string;
  /** Collection name prefix (default `logtickets_`). */
  readonly prefix?: string;
  /** Write concern of every write (default `{ w: 'majority' }`). */
  readonly writeConcern?: MongoWriteConcern;
  /** Keep only the newest N occurrences of each ticket (counts stay exact). Default: keep all. */
  readonly retention?: number;
  /** How long to look for a server before a write fails and is retried later (default 5 000 ms). */
  readonly serverSelectionTimeoutMs?: number;
  /**
   * Close the connection after this long without a call (default 1 000 ms);
   * the next call connects again. This is what lets a process that just ends
   * exit. 0 keeps it until close(). Not used for a client passed in.
   */
  readonly idleCloseMs?: number;
  /**
   * Extra driver options, for a URI: the driver's `MongoClientOptions` (typed
   * loosely, see MongoClientLike; `satisfies MongoClientOptions` checks them).
   */
  readonly clientOptions?: object;
  /** The clock used for solvedAt, claims and leases (tests pass their own). */
  readonly now?: () => Date;
}

export interface MongoTargetSettings {
  readonly name: string;
  readonly database: string;
  readonly prefix: string;
  readonly source: { readonly uri: string } | { readonly client: MongoClientLike };
  readonly secrets: SecretMatchers;
}

/** Check the options and read the target: a `mongodb://` / `mongodb+srv://` URI, or a MongoClient. */
export function readTarget(target: string | MongoClientLike, options: MongoDBBackendOptions): MongoTargetSettings {
  checkOptions('MongoDBBackend options', options, {
    database: 'string',
    prefix: 'string',
    writeConcern: 'object',
    retention: 'any',
    serverSelectionTimeoutMs: { integer: { min: 1 } },
    idleCloseMs: { integer: { min: 0 } },
    clientOptions: 'object',
    now: 'function',
    readOnly: 'boolean',
    createIfMissing: 'boolean',
  });
  const prefix = options.prefix ?? 'logtickets_';
  if (!/^[A-Za-z0-9_.-]{0,60}$/.test(prefix)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `prefix must be letters, digits, _ . or -; got ${JSON.stringify(prefix)}`,
    );
  }
  if (options.retention !== undefined && (!Number.isInteger(options.retention) || options.retention < 1)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `retention must be a positive integer, got ${String(options.retention)}`,
    );
  }
  if (typeof target === 'string') {
    const parsed = parseMongoUri(target);
    const database = options.database ?? parsed.database ?? 'logtickets';
    return {
      name: parsed.name.replace(/\/[^/]*$/, `/${database}`),
      database,
      prefix,
      source: { uri: target },
      secrets: secretMatchers(uriSecrets(target)),
    };
  }
  if (target !== null && typeof target === 'object' && typeof (target as MongoClientLike).db === 'function') {
    const database = options.database ?? 'logtickets';
    return { name: `mongodb:${database}`, database, prefix, source: { client: target }, secrets: [] };
  }
  throw new LogticketsError('INVALID_ARGUMENT', 'target must be a mongodb:// URI or a MongoClient');
}
