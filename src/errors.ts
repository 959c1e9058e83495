/**
 * The one error type logtickets throws or reports.
 *
 * Every failure carries a stable `code` that programs can switch on, the
 * backend it came from, whether trying again may help (`retryable`) and the
 * underlying `cause`. Messages never contain credentials: anything that looks
 * like a password inside a URI, a bearer token or a GitHub token is masked
 * before the message is stored.
 */

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
  | 'NOT_SUPPORTED'
  | 'CLOSED'
  | 'TIMEOUT'
  | 'AUTH_FAILED'
  | 'PERMISSION_DENIED'
  | 'TRACKER_FAULT'
  | 'PROTOCOL_ERROR';

export interface LogticketsErrorOptions {
  cause?: unknown;
  backend?: string;
  retryable?: boolean;
  /** The HTTP status of a tracker's answer, when there was one. */
  status?: number;
  /** The fault code of an XML-RPC fault. */
  faultCode?: number;
}

const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // user:password@ inside any URL-like string (empty user, '/' or '@' in the password included)
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):\S*@/gi, '$1:***@'],
  [/\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 ***'],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, '***'],
  [/([?&](?:password|pass|pwd|token|secret|key)=)[^&\s]+/gi, '$1***'],
];

/** Replace credentials that may appear in URIs or error texts by `***`. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

export class LogticketsError extends Error {
  readonly code: ErrorCode;
  readonly backend: string | undefined;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly faultCode: number | undefined;

  constructor(code: ErrorCode, message: string, options: LogticketsErrorOptions = {}) {
    super(maskSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LogticketsError';
    this.code = code;
    this.backend = options.backend === undefined ? undefined : maskSecrets(options.backend);
    this.retryable = options.retryable ?? false;
    this.status = options.status;
    this.faultCode = options.faultCode;
  }
}

/** Coerce anything thrown into a LogticketsError, keeping the original as `cause`. */
export function asLogticketsError(
  error: unknown,
  fallback: { code: ErrorCode; backend?: string; retryable?: boolean },
): LogticketsError {
  if (error instanceof LogticketsError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new LogticketsError(fallback.code, message, {
    cause: error,
    backend: fallback.backend,
    retryable: fallback.retryable,
  });
}
