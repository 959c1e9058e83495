/**
 * The JWT a GitHub App signs to buy installation tokens (RS256, `iat` 30 s
 * back for clock drift, `exp` 10 minutes on, `iss` the App's id), made here
 * rather than by @octokit/auth-app's own signer so that a private key that
 * cannot sign (cut short, a public key, not RSA, OpenSSH) is reported as what
 * it is — a permanent AUTH_FAILED naming privateKey — instead of a bare
 * OpenSSL message taken for a network failure and retried for ever. The key
 * is read once, on first use; it is never quoted.
 */

import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { Octokit } from 'octokit';
import { LogticketsError } from '../../errors.js';

export type AppJwtSigner = (
  appId: string | number,
  timeDifference?: number,
) => Promise<{ jwt: string; expiresAt: string }>;

export function appJwtSigner(privateKey: string): AppJwtSigner {
  let key: KeyObject | undefined;
  return async (appId, timeDifference = 0) => {
    key ??= readAppKey(privateKey);
    const iat = Math.floor(Date.now() / 1000) + (timeDifference ?? 0) - 30;
    const exp = iat + 600;
    const iss = typeof appId === 'string' && /^\d+$/.test(appId) ? Number(appId) : appId;
    const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const signed = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat, exp, iss })}`;
    return {
      jwt: `${signed}.${sign('sha256', Buffer.from(signed), key).toString('base64url')}`,
      expiresAt: new Date(exp * 1000).toISOString(),
    };
  };
}

function readAppKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(String(pem).replace(/\\n/g, '\n'));
  } catch {
    throw new LogticketsError(
      'AUTH_FAILED',
      "the GitHub App's privateKey is not a readable private key: give the whole .pem file the App's settings page downloads (-----BEGIN RSA PRIVATE KEY----- … -----END RSA PRIVATE KEY-----)",
      { retryable: false },
    );
  }
  if (key.asymmetricKeyType !== 'rsa')
    throw new LogticketsError(
      'AUTH_FAILED',
      `the GitHub App's privateKey is a${key.asymmetricKeyType === 'ec' ? 'n' : ''} ${key.asymmetricKeyType ?? 'unknown'} key; a GitHub App's key is RSA`,
      { retryable: false },
    );
  return key;
}

/**
 * @octokit/auth-app renews an installation token only when its 59 minutes
 * in its cache are up (after a 401 it sends the same token again for 5 s
 * after making it, for GitHub's replication delay). A token that dies sooner
 * (revoked, expired early, a clock that jumped) would be refused until then:
 * on a 401, buy a new token, once, and send the request again. A 401 means
 * nothing was done, so no write is repeated.
 */
export function renewInstallationTokenOn401(octokit: Octokit): void {
  octokit.hook.wrap('request', async (request, options) => {
    try {
      return await request(options);
    } catch (error) {
      const failed = error as { status?: number; request?: { url?: string } };
      if (failed.status !== 401 || /\/app\/installations\//.test(failed.request?.url ?? '')) throw error;
      await octokit.auth({ type: 'installation', refresh: true });
      return request(options);
    }
  });
}
