/**
 * Sorting driver errors into the ones worth retrying (the server is away,
 * busy or restarting) and the ones that are not.
 */

import { LogticketsError, readField, type LogticketsErrorOptions } from '../../errors.js';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

// PostgreSQL SQLSTATE classes that mean "try again later".
const RETRYABLE_SQLSTATE = /^(08|53|57P0[1-3]|40001|40P01|55P03|58)/;

/**
 * The driver's error becomes the cause only as a sanitized copy (LogticketsError
 * does that): drivers may keep connection details, hosts and passwords on their
 * errors. `secrets`: the store's own credentials (e.g. `uriSecrets(uri)`), to be
 * replaced by value in the message and the cause chain as well.
 */
export function classifySqlError(
  error: unknown,
  backend: string,
  action: string,
  secrets?: LogticketsErrorOptions['secrets'],
): LogticketsError {
  if (error instanceof LogticketsError) return error;
  const rawCode = readField(error, 'code');
  const rawMessage = readField(error, 'message');
  const code = typeof rawCode === 'string' ? rawCode : '';
  const message = typeof rawMessage === 'string' ? rawMessage : describe(error);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_BUSY')) {
    return new LogticketsError('BACKEND_BUSY', `${action}: database is busy (${message})`, {
      cause: error,
      secrets,
      backend,
      retryable: true,
    });
  }
  if (
    NETWORK_CODES.has(code) ||
    RETRYABLE_SQLSTATE.test(code) ||
    // SQLite: a file that cannot be opened yet (missing directory, full or read-only disk) may be fixed by its operator.
    /^SQLITE_(CANTOPEN|IOERR|FULL|READONLY|PROTOCOL|NOLFS)/.test(code) ||
    /connection terminated|timeout exceeded when trying to connect|server closed the connection|not queryable|Connection is closed|directory does not exist|unable to open database/i.test(
      message,
    )
  ) {
    return new LogticketsError('BACKEND_UNAVAILABLE', `${action}: ${message || code}`, {
      cause: error,
      secrets,
      backend,
      retryable: true,
    });
  }
  return new LogticketsError('BACKEND_REJECTED', `${action}: ${message}`, { cause: error, backend, secrets });
}

/** Anything thrown as text, even when its toString throws. */
function describe(error: unknown): string {
  try {
    return String(error);
  } catch {
    return 'unknown error';
  }
}
