import test, { type ExecutionContext } from 'ava';
import net from 'node:net';
import {
  GitHubTracker,
  Logger,
  TicketingHandler,
  TrackedStore,
  type GitHubTrackerOptions,
} from '../../../src/index.js';
import type { SetupCheck } from '../../../src/backends/tracker/setup-check.js';
import { startGitHub, type GitHubStandIn } from '../../services/github/github-server.js';

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

async function standIn(t: ExecutionContext): Promise<GitHubStandIn> {
  const github = await startGitHub();
  t.teardown(() => github.close());
  return github;
}

function backendFor(t: ExecutionContext, options: Partial<GitHubTrackerOptions> & { baseUrl: string }): GitHubTracker {
  const backend = new GitHubTracker({
    owner: 'acme',
    repo: 'widgets',
    auth: 'ghp_unused',
    writeIntervalMs: 0,
    notifyIntervalMs: 0,
    timeoutMs: 5_000,
    ...options,
  });
  t.teardown(() => backend.close());
  return backend;
}

/** The checks, by name; none may show the token, and none may write. */
async function checksOf(
  t: ExecutionContext,
  github: GitHubStandIn | undefined,
  options: Partial<GitHubTrackerOptions> & { baseUrl: string },
): Promise<Record<string, SetupCheck>> {
  const before = github?.calls.length ?? 0;
  const checks = await backendFor(t, options).checkSetup();
  t.deepEqual(
    checks.map((c) => c.name),
    NAMES,
  );
  for (const c of checks) {
    t.true(c.detail.length > 0, c.name);
    if (typeof options.auth === 'string') t.false(c.detail.includes(options.auth), `${c.name} shows the token`);
  }
  if (github !== undefined) {
    t.deepEqual(
      github.calls.slice(before).filter((c) => c.method !== 'GET'),
      [],
      'the checks only read',
    );
    t.deepEqual(github.violations, []);
  }
  return Object.fromEntries(checks.map((c) => [c.name, c]));
}

function assertNotChecked(t: ExecutionContext, checks: Record<string, SetupCheck>, after: string): void {
  for (const name of NAMES.slice(NAMES.indexOf(after) + 1)) {
    t.false(checks[name]!.ok, name);
    t.regex(checks[name]!.detail, /^not checked: /, name);
  }
}

test('full access: every check passes; missing labels are created on first use, as promised', async (t) => {
  const github = await standIn(t);
  const options = { baseUrl: github.url, auth: github.token };
  const checks = await checksOf(t, github, options);
  for (const name of NAMES) t.true(checks[name]!.ok, `${name}: ${checks[name]!.detail}`);
  t.regex(checks['authenticated']!.detail, new RegExp(github.login));
  t.regex(checks['label "logtickets"']!.detail, /missing; will be created on first use/);

  // The first issue creates them; after it, both are there.
  const backend = new TrackedStore({
    store: 'sqlite::memory:',
    trackers: [backendFor(t, options)],
    commentIntervalMs: 0,
  });
  const handler = new TicketingHandler(backend, { onError: () => {}, closeBackends: true });
  t.teardown(() => handler.close());
  handler.run(() => new Logger('shop.checkout').error('payment failed'));
  await handler.flush();
  t.true(await backend.deliverPending({ timeoutMs: 20_000 }));
  t.deepEqual(
    github
      .labels()
      .map((l) => l.name)
      .sort(),
    ['logtickets', 'regression'],
  );
  const again = await checksOf(t, github, options);
  t.is(again['label "logtickets"']!.detail, 'present');
  t.is(again['label "regression"']!.detail, 'present');
});

test('a token that cannot see the repository fails `repository access` with the fix', async (t) => {
  const github = await standIn(t);
  const checks = await checksOf(t, github, { baseUrl: github.url, auth: github.accounts.none.token });
  t.true(checks['authenticated']!.ok);
  const access = checks['repository access']!;
  t.false(access.ok);
  t.regex(access.detail, /acme\/widgets/);
  t.regex(access.detail, /fine-grained token.*Issues: Read and write/);
  t.regex(access.detail, /repo scope/);
  assertNotChecked(t, checks, 'repository access');
});

test('a bad token fails `authenticated`', async (t) => {
  const github = await standIn(t);
  const checks = await checksOf(t, github, { baseUrl: github.url, auth: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB' });
  t.true(checks['reachable']!.ok);
  t.false(checks['authenticated']!.ok);
  t.regex(checks['authenticated']!.detail, /HTTP 401/);
  t.regex(checks['authenticated']!.detail, /wrong, expired or revoked/);
  assertNotChecked(t, checks, 'authenticated');
});

test('a read-only token fails `may label issues`, saying why labels matter', async (t) => {
  const github = await standIn(t);
  const checks = await checksOf(t, github, { baseUrl: github.url, auth: github.accounts.read.token });
  for (const name of NAMES.slice(0, 5)) t.true(checks[name]!.ok, `${name}: ${checks[name]!.detail}`);
  const label = checks['may label issues']!;
  t.false(label.ok);
  t.regex(label.detail, /Read access/);
  t.regex(label.detail, /silently drops labels/);
  t.regex(label.detail, /duplicates/);
  t.regex(label.detail, /Write role/);
  // Missing labels cannot be created by this account either.
  t.false(checks['label "logtickets"']!.ok);
  t.regex(checks['label "logtickets"']!.detail, /Issues → Labels/);
});

test('issues turned off fail `issues enabled` with where to turn them on', async (t) => {
  const github = await standIn(t);
  github.fault({ kind: 'issues-disabled' });
  const checks = await checksOf(t, github, { baseUrl: github.url, auth: github.token });
  t.true(checks['repository access']!.ok);
  t.false(checks['issues enabled']!.ok);
  t.regex(checks['issues enabled']!.detail, /Settings → General → Features → Issues/);
  t.false(checks['may create issues and comment']!.ok);
});

test('a closed port fails `reachable`; nothing else is checked', async (t) => {
  const port = await closedPort();
  const checks = await checksOf(t, undefined, {
    baseUrl: `http://127.0.0.1:${port}`,
    auth: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB',
  });
  t.false(checks['reachable']!.ok);
  t.regex(checks['reachable']!.detail, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assertNotChecked(t, checks, 'reachable');
});

test("ticketUrl: github.com, an Enterprise host, and a stand-in's own pages", async (t) => {
  const url = (baseUrl: string | undefined) =>
    new GitHubTracker({ owner: 'acme', repo: 'shop', auth: 'x', baseUrl }).ticketUrl('7');
  t.is(url(undefined), 'https://github.com/acme/shop/issues/7');
  t.is(url('https://api.github.com'), 'https://github.com/acme/shop/issues/7');
  t.is(url('https://ghe.example.com/api/v3'), 'https://ghe.example.com/acme/shop/issues/7');
  t.is(url('https://ghe.example.com/api/v3/'), 'https://ghe.example.com/acme/shop/issues/7');
  t.is(url('https://api.acme.ghe.com'), 'https://acme.ghe.com/acme/shop/issues/7');

  // The stand-in serves its pages under its own root, as its html_url says.
  const github = await standIn(t);
  const { number } = github.seedIssue({ title: 'seen in the browser' });
  const answer = await fetch(`${github.url}/repos/${github.owner}/${github.repo}/issues/${number}`, {
    headers: { authorization: `token ${github.token}` },
  });
  const { html_url } = (await answer.json()) as { html_url: string };
  const backend = backendFor(t, { baseUrl: github.url, auth: github.token, owner: github.owner, repo: github.repo });
  t.is(backend.ticketUrl(String(number)), html_url);
});

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
