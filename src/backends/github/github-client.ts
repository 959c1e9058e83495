/**
 * The Octokit a GitHubTracker talks through, set up for logtickets:
 * - a token, or a GitHub App (the JWT signed here, github-app-jwt.ts; an
 *   installation token that dies early renewed once on a 401);
 * - the throttling plugin spaces writes out (per process: 1 s between
 *   writes, 3 s between those that notify people) but never waits out or
 *   retries a rate-limit answer: that answer becomes a BACKEND_BUSY error
 *   carrying `retryAt`, and the deliverer pauses the whole fleet;
 * - the retry plugin is off: a write (POST, PATCH, PUT, DELETE) answered with
 *   a 5xx or not answered at all may have been done, and only the deliverer,
 *   after looking for the delivery's marker, may write again; a failed read
 *   pauses the tracker for the whole fleet with backoff (tracker-pause.ts)
 *   rather than being sent again here after waits no shutdown could cut;
 * - Octokit's own messages go through the secret redaction.
 *
 * The client is made on its first use, not with the tracker: octokit, its
 * plugins, bottleneck and (for an App) @octokit/auth-app cost about 50 ms and
 * 14 MB, which a process that imports logtickets without reaching GitHub
 * should not pay.
 */

import type { Octokit } from 'octokit';
import { redactSecrets, type SecretMatchers } from '../../errors.js';
import { lazy } from '../../lazy.js';
import { appJwtSigner, renewInstallationTokenOn401 } from './github-app-jwt.js';
import type { GitHubAppAuth } from './github-secrets.js';

export interface GitHubClientOptions {
  readonly auth: string | GitHubAppAuth;
  readonly baseUrl: string | undefined;
  readonly writeIntervalMs: number;
  readonly notifyIntervalMs: number;
  readonly secrets: SecretMatchers;
  /** Octokit's warnings, already redacted. */
  readonly warn: (message: string) => void;
}

const silent = () => undefined;
/** A rate-limit answer is never retried on the spot (see above). */
const refuseRetry = () => false;

/** The client, made on the first call of the getter returned (and again after a load that failed). */
export function githubClient(options: GitHubClientOptions): () => Promise<Octokit> {
  return lazy(() => makeClient(options));
}

async function makeClient(options: GitHubClientOptions): Promise<Octokit> {
  const { auth } = options;
  const [{ Octokit }, { default: Bottleneck }, createAppAuth] = await Promise.all([
    import('octokit'),
    import('bottleneck'),
    typeof auth === 'string' ? undefined : import('@octokit/auth-app').then((m) => m.createAppAuth),
  ]);
  const octokit = new Octokit({
    baseUrl: options.baseUrl,
    userAgent: 'logtickets',
    ...(typeof auth === 'string'
      ? { auth }
      : {
          authStrategy: createAppAuth,
          // The JWT is signed here, so that a key that cannot sign is a clear AUTH_FAILED (github-app-jwt.ts).
          auth: { appId: auth.appId, installationId: auth.installationId, createJwt: appJwtSigner(auth.privateKey) },
        }),
    throttle: {
      onRateLimit: refuseRetry,
      onSecondaryRateLimit: refuseRetry,
      write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeIntervalMs }),
      notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.notifyIntervalMs }),
    },
    retry: { enabled: false },
    log: {
      debug: silent,
      info: silent,
      warn: (m: string) => options.warn(redactSecrets(String(m), options.secrets)),
      error: silent,
    },
  });
  if (typeof auth !== 'string') renewInstallationTokenOn401(octokit);
  return octokit;
}
