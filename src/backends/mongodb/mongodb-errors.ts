/**
 * Sorting MongoDB driver errors into those worth retrying (no server, network
 * trouble, primary stepping down, write concern not yet met) and the rest.
 */

import { LogticketsError } from '../../errors.js';

const RETRYABLE_NAMES = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'PoolClearedError',
  'PoolClearedOnNetworkError',
  'MongoWriteConcernError',
]);

// Server codes meaning "not now": interrupted, host unreachable, not primary, shutting down, write concern timeout...
const RETRYABLE_CODES = new Set([6, 7, 64, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

export const DUPLICATE_KEY = 11000;

export function isDuplicateKey(error: unknown): boolean {
  const e = error as { code?: unknown; writeErrors?: Array<{ code?: unknown }> } | null;
  return (
    e?.code === DUPLICATE_KEY || (Array.isArray(e?.writeErrors) && e.writeErrors.every((w) => w.code === DUPLICATE_KEY))
  );
}

export function classifyMongoError(error: unknown, backend: string, action: string): LogticketsError {
  if (error instanceof LogticketsError) return error;
  const e = error as { name?: unknown; code?: unknown; message?: unknown; hasErrorLabel?: (label: string) => boolean };
  const name = typeof e?.name === 'string' ? e.name : '';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const retryable =
    RETRYABLE_NAMES.has(name) ||
    (typeof e?.code === 'number' && RETRYABLE_CODES.has(e.code)) ||
    (typeof e?.hasErrorLabel === 'function' &&
      (e.hasErrorLabel('RetryableWriteError') ||
        e.hasErrorLabel('ResetPool') ||
        e.hasErrorLabel('TransientTransactionError')));
  return new LogticketsError(retryable ? 'BACKEND_UNAVAILABLE' : 'BACKEND_REJECTED', `${action}: ${message}`, {
    cause: error,
    backend,
    retryable,
  });
}
