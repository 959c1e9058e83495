/**
 * Sorting MongoDB driver errors into those worth retrying (no server, network
 * trouble, primary stepping down, write concern not yet met) and the rest.
 */

import { LogticketsError, readField, type LogticketsErrorOptions } from '../../errors.js';

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

/**
 * The driver's error becomes the cause only as a sanitized copy (LogticketsError
 * does that): drivers may keep connection details, hosts and passwords on their
 * errors. `secrets`: the store's own credentials (e.g. `uriSecrets(uri)`), to be
 * replaced by value in the message and the cause chain as well.
 */
export function classifyMongoError(
  error: unknown,
  backend: string,
  action: string,
  secrets?: LogticketsErrorOptions['secrets'],
): LogticketsError {
  if (error instanceof LogticketsError) return error;
  const name = readField(error, 'name');
  const code = readField(error, 'code');
  const rawMessage = readField(error, 'message');
  const message = typeof rawMessage === 'string' ? rawMessage : describe(error);
  const retryable =
    (typeof name === 'string' && RETRYABLE_NAMES.has(name)) ||
    (typeof code === 'number' && RETRYABLE_CODES.has(code)) ||
    hasLabel(error, 'RetryableWriteError') ||
    hasLabel(error, 'ResetPool') ||
    hasLabel(error, 'TransientTransactionError');
  return new LogticketsError(retryable ? 'BACKEND_UNAVAILABLE' : 'BACKEND_REJECTED', `${action}: ${message}`, {
    cause: error,
    backend,
    retryable,
    secrets,
  });
}

/** The driver's error labels, read without trusting the object not to throw. */
function hasLabel(error: unknown, label: string): boolean {
  const has = readField(error, 'hasErrorLabel');
  if (typeof has !== 'function') return false;
  try {
    return (has as (this: unknown, l: string) => unknown).call(error, label) === true;
  } catch {
    return false;
  }
}

/** Anything thrown as text, even when its toString throws. */
function describe(error: unknown): string {
  try {
    return String(error);
  } catch {
    return 'unknown error';
  }
}
