/**
 * From a failed GitHub request to a LogticketsError that says what to do about
 * it: which code, whether trying again later can help, and — for a rate-limit
 * answer — the time before which GitHub wants no request (`retryAt`). The
 * tracker waits for nothing itself: the deliverer keeps that time in the
 * store, for every process of the fleet.
 */

import { LogticketsError, type ErrorCode, type SecretMatchers } from '../../errors.js';

export interface GitHubErrorContext {
  /** The tracker's name, for `backend`. */
  readonly name: string;
  readonly repo: string;
  readonly timeoutMs: number;
  readonly secrets: SecretMatchers;
}

/** What GitHub says when a rate limit leaves no hint of when it ends: wait at least a minute. */
const UNSPECIFIED_WAIT_MS = 60_000;

/** The words of a deleted issue's error, which `issueDeleted` looks for. */
const DELETED = 'the issue was deleted';

interface Failed {
  status?: number;
  message?: string;
  name?: string;
  cause?: { name?: string };
  request?: { url?: string };
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

export function explainGitHubError(error: unknown, action: string, context: GitHubErrorContext): LogticketsError {
  const e = (error ?? {}) as Failed;
  // Octokit gives status 500 to a request that got no answer at all (a timeout, a cut connection): only an answer has a status.
  const answered = e.response !== undefined;
  const status = answered && typeof e.status === 'number' ? e.status : undefined;
  const headers = e.response?.headers ?? {};
  const said = githubMessage(e);
  const { repo } = context;
  const fail = (code: ErrorCode, message: string, retryable: boolean, retryAt?: number) =>
    new LogticketsError(code, `${action}: ${message}`, {
      backend: context.name,
      status,
      retryable,
      ...(retryAt === undefined ? {} : { retryAt: new Date(retryAt).toISOString() }),
      // Octokit's RequestError keeps the request and response: only a sanitized copy is kept.
      cause: error,
      secrets: context.secrets,
    });
  // Raised before any request (the App's key cannot sign): already says what is wrong.
  if (error instanceof LogticketsError && error.code === 'AUTH_FAILED')
    return fail('AUTH_FAILED', error.message, false);
  if (!answered) {
    const timedOut = [e.name, e.cause?.name].some((n) => n === 'TimeoutError' || n === 'AbortError');
    return timedOut
      ? fail('TIMEOUT', `no answer from GitHub within ${context.timeoutMs} ms (or the request was aborted)`, true)
      : fail('BACKEND_UNAVAILABLE', `no answer from GitHub: ${e.message ?? String(error)}`, true);
  }
  const rateLimited =
    status === 429 ||
    (status === 403 &&
      (headers['retry-after'] !== undefined || headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(said)));
  if (rateLimited) {
    const at = rateLimitEnd(headers);
    return fail(
      'BACKEND_BUSY',
      `GitHub rate limit (HTTP ${status}): no request before ${new Date(at).toISOString()}`,
      true,
      at,
    );
  }
  // The App's installation-token request (made by @octokit/auth-app before
  // the request asked for): its 404 is a wrong installation, not a missing
  // repository or issue; its 401/403/422 are the App's credentials.
  const tokenRequest = /\/app\/installations\/([^/?]+)\/access_tokens/.exec(e.request?.url ?? '');
  if (tokenRequest !== null && status === 404)
    return fail(
      'AUTH_FAILED',
      `GitHub knows no installation ${decodeURIComponent(tokenRequest[1]!)} of this app (HTTP 404): check installationId, and that the app is installed on ${repo.split('/')[0]}`,
      false,
    );
  if (tokenRequest !== null && status !== undefined && status < 500)
    return fail(
      'AUTH_FAILED',
      `GitHub refused the app's credentials (HTTP ${status}: ${e.message ?? ''}): check appId and privateKey`,
      false,
    );
  if (status === 401)
    return fail('AUTH_FAILED', 'GitHub refused the credentials (HTTP 401): check auth (token or app)', false);
  if (status === 403)
    return fail(
      'PERMISSION_DENIED',
      `HTTP 403: the credentials may not write issues of ${repo} (needs Issues: write)`,
      false,
    );
  if (status === 404)
    return fail(
      'TRACKER_FAULT',
      `HTTP 404: the repository ${repo} or the issue does not exist, or is not visible to these credentials`,
      false,
    );
  if (status === 410)
    return /disabled/i.test(said)
      ? fail('TRACKER_FAULT', `HTTP 410: issues are disabled on ${repo}`, false)
      : fail('TRACKER_FAULT', `HTTP 410: ${DELETED} (${said || 'Gone'})`, false);
  if (status === 422) return fail('TRACKER_FAULT', `HTTP 422: GitHub refused the content: ${e.message ?? ''}`, false);
  if (status !== undefined && status >= 500) {
    // A 503 may say when to come back; the deliverer then waits that long.
    const after = retryAfter(headers['retry-after']);
    return fail('BACKEND_UNAVAILABLE', `HTTP ${status} from GitHub`, true, after);
  }
  return fail('BACKEND_UNAVAILABLE', e.message ?? String(error), true);
}

/** An issue GitHub says was deleted (HTTP 410, not "issues are disabled"). */
export function issueDeleted(error: unknown): boolean {
  return (
    error instanceof LogticketsError &&
    error.code === 'TRACKER_FAULT' &&
    error.status === 410 &&
    error.message.includes(DELETED)
  );
}

/**
 * When a rate limit ends (ms since epoch): `retry-after` (seconds, or an HTTP
 * date) wins; then `x-ratelimit-reset` when no requests remain (a second
 * later: GitHub asks to wait until after it); else a minute, as GitHub's
 * documentation says for a secondary limit that gives no time.
 */
function rateLimitEnd(headers: Record<string, string | undefined>): number {
  const after = retryAfter(headers['retry-after']);
  if (after !== undefined) return after;
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-remaining'] === '0' && Number.isFinite(reset) && reset > 0)
    return Math.max(Date.now(), (reset + 1) * 1000);
  return Date.now() + UNSPECIFIED_WAIT_MS;
}

function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Date.now() + Math.max(1, seconds) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(Date.now(), date);
}

/** GitHub's own message (the body's `message`), without Octokit's additions. */
function githubMessage(e: Failed): string {
  const data = e.response?.data as { message?: unknown } | undefined;
  return typeof data?.message === 'string' ? data.message : (e.message ?? '');
}
