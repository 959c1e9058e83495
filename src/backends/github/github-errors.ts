/**
 * From a failed GitHub request to a LogticketsError that says what to do about
 * it: which code, whether trying again later can help, and — for a rate-limit
 * answer — until when no request should be made.
 */

import { LogticketsError, type SecretMatchers } from '../../errors.js';

export interface GitHubErrorContext {
  /** The tracker's name, for `backend`. */
  readonly name: string;
  readonly repo: string;
  readonly timeoutMs: number;
  readonly secrets: SecretMatchers;
}

/** The error, and for a rate-limit answer the time (ms since epoch) before which GitHub wants no request. */
export function explainGitHubError(
  error: unknown,
  action: string,
  context: GitHubErrorContext,
): { error: LogticketsError; pauseUntil?: number } {
  const e = error as {
    status?: number;
    message?: string;
    name?: string;
    response?: { headers?: Record<string, string | undefined> };
  };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const headers = e.response?.headers ?? {};
  const { repo } = context;
  const fail = (code: ConstructorParameters<typeof LogticketsError>[0], message: string, retryable: boolean) =>
    new LogticketsError(code, `${action}: ${message}`, {
      backend: context.name,
      status,
      retryable,
      // Octokit's RequestError keeps the request and response: only a sanitized copy is kept.
      cause: error,
      secrets: context.secrets,
    });
  // Raised before any request (the App's key cannot sign): already says what is wrong.
  if (error instanceof LogticketsError && error.code === 'AUTH_FAILED')
    return { error: fail('AUTH_FAILED', error.message, false) };
  const rateLimited =
    status === 429 ||
    (status === 403 &&
      (headers['retry-after'] !== undefined ||
        headers['x-ratelimit-remaining'] === '0' ||
        /rate limit/i.test(e.message ?? '')));
  if (rateLimited) {
    const retryAfter = Number(headers['retry-after']);
    const reset = Number(headers['x-ratelimit-reset']);
    const until =
      Number.isFinite(retryAfter) && retryAfter > 0
        ? Date.now() + retryAfter * 1000
        : Number.isFinite(reset) && reset > 0
          ? reset * 1000
          : Date.now() + 60_000;
    return {
      error: fail('BACKEND_BUSY', `GitHub rate limit: waiting until ${new Date(until).toISOString()}`, true),
      pauseUntil: until,
    };
  }
  // The App's installation-token request (made by @octokit/auth-app before
  // the request asked for): its 404 is a wrong installation, not a missing
  // repository or issue; its 401/403/422 are the App's credentials.
  const tokenRequest = /\/app\/installations\/([^/?]+)\/access_tokens/.exec(
    (error as { request?: { url?: string } }).request?.url ?? '',
  );
  if (tokenRequest !== null && status === 404)
    return {
      error: fail(
        'AUTH_FAILED',
        `GitHub knows no installation ${decodeURIComponent(tokenRequest[1]!)} of this app (HTTP 404): check installationId, and that the app is installed on ${repo.split('/')[0]}`,
        false,
      ),
    };
  if (tokenRequest !== null && status !== undefined && status < 500)
    return {
      error: fail(
        'AUTH_FAILED',
        `GitHub refused the app's credentials (HTTP ${status}: ${e.message ?? ''}): check appId and privateKey`,
        false,
      ),
    };
  if (status === 401)
    return {
      error: fail('AUTH_FAILED', 'GitHub refused the credentials (HTTP 401): check auth (token or app)', false),
    };
  if (status === 403)
    return {
      error: fail(
        'PERMISSION_DENIED',
        `HTTP 403: the credentials may not write issues of ${repo} (needs Issues: write)`,
        false,
      ),
    };
  if (status === 404)
    return {
      error: fail(
        'TRACKER_FAULT',
        `HTTP 404: the repository ${repo} or the issue does not exist, or is not visible to these credentials`,
        false,
      ),
    };
  if (status === 410)
    return {
      error: fail('TRACKER_FAULT', `HTTP 410: issues are disabled on ${repo}, or the issue was deleted`, false),
    };
  if (status === 422)
    return { error: fail('TRACKER_FAULT', `HTTP 422: GitHub refused the content: ${e.message ?? ''}`, false) };
  if (status !== undefined && status >= 500)
    return { error: fail('BACKEND_UNAVAILABLE', `HTTP ${status} from GitHub`, true) };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return { error: fail('TIMEOUT', `no answer from GitHub within ${context.timeoutMs} ms`, true) };
  return { error: fail('BACKEND_UNAVAILABLE', e.message ?? String(error), true) };
}
