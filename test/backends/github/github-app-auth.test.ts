// The GitHub tracker authenticated as a GitHub App installation, against the
// stand-in: the App's JWT (RS256, checked with the App's public key) buys an
// installation token (`ghs_…`, one hour), which is then used like a token.
// What is checked: deliveries made as the installation, a token that dies
// mid-run (renewed, nothing lost, nothing repeated), the hour running out
// (renewed before it does), wrong credentials (clear errors that never show
// the key), and the set-up checks. Every request and answer is checked
// against GitHub's OpenAPI description by the stand-in: no violations.

import test, { type ExecutionContext } from 'ava';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import {
  GitHubTracker,
  Logger,
  LogticketsError,
  TicketingHandler,
  TrackedStore,
  type GitHubAppAuth,
  type GitHubTrackerOptions,
} from '../../../src/index.js';
import type { SetupCheck } from '../../../src/backends/tracker/setup-check.js';
import {
  startGitHub,
  type GitHubAppRegistration,
  type GitHubIssue,
  type GitHubStandIn,
  type StartGitHubOptions,
} from '../../services/github/github-server.js';
import { until } from '../../conformance/fleet-replicas.js';

const APP_ID = 902_117;
/**
 * Each test's installation has its own id: @octokit/auth-app shares a token
 * request in flight between all its instances in the process by installation
 * id alone, so two tests (two stand-ins) asking at once for "the same"
 * installation would be handed one stand-in's token.
 */
let lastInstallation = 51_873_000;
const nextInstallationId = (): number => (lastInstallation += 100);

interface AppKeys {
  /** PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), the form GitHub hands out */
  readonly privateKey: string;
  readonly publicKey: KeyObject;
}

function appKeys(): AppKeys {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string, publicKey };
}

function storeUri(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-github-app-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'store.db')}`;
}

interface AppSetup {
  github: GitHubStandIn;
  keys: AppKeys;
  auth: GitHubAppAuth;
  tracker: GitHubTracker;
  /** the store and its one tracker */
  backend: TrackedStore;
  handler: TicketingHandler;
  errors: LogticketsError[];
  log: Logger;
  /** Closes handler, backend and stand-in (once; also done at teardown). */
  close(): Promise<void>;
}

/**
 * A stand-in with the App registered (installed on its repository, Issues:
 * write), and a backend authenticated as the App's installation. `auth`
 * overrides what the backend is given (a wrong key, a wrong installation).
 */
async function appSetup(
  t: ExecutionContext,
  over: {
    app?: Partial<GitHubAppRegistration>;
    /** or a function of the installation id the App has */
    auth?: Partial<GitHubAppAuth> | ((installationId: number) => Partial<GitHubAppAuth>);
    tracker?: Partial<GitHubTrackerOptions>;
    standIn?: StartGitHubOptions;
  } = {},
): Promise<AppSetup> {
  const github = await startGitHub(over.standIn);
  let githubClosed: Promise<void> | undefined;
  const closeGitHub = (): Promise<void> => (githubClosed ??= github.close());
  t.teardown(closeGitHub);
  const keys = appKeys();
  const installationId = nextInstallationId();
  github.registerApp({ appId: APP_ID, publicKey: keys.publicKey, installationId, ...over.app });
  const auth: GitHubAppAuth = {
    appId: APP_ID,
    privateKey: keys.privateKey,
    installationId,
    ...(typeof over.auth === 'function' ? over.auth(installationId) : over.auth),
  };
  const errors: LogticketsError[] = [];
  const tracker = new GitHubTracker({
    owner: github.owner,
    repo: github.repo,
    auth,
    baseUrl: github.url,
    writeIntervalMs: 0,
    notifyIntervalMs: 0,
    timeoutMs: 20_000,
    ...over.tracker,
  });
  const backend = new TrackedStore({
    store: storeUri(t),
    trackers: [tracker],
    commentIntervalMs: 0,
    // These tests count the token requests of deliveries alone: no polling for changes made in GitHub.
    syncIntervalMs: 0,
    retry: { initialMs: 50, maxMs: 200 },
    onError: (e) => errors.push(e),
  });
  const handler = new TicketingHandler(backend, { onError: () => {} });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await handler.close();
      await backend.close();
      await closeGitHub();
    })());
  t.teardown(close);
  return { github, keys, auth, tracker, backend, handler, errors, log: new Logger('shop.checkout'), close };
}

const ours = (github: GitHubStandIn): GitHubIssue[] => github.issues().filter((i) => i.labels.includes('logtickets'));

/** Occurrences an issue states: its body (1, or "seen N times"), then each comment ("Occurred again": 1, "N more occurrences": N). */
function statedCounts(issue: GitHubIssue): { body: number; comments: number[] } {
  const seen = /seen (\d+) times until/.exec(issue.body ?? '');
  return {
    body: seen === null ? 1 : Number(seen[1]),
    comments: issue.comments.map((c) => {
      const more = /^\*\*(\d+) more occurrences\*\*/m.exec(c.body);
      if (more !== null) return Number(more[1]);
      return /^\*\*Occurred again\*\*/m.test(c.body) ? 1 : Number.NaN;
    }),
  };
}

/** Logs `n` occurrences of one problem, writes them to the store and delivers them. */
async function occur(s: AppSetup, n: number, timeoutMs = 20_000): Promise<boolean> {
  s.handler.run(() => {
    for (let i = 0; i < n; i++) s.log.error({ extra: { order: i } }, 'payment provider refused the card');
  });
  await s.handler.flush();
  return s.backend.deliverPending({ timeoutMs });
}

/** The store's count for the one problem. */
async function storeCount(backend: TrackedStore): Promise<number> {
  const tickets = await backend.store.getTickets();
  return tickets.reduce((n, x) => n + x.occurrenceCount, 0);
}

/** The lines of the key's base64 body: none may show up anywhere. */
function keyLines(pem: string): string[] {
  return pem
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[A-Za-z0-9+/=]{16,}$/.test(l));
}

/** Neither the key (whole or any line of it), nor a JWT, nor an installation token shows in the error. */
function assertNoSecrets(t: ExecutionContext, error: unknown, s: { keys: AppKeys; github: GitHubStandIn }): void {
  const texts = [
    inspect(error, { depth: Infinity, showHidden: true }),
    JSON.stringify(error),
    String((error as Error).stack),
    String((error as Error).message),
  ];
  for (const text of texts) {
    t.false(text.includes('PRIVATE KEY-----\nMII'), 'the PEM shows');
    for (const line of keyLines(s.keys.privateKey)) t.false(text.includes(line), 'a line of the key shows');
    t.false(/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./.test(text), 'a JWT shows');
    for (const { token } of s.github.installationTokens()) t.false(text.includes(token), 'an installation token shows');
  }
}

// -- delivering as the installation -------------------------------------------

test('as an App installation: one issue for one problem, comments after it, counts exact', async (t) => {
  const s = await appSetup(t);
  const { github, backend } = s;

  t.true(await occur(s, 3));
  t.true(await occur(s, 1));
  t.true(await occur(s, 4));

  const issues = ours(github);
  t.is(issues.length, 1);
  const [issue] = issues;
  // Made by the installation, as GitHub shows it: `<slug>[bot]`.
  t.is(issue!.user, github.appLogin(APP_ID));
  t.true(issue!.comments.every((c) => c.user === github.appLogin(APP_ID)));
  const stated = statedCounts(issue!);
  t.deepEqual(stated, { body: 3, comments: [1, 4] });
  t.is(stated.body + stated.comments.reduce((a, b) => a + b, 0), await storeCount(backend));
  t.is(await storeCount(backend), 8);

  // One installation token did it all, bought once with the App's JWT.
  const tokens = github.installationTokens();
  t.is(tokens.length, 1);
  t.regex(tokens[0]!.token, /^ghs_[A-Za-z0-9]{36}$/);
  t.is(tokens[0]!.refusedExpired, 0);
  t.is(github.calls.filter((c) => c.method === 'POST' && c.path.startsWith('/app/')).length, 1);
  t.deepEqual(
    github.calls.filter((c) => c.status === 401),
    [],
  );
  t.deepEqual(s.errors, []);
  t.deepEqual(github.violations, []);
});

test('an installation token that expires between deliveries is renewed: no delivery lost, none repeated', async (t) => {
  const s = await appSetup(t);
  const { github, backend } = s;

  t.true(await occur(s, 2));
  t.true(await occur(s, 3));
  t.is(github.installationTokens().length, 1);

  // Mid-run, the token dies (as it does after its hour, or when revoked).
  t.is(github.expireInstallationTokens(), 1);
  const writesBefore = github.calls.filter((c) => c.method === 'POST' && c.path.includes('/comments')).length;

  t.true(await occur(s, 5), 'the delivery after the expiry succeeds');
  t.true(await occur(s, 1));

  // A new token was bought; the old one was refused, never used again afterwards.
  const tokens = github.installationTokens();
  t.is(tokens.length, 2);
  t.true(tokens[0]!.expired);
  t.true(tokens[0]!.refusedExpired >= 1);
  t.false(tokens[1]!.expired);
  t.is(tokens[1]!.refusedExpired, 0);

  const [issue] = ours(github);
  t.is(ours(github).length, 1);
  const stated = statedCounts(issue!);
  t.deepEqual(stated, { body: 2, comments: [3, 5, 1] }, 'each delivery stated once, in order');
  t.is(stated.body + stated.comments.reduce((a, b) => a + b, 0), await storeCount(backend));
  t.is(await storeCount(backend), 11);
  // Two comments were posted after the expiry: a refused attempt made none.
  t.is(github.calls.filter((c) => c.method === 'POST' && c.path.includes('/comments')).length - writesBefore, 2);
  t.is(await backend.store.countOutbox(), 0);
  t.deepEqual(github.violations, []);
});

test.serial('when the hour runs out the token is renewed before it expires: no 401 at all', async (t) => {
  // One clock for the whole process (the App's JWT, Octokit's token cache and
  // the stand-in all read Date.now): it is moved on 59 min 30 s, past the
  // 59 minutes @octokit/auth-app keeps a token, short of GitHub's hour.
  // Time only ever moves forward: it is not set back afterwards, because
  // @octokit/plugin-throttling's limiters are shared by every Octokit of the
  // process and remember, by Date.now, when they may run next (set back,
  // the later tests would wait for the hour to come round again). Serial
  // tests run before the others, which then run an hour ahead.
  const realNow = Date.now;
  let offset = 0;
  Date.now = () => realNow() + offset;
  {
    const s = await appSetup(t);
    const { github, backend } = s;
    t.true(await occur(s, 2));
    t.is(github.installationTokens().length, 1);

    offset = 59.5 * 60_000;
    t.false(github.installationTokens()[0]!.expired, 'the first token still has 30 s to live');
    t.true(await occur(s, 3));

    const tokens = github.installationTokens();
    t.is(tokens.length, 2, 'a new token was bought before the old one ran out');
    t.is(tokens[0]!.refusedExpired, 0);
    t.deepEqual(
      github.calls.filter((c) => c.status === 401),
      [],
    );
    const [issue] = ours(github);
    t.deepEqual(statedCounts(issue!), { body: 2, comments: [3] });
    t.is(await storeCount(backend), 5);
    t.deepEqual(s.errors, []);
    t.deepEqual(github.violations, []);
  }
});

// -- wrong credentials ---------------------------------------------------------

test("a key that is not the App's: AUTH_FAILED, not retried soon, the key never shown", async (t) => {
  const other = appKeys();
  const s = await appSetup(t, { auth: { privateKey: other.privateKey } });
  const { github, backend, errors } = s;
  // The first attempt fails (how long it takes is auth-app's business); nothing goes after it.
  t.false(await occur(s, 1, 1_000));
  await until(() => errors.length >= 1, 'the delivery failed');
  t.false(await s.backend.deliverPending({ timeoutMs: 500 }));
  t.like(errors[0], { code: 'AUTH_FAILED', retryable: false, status: 401 });
  t.regex(errors[0]!.message, /credentials|app/i);
  t.is(await backend.store.countOutbox(), 1, 'the delivery waits in the outbox');
  t.is(github.installationTokens().length, 0);
  t.deepEqual(ours(github), []);
  for (const e of errors) assertNoSecrets(t, e, { keys: other, github });
  for (const e of errors) assertNoSecrets(t, e, s);
  t.deepEqual(github.violations, []);
});

test('a private key that is no key at all: a clear, permanent error that never quotes it', async (t) => {
  const keys = appKeys();
  const { privateKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const bad = [
    // A PEM cut short (half of it lost when pasted into an environment variable).
    keys.privateKey.slice(0, Math.floor(keys.privateKey.length / 2)),
    // The public key instead of the private one.
    keys.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    // Not RSA.
    ecKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    'not a key',
  ];
  const shows = (what: unknown, privateKey: string, label: string): void => {
    for (const text of [
      inspect(what, { depth: Infinity, showHidden: true }),
      JSON.stringify(what),
      String((what as Error).stack),
    ]) {
      for (const line of keyLines(privateKey)) t.false(text.includes(line), `${label}: a line of the key shows`);
      t.false(text.includes('not a key'), `${label}: the key shows`);
    }
  };
  for (const privateKey of bad) {
    // Either way is clear: refused when the tracker is made (INVALID_ARGUMENT) ...
    let s: AppSetup;
    try {
      s = await appSetup(t, { auth: { privateKey } });
    } catch (error) {
      t.true(error instanceof LogticketsError, String(error));
      t.is((error as LogticketsError).code, 'INVALID_ARGUMENT');
      t.regex((error as LogticketsError).message, /privateKey/);
      shows(error, privateKey, 'construction');
      continue;
    }
    // ... or at the first request, as AUTH_FAILED, not retried soon (never a
    // retryable BACKEND_UNAVAILABLE, as if GitHub were down), and `authenticated`
    // fails in the set-up checks (`reachable` does not blame the network).
    t.false(await occur(s, 1, 1_000));
    t.true(s.errors.length >= 1);
    t.like(s.errors[0], { code: 'AUTH_FAILED', retryable: false });
    t.regex(s.errors[0]!.message, /private ?key/i);
    for (const e of s.errors) shows(e, privateKey, 'delivery');
    const checks = await s.tracker.checkSetup();
    t.notRegex(checks[0]!.detail, /no answer/, 'a key that cannot sign is not GitHub out of reach');
    t.false(checks[1]!.ok);
    t.regex(checks[1]!.detail, /private ?key/i);
    shows(checks, privateKey, 'set-up checks');
    t.deepEqual(s.github.violations, []);
  }
  // The key as GitHub hands it out (PKCS#1), as PKCS#8, and with its newlines written \\n (from an environment variable) are all fine.
  const pkcs8 = createPrivateKey(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  for (const privateKey of [keys.privateKey, pkcs8, keys.privateKey.replace(/\n/g, '\\n')]) {
    const tracker = new GitHubTracker({
      owner: 'acme',
      repo: 'widgets',
      auth: { appId: APP_ID, privateKey, installationId: 1 },
    });
    await tracker.close();
  }
});

test('a wrong installation id: AUTH_FAILED that names the installation, not a missing repository', async (t) => {
  const s = await appSetup(t, { auth: (id) => ({ installationId: id + 1 }) });
  const { github, backend, errors } = s;
  // The first attempt fails (how long it takes is auth-app's business); nothing goes after it.
  t.false(await occur(s, 1, 1_000));
  await until(() => errors.length >= 1, 'the delivery failed');
  t.false(await s.backend.deliverPending({ timeoutMs: 500 }));
  // GitHub answers the token request 404: the installation, not the repository, is missing.
  t.deepEqual(
    github.calls.filter((c) => c.path.startsWith('/app/')).map((c) => `${c.method} ${c.path} ${c.status}`),
    [`POST /app/installations/${Number(s.auth.installationId)}/access_tokens 404`],
  );
  t.like(errors[0], { code: 'AUTH_FAILED', retryable: false });
  t.regex(errors[0]!.message, /installation/i);
  t.is(await backend.store.countOutbox(), 1);
  for (const e of errors) assertNoSecrets(t, e, s);
  t.deepEqual(github.violations, []);
});

// -- set-up checks ---------------------------------------------------------------

const NAMES = [
  'reachable',
  'authenticated',
  'repository access',
  'issues enabled',
  'may create issues and comment',
  'may label issues',
  'label "logtickets"',
  'label "regression"',
];

async function checksOf(t: ExecutionContext, s: AppSetup): Promise<Record<string, SetupCheck>> {
  const before = s.github.calls.length;
  const checks = await s.tracker.checkSetup();
  t.deepEqual(
    checks.map((c) => c.name),
    NAMES,
  );
  for (const c of checks) {
    t.true(c.detail.length > 0, c.name);
    for (const line of keyLines(s.auth.privateKey)) t.false(c.detail.includes(line), `${c.name} shows the key`);
    for (const { token } of s.github.installationTokens()) t.false(c.detail.includes(token), `${c.name} shows a token`);
  }
  t.deepEqual(
    s.github.calls.slice(before).filter((c) => c.method !== 'GET' && !c.path.startsWith('/app/')),
    [],
    'the checks only read (buying a token aside)',
  );
  t.deepEqual(s.github.violations, []);
  return Object.fromEntries(checks.map((c) => [c.name, c]));
}

test('set-up checks as an App installation: all pass, and no classic-token talk', async (t) => {
  const s = await appSetup(t);
  const checks = await checksOf(t, s);
  for (const name of NAMES) t.true(checks[name]!.ok, `${name}: ${checks[name]!.detail}`);
  t.regex(checks['authenticated']!.detail, /GitHub App installation/);
  t.notRegex(checks['may create issues and comment']!.detail, /scope/);
  t.regex(checks['may create issues and comment']!.detail, /Issues: Read and write/);
  t.is(s.github.installationTokens().length, 1);
});

test("set-up checks: a key that is not the App's fails `authenticated`", async (t) => {
  const s = await appSetup(t, { auth: { privateKey: appKeys().privateKey } });
  const checks = await checksOf(t, s);
  t.true(checks['reachable']!.ok);
  t.false(checks['authenticated']!.ok);
  t.regex(checks['authenticated']!.detail, /refused the app's credentials \(HTTP 401\)/);
  t.regex(checks['authenticated']!.detail, /appId, privateKey and installationId/);
  for (const name of NAMES.slice(2)) t.regex(checks[name]!.detail, /^not checked: /);
});

test('set-up checks: a wrong installation id fails `authenticated`', async (t) => {
  const s = await appSetup(t, { auth: (id) => ({ installationId: id + 7 }) });
  const checks = await checksOf(t, s);
  t.true(checks['reachable']!.ok);
  t.false(checks['authenticated']!.ok);
  t.regex(checks['authenticated']!.detail, /HTTP 404/);
  t.regex(checks['authenticated']!.detail, /installationId/);
});

test('set-up checks: an App not installed on the repository fails `repository access` with the fix', async (t) => {
  const s = await appSetup(t, { app: { installedOnRepository: false } });
  const checks = await checksOf(t, s);
  t.true(checks['authenticated']!.ok);
  t.false(checks['repository access']!.ok);
  t.regex(checks['repository access']!.detail, /Install the app on acme\/widgets/);
  for (const name of NAMES.slice(3)) t.regex(checks[name]!.detail, /^not checked: /);
});

test('set-up checks: an App with Issues: read only fails `may label issues`', async (t) => {
  const s = await appSetup(t, { app: { issues: 'read' } });
  const checks = await checksOf(t, s);
  t.true(checks['repository access']!.ok);
  t.regex(checks['repository access']!.detail, /Read access/);
  t.false(checks['may label issues']!.ok);
  t.regex(checks['may label issues']!.detail, /Give the app Issues: Read and write/);
});
