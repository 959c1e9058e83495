/**
 * From what a user names — a store URI, a backend, or a list of them — to
 * backend instances. URIs are read here, in one place, so every part of
 * logtickets (handler, CLI, config) accepts the same ones.
 */

import { resolve } from 'node:path';
import { LogticketsError, maskSecrets } from '../errors.js';
import type { TicketBackend } from './contract.js';
import { MemoryBackend } from './memory/memory-backend.js';
import { MongoDBBackend, type MongoDBBackendOptions } from './mongodb/mongodb-backend.js';
import { isMongoUri } from './mongodb/mongodb-uri.js';
import { SqlBackend, type SqlBackendOptions } from './sql/sql-backend.js';
import { isSqlUri } from './sql/sql-uri.js';
import { countsIn } from './counts-in.js';

/** Options for whichever backend a URI names (each backend reads its own). */
export type OpenBackendOptions = SqlBackendOptions & MongoDBBackendOptions;

export type Target = string | TicketBackend | ReadonlyArray<string | TicketBackend>;

/** The store used when none is named: `logtickets.db` in the working directory. */
export function defaultStoreUri(): string {
  return `sqlite:${resolve('logtickets.db')}`;
}

export const SUPPORTED_URIS = [
  'sqlite:PATH',
  'sqlite::memory:',
  'postgres://…',
  'mongodb://…',
  'mongodb+srv://…',
  'memory:',
] as const;

export function openBackend(uri: string, options: OpenBackendOptions = {}): TicketBackend {
  if (typeof uri !== 'string') throw new LogticketsError('INVALID_URI', 'a store URI must be a string');
  // Each backend checks the options it reads; shared ones (prefix, now, access) pass to each.
  const { prefix, now, readOnly, createIfMissing, ...rest } = options;
  const common = pick({ prefix, now, readOnly, createIfMissing }, ['prefix', 'now', 'readOnly', 'createIfMissing']);
  if (isSqlUri(uri))
    return new SqlBackend(uri, {
      ...common,
      ...pick(rest, ['busyTimeoutMs', 'sqliteWorker', 'poolSize', 'connectTimeoutMs', 'onIdleError']),
    });
  if (isMongoUri(uri)) {
    return new MongoDBBackend(uri, {
      ...common,
      ...pick(rest, [
        'database',
        'writeConcern',
        'retention',
        'serverSelectionTimeoutMs',
        'idleCloseMs',
        'clientOptions',
      ]),
    });
  }
  if (uri === 'memory:') return new MemoryBackend(pick({ now, readOnly }, ['now', 'readOnly']));
  throw new LogticketsError(
    'UNSUPPORTED_URI',
    `no backend for ${maskSecrets(uri)}: supported are ${SUPPORTED_URIS.join(', ')}`,
  );
}

function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key];
  return out;
}

function isBackend(value: unknown): value is TicketBackend {
  const b = value as Partial<TicketBackend> | null;
  return b !== null && typeof b === 'object' && typeof b.recordBatch === 'function' && typeof b.open === 'function';
}

/** Backends for a handler target; `owned` are those opened here from URIs (the handler closes them). */
export function resolveTargets(target: Target | undefined): { backends: TicketBackend[]; owned: Set<TicketBackend> } {
  const items = target === undefined ? [defaultStoreUri()] : Array.isArray(target) ? target : [target];
  if (items.length === 0) throw new LogticketsError('INVALID_ARGUMENT', 'target: an empty list names no backend');
  const backends: TicketBackend[] = [];
  const owned = new Set<TicketBackend>();
  items.forEach((item: unknown, index: number) => {
    if (typeof item === 'string') {
      const backend = openBackend(item);
      backends.push(backend);
      owned.add(backend);
    } else if (isBackend(item)) {
      backends.push(item);
    } else {
      const where = Array.isArray(target) ? `target[${index}]` : 'target';
      throw new LogticketsError('INVALID_ARGUMENT', `${where} must be a store URI or a backend instance`);
    }
  });
  // A store with its trackers counts occurrences in its store: that store listed again would count them twice.
  backends.forEach((backend, index) => {
    const store = countsIn(backend);
    const twice = backends.find(
      (other, j) =>
        j !== index && (countsIn(other) === store || (other === countsIn(other) && other.name === store.name)),
    );
    if (store !== backend && twice !== undefined) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `target: ${backend.name} already counts occurrences in ${store.name}; list that store once (with all its trackers) or give the trackers another store`,
      );
    }
  });
  return { backends, owned };
}
