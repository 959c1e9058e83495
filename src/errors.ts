/**
 * The one error type logtickets throws or reports.
 *
 * Every failure carries a stable `code` that programs can switch on, the
 * backend it came from, whether trying again may help (`retryable`) and the
 * underlying `cause`. No credential can be reached through it:
 * - its message is masked (passwords in URIs and connection strings,
 *   Authorization headers, bearer tokens, GitHub tokens, JSON Web Tokens, PEM
 *   private keys; see error-sanitizer.ts), and the backend that knows its own
 *   password or token passes it as `secrets`, which are then replaced by value
 *   as well;
 * - its cause is never a foreign error object (which may hold a request
 *   config, headers or a connection string) but a SanitizedError copy, made
 *   the same way, all along the cause chain.
 */

import {
  errorJson,
  markSanitized,
  redactSecrets,
  sanitizeCause,
  secretMatchers,
  type SecretMatchers,
} from './error-sanitizer.js';

export {
  maskSecrets,
  readField,
  redactSecrets,
  SanitizedError,
  secretMatchers,
  uriForMessage,
  uriSecrets,
  type SecretMatchers,
} from './error-sanitizer.js';

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'INVALID_URI'
  | 'UNSUPPORTED_URI'
  | 'TICKET_NOT_FOUND'
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_BUSY'
  | 'BACKEND_REJECTED'
  | 'SCHEMA_TOO_NEW'
  | 'SCHEMA_MISMATCH'
  | 'STORE_NOT_FOUND'
  | 'READ_ONLY'
  | 'NOT_SUPPORTED'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'AUTH_FAILED'
  | 'PERMISSION_DENIED'
  | 'TRACKER_FAULT'
  | 'PROTOCOL_ERROR'
  | 'DRIVER_MISSING';

export interface LogticketsErrorOptions {
  cause?: unknown;
  backend?: string;
  retryable?: boolean;
  /** The HTTP status of a tracker's answer, when there was one. */
  status?: number;
  /** The fault code of an XML-RPC fault. */
  faultCode?: number;
  /** The tracker asked for no request before this time (ISO 8601): a rate-limit answer's retry-after or reset. */
  retryAt?: string;
  /**
   * Credentials the caller knows (a password, a token, a private key): they
   * are replaced by `***` in the message and all along the cause chain. Not
   * kept on the error.
   */
  secrets?: SecretMatchers | readonly (string | undefined)[];
}

/** Known secrets, ready for matching (a backend builds them once: `secretMatchers`). */
function matchersOf(secrets: LogticketsErrorOptions['secrets']): SecretMatchers {
  if (!Array.isArray(secrets)) return typeof secrets === 'string' ? secretMatchers([secrets]) : [];
  const list = secrets as ReadonlyArray<RegExp | string | undefined>;
  return list.every((s) => s instanceof RegExp)
    ? (list as SecretMatchers)
    : secretMatchers(list.filter((s): s is string => typeof s === 'string'));
}

export class LogticketsError extends Error {
  readonly code: ErrorCode;
  readonly backend: string | undefined;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly faultCode: number | undefined;
  readonly retryAt: string | undefined;

  constructor(code: ErrorCode, message: string, options: LogticketsErrorOptions = {}) {
    const secrets = matchersOf(options.secrets);
    super(
      redactSecrets(String(message), secrets),
      options.cause === undefined ? undefined : { cause: sanitizeCause(options.cause, secrets) },
    );
    markSanitized(this);
    this.name = 'LogticketsError';
    this.code = code;
    this.backend = options.backend === undefined ? undefined : redactSecrets(options.backend, secrets);
    this.retryable = options.retryable ?? false;
    this.status = options.status;
    this.faultCode = options.faultCode;
    this.retryAt = options.retryAt;
  }

  /** Name, message, stack, code and the other fields, and the (sanitized) cause chain; cycles become "[Circular]". */
  toJSON(): Record<string, unknown> {
    return errorJson(this, new Set());
  }
}

/** Coerce anything thrown into a LogticketsError, keeping a sanitized copy of the original as `cause`. */
export function asLogticketsError(
  error: unknown,
  fallback: { code: ErrorCode; backend?: string; retryable?: boolean; secrets?: LogticketsErrorOptions['secrets'] },
): LogticketsError {
  if (error instanceof LogticketsError) return error;
  return new LogticketsError(fallback.code, messageOf(error), {
    cause: error,
    backend: fallback.backend,
    retryable: fallback.retryable,
    secrets: fallback.secrets,
  });
}

/** The message of anything thrown, without calling into objects that may throw themselves. */
function messageOf(error: unknown): string {
  try {
    if (error instanceof Error) return error.message;
    return String(error);
  } catch {
    return 'unknown error';
  }
}
