/**
 * No GitHub token, App private key, JWT or installation token in any error:
 * each case makes the GitHub stand-in (or a closed port, or the App's key)
 * fail a request made with a planted credential, then looks for it in every
 * view of the error (see leak-check.ts).
 */

import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GitHubTracker,
  Logger,
  LogticketsError,
  TicketingHandler,
  type GitHubAppAuth,
  TrackedStore,
  type GitHubTrackerOptions,
  type OccurrenceSummary,
} from '../../src/index.js';
import { freePort } from '../services/postgres.js';
import { startGitHub, type GitHubFault, type GitHubStandIn } from '../services/github/github-server.js';
import { assertNoSecrets, assertNoTransportObjects, expectSafeFailure, forms, plant } from './leak-check.js';
import { until } from '../conformance/fleet-replicas.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-security-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function backendFor(
  t: { teardown(fn: () => Promise<void>): void },
  github: GitHubStandIn,
  over: Partial<GitHubTrackerOptions>,
): GitHubTracker {
  const backend = new GitHubTracker({
    owner: github.owner,
    repo: github.repo,
    auth: github.token,
    baseUrl: github.url,
    writeIntervalMs: 0,
    notifyIntervalMs: 0,
    ...over,
  });
  t.teardown(() => backend.close());
  return backend;
}

const problem = { appId: 'shop', hash: 'a'.repeat(40) };
const at = new Date().toISOString();
const summary: OccurrenceSummary = {
  level: 40,
  channel: 'shop.checkout',
  location: 'checkout.ts:1',
  function: null,
  title: 'payment failed',
  count: 1,
  first: at,
  last: at,
  messages: [['payment failed', 1]],
  otherMessages: 0,
  firstRecord: { message: 'payment failed' },
  latestRecord: { message: 'payment failed' },
};

/** A private key's secret part: its base64 body lines, and the whole PEM. */
function keySecrets(pem: string): string[] {
  return [pem, ...pem.split('\n').filter((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line))];
}

const rsaKey = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const ecKey = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

interface Case {
  readonly name: string;
  /** The credential to plant, the backend options carrying it, and the secrets to look for. */
  readonly credential: (github: GitHubStandIn) => { auth: string | GitHubAppAuth; secrets: string[] };
  readonly fault?: [GitHubFault, RegExp?];
  readonly baseUrl?: 'closed';
  readonly run: (tracker: GitHubTracker) => Promise<unknown>;
  readonly codes: readonly string[];
}

const token = (auth: string) => ({ auth, secrets: forms(auth) });
const app = (privateKey: string) => ({
  auth: { appId: 12345, privateKey, installationId: 67890 },
  secrets: keySecrets(privateKey),
});

const CASES: readonly Case[] = [
  {
    name: 'HTTP 401: an unknown token of no particular shape',
    credential: () => token(plant('planted-token')),
    run: (b) => b.find(problem),
    codes: ['AUTH_FAILED'],
  },
  {
    name: 'HTTP 401: an unknown classic token (ghp_)',
    credential: () => token(`ghp_${plant('').replace(/[^A-Za-z0-9]/g, 'x')}`),
    run: (b) => b.create(problem, summary),
    codes: ['AUTH_FAILED'],
  },
  {
    name: 'HTTP 401: an unknown installation token (ghs_)',
    credential: () => token(`ghs_${plant('').replace(/[^A-Za-z0-9]/g, 'x')}`),
    run: (b) => b.changedSince(new Date(0)),
    codes: ['AUTH_FAILED'],
  },
  {
    name: 'HTTP 403: the primary rate limit',
    credential: (g) => token(g.token),
    fault: [{ kind: 'rate-limit', resetInSeconds: 60 }],
    run: (b) => b.find(problem),
    codes: ['BACKEND_BUSY'],
  },
  {
    name: 'HTTP 403: a secondary rate limit with retry-after',
    credential: (g) => token(g.token),
    fault: [{ kind: 'secondary-rate-limit', retryAfterSeconds: 60 }],
    run: (b) => b.create(problem, summary),
    codes: ['BACKEND_BUSY'],
  },
  {
    name: 'HTTP 404: a token that cannot see the repository',
    credential: (g) => token(g.accounts.none.token),
    run: (b) => b.find(problem),
    codes: ['TRACKER_FAULT'],
  },
  {
    name: 'HTTP 410: issues disabled',
    credential: (g) => token(g.token),
    fault: [{ kind: 'issues-disabled' }],
    run: (b) => b.create(problem, summary),
    codes: ['TRACKER_FAULT'],
  },
  {
    name: 'HTTP 502, retried by Octokit, then given up',
    credential: (g) => token(g.token),
    fault: [{ kind: 'status', status: 502 }],
    run: (b) => b.find(problem),
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'connection refused',
    credential: () => token(plant('planted-token')),
    baseUrl: 'closed',
    run: (b) => b.find(problem),
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'GitHub App: a private key that is not a key',
    credential: () =>
      app(`-----BEGIN RSA PRIVATE KEY-----\n${plant('MIIEplanted')}${'A'.repeat(40)}\n-----END RSA PRIVATE KEY-----\n`),
    run: (b) => b.find(problem),
    codes: ['BACKEND_UNAVAILABLE', 'AUTH_FAILED'],
  },
  {
    name: 'GitHub App: an EC key where RSA is needed',
    credential: () => app(ecKey()),
    run: (b) => b.changedSince(new Date(0)),
    codes: ['BACKEND_UNAVAILABLE', 'AUTH_FAILED'],
  },
  {
    name: 'GitHub App: a key with escaped newlines, cut short',
    credential: () => {
      const pem = rsaKey();
      const cut = pem.slice(0, 400).replace(/\n/g, '\\n');
      return {
        auth: { appId: 1, privateKey: cut, installationId: 2 },
        secrets: [cut, ...keySecrets(pem.slice(0, 380))],
      };
    },
    run: (b) => b.find(problem),
    codes: ['BACKEND_UNAVAILABLE', 'AUTH_FAILED'],
  },
];

// Each case gets its own stand-in, so the cases run at once (Octokit's retries of a 5xx take seconds).
for (const c of CASES) {
  test(`GitHub: ${c.name}`, async (t) => {
    const github = await startGitHub();
    t.teardown(() => github.close());
    const { auth, secrets } = c.credential(github);
    if (c.fault !== undefined) github.fault(c.fault[0], c.fault[1]);
    const baseUrl = c.baseUrl === 'closed' ? `http://127.0.0.1:${await freePort()}` : github.url;
    const backend = backendFor(t, github, { auth, baseUrl });
    const error = await expectSafeFailure(t, c.name, () => c.run(backend), secrets, c.codes);
    t.true(error === undefined || error.backend?.startsWith('github:'));
    // The backend object does not show the credential to util.inspect either.
    assertNoSecrets(t, backend, secrets, `${c.name} (the backend)`);
    const checks = await backend.checkSetup();
    assertNoSecrets(t, checks, secrets, `${c.name} (set-up checks)`);
    t.deepEqual(github.violations, []);
  });
}

test('GitHub: failed deliveries report and store no token', async (t) => {
  const github = await startGitHub();
  t.teardown(() => github.close());
  const dir = tempDir(t);
  const secret = plant('planted-token');
  const errors: LogticketsError[] = [];
  const backend = new TrackedStore({
    store: `sqlite:${join(dir, 'store.db')}`,
    trackers: [backendFor(t, github, { auth: secret })],
    retry: { initialMs: 20, maxMs: 50 },
    onError: (e) => errors.push(e),
  });
  const handler = new TicketingHandler(backend, { onError: () => {} });
  t.teardown(() => handler.close());
  handler.run(() => new Logger('shop.checkout').error('cannot be delivered'));
  await handler.flush();
  await until(() => errors.length >= 1, 'the delivery failed');
  t.false(await backend.deliverPending({ timeoutMs: 500 }));
  for (const [i, error] of errors.entries()) {
    t.is(error.code, 'AUTH_FAILED');
    assertNoSecrets(t, error, forms(secret), `delivery error ${i}`);
    assertNoTransportObjects(t, error, `delivery error ${i}`);
  }
  await handler.close();
  await backend.close();
  const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));
  assertNoSecrets(t, files, forms(secret), 'the store files');
  t.deepEqual(github.violations, []);
});
