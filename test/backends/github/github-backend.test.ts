import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  GitHubTracker,
  Logger,
  LogticketsError,
  SqlBackend,
  TicketingHandler,
  TrackedStore,
  type GitHubTrackerOptions,
} from '../../../src/index.js';
import { startGitHub, type GitHubStandIn } from '../../services/github/github-server.js';

const exec = promisify(execFile);
const githubProcess = fileURLToPath(new URL('../../fixtures/github-process.ts', import.meta.url));

function storeUri(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-github-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'store.db')}`;
}

/** A tracker of the stand-in GitHub, with no spacing between writes. */
function trackerOf(github: GitHubStandIn, over: Partial<GitHubTrackerOptions> = {}): GitHubTracker {
  return new GitHubTracker({
    owner: github.owner,
    repo: github.repo,
    auth: github.token,
    baseUrl: github.url,
    writeIntervalMs: 0,
    notifyIntervalMs: 0,
    ...over,
  });
}

/** A stand-in GitHub, a store with its tracker and a handler for one test. */
async function setup(
  t: { teardown(fn: () => Promise<unknown> | void): void },
  over: Partial<GitHubTrackerOptions> = {},
) {
  const github = await startGitHub();
  const errors: LogticketsError[] = [];
  const tracker = trackerOf(github, over);
  const backend = new TrackedStore({
    store: storeUri(t),
    trackers: [tracker],
    commentIntervalMs: 0,
    retry: { initialMs: 50, maxMs: 200 },
    onError: (e) => errors.push(e),
  });
  const handler = new TicketingHandler(backend, { onError: () => {} });
  t.teardown(async () => {
    await handler.close();
    await backend.close();
    await github.close();
  });
  return { github, backend, tracker, handler, errors, log: new Logger('shop.checkout') };
}

const ours = (github: GitHubStandIn) => github.issues().filter((i) => i.labels.includes('logtickets'));

test('bad options are clear errors at construction', (t) => {
  t.throws(() => new GitHubTracker({ repo: 'r', auth: 't' } as never), {
    instanceOf: LogticketsError,
    message: /options\.owner is required/,
  });
  t.throws(() => new GitHubTracker({ owner: 'o', repo: 'r', auth: '' }), { message: /token is empty/ });
  t.throws(() => new GitHubTracker({ owner: 'o', repo: 'r', auth: { appId: 1 } as never }), {
    message: /options\.auth/,
  });
  t.throws(() => new GitHubTracker({ owner: 'o', repo: 'r', auth: 't', labels: [] }), {
    message: /at least one label/,
  });
  t.throws(() => new GitHubTracker({ owner: 'o', repo: 'r', auth: 't', baseUrl: 'ftp://x' }), { message: /baseUrl/ });
  t.throws(() => new GitHubTracker({ owner: 'o', repo: 'r', auth: 't', lables: ['x'] } as never), {
    message: /options\.lables is not an option/,
  });
  const tracker = new GitHubTracker({ owner: 'o', repo: 'r', auth: 't' });
  t.throws(() => new TrackedStore({ store: 'memory:', trackers: [tracker, tracker] }), { message: /listed twice/ });
  t.throws(() => new TrackedStore({ store: 'memory:', trackers: [{ tracker, commentIntervalMs: -1 }] }), {
    message: /commentIntervalMs/,
  });
});

test('the first occurrence opens one issue with the marker; later ones comment', async (t) => {
  const { github, backend, handler, log } = await setup(t);
  const charge = (order: number) =>
    log.error({ extra: { order }, error: new TypeError('card expired') }, 'payment for order %d failed', order);
  handler.run(() => charge(1));
  await handler.flush();
  t.true(await backend.deliverPending());
  handler.run(() => charge(2));
  await handler.flush();
  t.true(await backend.deliverPending());
  const issues = ours(github);
  t.is(issues.length, 1);
  const [issue] = issues;
  const [stored] = await backend.store.getTickets();
  t.regex(
    issue!.title,
    /^\[ERROR\] shop\.checkout: payment for order 1 failed \(test\/backends\/github\/github-backend\.test\.ts:\d+\)$/,
  );
  t.true(issue!.body!.includes(`<!-- logtickets:fingerprint=${stored!.hash} -->`));
  t.regex(issue!.body!, /TypeError: card expired/);
  t.is(issue!.comments.length, 1);
  t.regex(issue!.comments[0]!.body, /Occurred again/);
  t.deepEqual(github.violations, []);
});

test('record text cannot mention people, reference issues, or leave its fence', async (t) => {
  const { github, backend, handler, log } = await setup(t);
  const hostile =
    '@octocat see #12 and GH-3 ```\n</code> <img src=x onerror=alert(1)> **bold** [x](http://evil.example)\n````';
  handler.run(() => log.error({ extra: { note: hostile } }, 'ping @admin about #1 %s', hostile));
  await handler.flush();
  await backend.deliverPending();
  const [issue] = ours(github);
  t.false(/@(?=admin)/.test(issue!.title), issue!.title);
  t.false(/#(?=1\b)/.test(issue!.title));
  // Outside fences there is only our own text.
  const outside = issue!.body!.split(/^(`{3,})text$[\s\S]*?^\1$/m).join('');
  for (const bad of ['@octocat', '@admin', '#12', '<img', 'evil.example'])
    t.false(outside.includes(bad), `${bad} outside a fence`);
  t.deepEqual(github.violations, []);
});

test("a huge record is cut to GitHub's body limit and keeps its marker", async (t) => {
  const { github, backend, handler, log } = await setup(t);
  handler.run(() =>
    log.error(
      {
        extra: { blob: 'x'.repeat(8_000), more: Array.from({ length: 100 }, (_, i) => `line ${i} ${'y'.repeat(900)}`) },
      },
      'big',
    ),
  );
  await handler.flush();
  t.true(await backend.deliverPending());
  const [issue] = ours(github);
  t.true(issue!.body!.length <= 65_536);
  t.regex(issue!.body!, /<!-- logtickets:fingerprint=[0-9a-f]{40} -->$/);
  t.deepEqual(github.violations, []);
});

test('closed as completed: reopened with a comment and the regression label; not planned or wontfix: left alone', async (t) => {
  const { github, backend, handler, log } = await setup(t);
  const a = () => log.error('completed problem');
  const b = () => log.error('not planned problem');
  const c = () => log.error('wontfix problem');
  handler.run(() => (a(), b(), c()));
  await handler.flush();
  await backend.deliverPending();
  const byTitle = (part: string) => ours(github).find((i) => i.title.includes(part))!;
  github.closeIssue(byTitle('completed problem').number, 'completed');
  github.closeIssue(byTitle('not planned problem').number, 'not_planned');
  github.closeIssue(byTitle('wontfix problem').number, 'completed');
  // A human labels it wontfix.
  const wontfix = byTitle('wontfix problem');
  github.editIssue(wontfix.number, { labels: [...wontfix.labels, 'wontfix'] });
  handler.run(() => (a(), b(), c()));
  await handler.flush();
  t.true(await backend.deliverPending());
  const reopened = byTitle('completed problem');
  t.like(reopened, { state: 'open', state_reason: 'reopened' });
  t.true(reopened.labels.includes('regression'));
  t.regex(reopened.comments.at(-1)!.body, /Regression/);
  t.like(byTitle('not planned problem'), { state: 'closed', state_reason: 'not_planned' });
  t.is(byTitle('not planned problem').comments.length, 0);
  t.is(byTitle('wontfix problem').state, 'closed');
  t.deepEqual(github.violations, []);
});

test('a 5xx after the issue was really created makes no duplicate', async (t) => {
  const { github, backend, handler, log } = await setup(t);
  github.fault({ kind: 'server-error-after-create', times: 1 }, /^POST \/repos\/[^/]+\/[^/]+\/issues$/);
  handler.run(() => log.error('created, answer lost'));
  await handler.flush();
  t.true(await backend.deliverPending({ timeoutMs: 20_000 }));
  t.is(ours(github).length, 1);
  t.deepEqual(github.violations, []);
});

test('rate-limit answers are waited out, not retried on the spot', async (t) => {
  const { github, backend, handler, log, errors } = await setup(t);
  handler.run(() => log.error('first'));
  await handler.flush();
  await backend.deliverPending();
  github.fault({ kind: 'secondary-rate-limit', retryAfterSeconds: 2, times: 1 }, /^POST /);
  const call = () => log.warn('during the limit');
  handler.run(call);
  await handler.flush();
  const started = Date.now();
  t.true(await backend.deliverPending({ timeoutMs: 20_000 }));
  t.true(Date.now() - started >= 1_900, 'waited for retry-after');
  t.true(errors.some((e) => e.code === 'BACKEND_BUSY'));
  const limited = github.calls.filter((c) => c.status === 403).length;
  t.is(limited, 1, 'one refused request, no hammering');
  t.deepEqual(github.violations, []);
});

test('a primary rate limit is waited out until x-ratelimit-reset', async (t) => {
  const { github, backend, handler, log, errors } = await setup(t);
  handler.run(() => log.error('before the limit'));
  await handler.flush();
  await backend.deliverPending();
  github.fault({ kind: 'rate-limit', resetInSeconds: 2, times: 1, status: 429 }, /^POST /);
  const again = () => log.warn('hit the primary limit');
  handler.run(again);
  await handler.flush();
  const started = Date.now();
  t.true(await backend.deliverPending({ timeoutMs: 20_000 }));
  t.true(Date.now() - started >= 1_000, 'waited for the reset time');
  t.true(errors.some((e) => e.code === 'BACKEND_BUSY' && e.status === 429));
  t.is(github.calls.filter((c) => c.status === 429).length, 1, 'no request made again before the reset');
  t.is(ours(github).length, 2);
  t.deepEqual(github.violations, []);
});

test('the write budget is never exceeded; nothing is lost', async (t) => {
  const { github, backend, handler } = await setup(t, { writeBudget: [{ writes: 5, perMs: 1_500 }] });
  const loggers = Array.from({ length: 8 }, (_, i) => new Logger(`svc.${i}`));
  handler.run(() => {
    for (let i = 0; i < 80; i++) loggers[i % 8]!.error('problem of logger %d', i % 8);
  });
  await handler.flush();
  t.true(await backend.deliverPending({ timeoutMs: 30_000 }));
  const writes = github.calls.filter((c) => c.method !== 'GET').map((c) => c.at);
  for (const at of writes)
    t.true(writes.filter((w) => w >= at && w < at + 1_500).length <= 5, 'at most 5 writes in any 1.5 s');
  t.is(ours(github).length, 8);
  t.is(
    (await backend.store.getTickets({ limit: 100 })).reduce((n, x) => n + x.occurrenceCount, 0),
    80,
  );
  t.deepEqual(github.violations, []);
});

test('errors: a bad token, no repository, issues disabled — typed, reported, deliveries kept', async (t) => {
  for (const [over, fault, code, message] of [
    [{ auth: 'not-the-token' }, null, 'AUTH_FAILED', /HTTP 401/],
    [{ repo: 'no-such-repo' }, null, 'TRACKER_FAULT', /does not exist, or is not visible/],
    [{}, { kind: 'issues-disabled' } as const, 'TRACKER_FAULT', /issues are disabled/],
  ] as const) {
    const { github, backend, handler, log, errors } = await setup(t, over as Partial<GitHubTrackerOptions>);
    if (fault !== null) github.fault(fault);
    handler.run(() => log.error('cannot be delivered'));
    await handler.flush();
    t.false(await backend.deliverPending({ timeoutMs: 500 }));
    t.true(errors.length >= 1);
    t.like(errors[0], { code, retryable: false });
    t.regex(errors[0]!.message, message);
    t.is(await backend.store.countOutbox(), 1, 'the delivery waits in the outbox');
    t.deepEqual(github.violations, []);
  }
});

test('several processes hitting a new problem at once make one issue', async (t) => {
  const github = await startGitHub();
  t.teardown(() => github.close());
  const store = storeUri(t);
  const args = [
    JSON.stringify({
      baseUrl: github.url,
      owner: github.owner,
      repo: github.repo,
      auth: github.token,
      store,
      count: 20,
    }),
  ];
  await Promise.all(
    [1, 2, 3].map(() => exec(process.execPath, ['--import', 'tsx', githubProcess, ...args], { timeout: 120_000 })),
  );
  t.is(ours(github).length, 1);
  const backend = new SqlBackend(store);
  t.teardown(() => backend.close());
  t.is((await backend.getTickets())[0]!.occurrenceCount, 60);
  t.deepEqual(github.violations, []);
});

test('issues found again by their marker across pages when the links are lost', async (t) => {
  const { github, backend, handler, log } = await setup(t);
  for (let i = 0; i < 230; i++) github.seedIssue({ title: `older ${i}`, labels: ['logtickets'], body: 'not ours' });
  const call = () => log.error('find me again');
  handler.run(call);
  await handler.flush();
  await backend.deliverPending();
  const [stored] = await backend.store.getTickets();
  // Another process with an empty store (links lost) finds the issue through the listing.
  const other = new TrackedStore({ store: storeUri(t), trackers: [trackerOf(github)], commentIntervalMs: 0 });
  const otherHandler = new TicketingHandler(other);
  otherHandler.run(call);
  await otherHandler.flush();
  t.true(await other.deliverPending());
  await otherHandler.close();
  await other.close();
  const mine = ours(github).filter((i) => i.body?.includes(stored!.hash));
  t.is(mine.length, 1);
  t.is(mine[0]!.comments.length, 1);
  t.deepEqual(github.violations, []);
});

test('reads come from the store: a ticket carries its issue link; changedSince lists issues changed in GitHub', async (t) => {
  const { github, backend, tracker, handler, log } = await setup(t);
  const call = () => log.critical('read side');
  for (let i = 0; i < 2; i++) {
    handler.run(call);
    await handler.flush();
    await backend.deliverPending();
  }
  const [issue] = ours(github);
  const [stored] = await backend.getTickets();
  t.like(await backend.getTicket(stored!.id), { level: 15, title: 'read side', occurrenceCount: 2, solved: false });
  const id = String(issue!.number);
  t.deepEqual(await backend.links(stored!), [{ tracker: tracker.name, externalId: id, url: tracker.ticketUrl(id) }]);
  const before = new Date(Date.now() - 1_000);
  github.closeIssue(issue!.number, 'not_planned');
  const changes = await tracker.changedSince(before);
  t.deepEqual(
    changes.map((c) => c.externalId),
    [id],
  );
  t.like(changes[0], { state: 'closed', resolution: 'not_planned' });
  t.true(changes[0]!.labels.includes('logtickets'));
  t.deepEqual(await tracker.changedSince(new Date(Date.now() + 60_000)), []);
  t.deepEqual(github.violations, []);
});
