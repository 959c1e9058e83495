import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { OccurrenceSummary } from '../../../src/backends/tracker/occurrence-summary.js';
import type { TrackerProblem } from '../../../src/backends/tracker/tracker.js';
import {
  GITHUB_WRITE_BUDGET,
  GitHubTracker,
  Logger,
  LogticketsError,
  SqlBackend,
  TicketingHandler,
  TrackedStore,
  type GitHubTrackerOptions,
} from '../../../src/index.js';
import { startGitHub, type GitHubStandIn } from '../../services/github/github-server.js';
import { until } from '../../conformance/fleet-replicas.js';

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
    /^\[ERROR\] shop\.checkout: payment for order 1 failed: card expired \(test\/backends\/github\/github-backend\.test\.ts:\d+\)$/,
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

const problem = (): TrackerProblem => ({ appId: 'shop', hash: randomBytes(20).toString('hex') });
const summary = (message: string): OccurrenceSummary => ({
  level: 40,
  channel: 'shop.checkout',
  location: 'checkout.ts:1',
  function: null,
  title: message,
  count: 1,
  first: '2025-03-01T10:00:00.000Z',
  last: '2025-03-01T10:00:00.000Z',
  messages: [[message, 1]],
  otherMessages: 0,
  firstRecord: { message },
  latestRecord: { message },
});

/** The rejection of `run`, with the number of requests refused as `status` meanwhile. */
async function refusedWith(t: ExecutionContext, github: GitHubStandIn, status: number, run: () => Promise<unknown>) {
  const before = github.calls.filter((c) => c.status === status).length;
  const error = await t.throwsAsync(run(), { instanceOf: LogticketsError });
  return { error, refused: github.calls.filter((c) => c.status === status).length - before };
}

test('rate-limit answers are BACKEND_BUSY errors with retryAt: neither waited out nor retried by the tracker', async (t) => {
  const github = await startGitHub();
  t.teardown(() => github.close());
  const tracker = trackerOf(github);
  const id = await tracker.create(problem(), summary('before the limits'));
  const seconds = (ms: number) => Math.floor(ms / 1000);

  // A secondary limit on a write: retry-after (seconds) says when.
  github.fault({ kind: 'secondary-rate-limit', retryAfterSeconds: 120, times: 1 }, /^POST /);
  let from = Date.now();
  const secondary = await refusedWith(t, github, 403, () => tracker.addOccurrences(id, summary('limited')));
  t.like(secondary.error, { code: 'BACKEND_BUSY', retryable: true, status: 403 });
  const at = Date.parse(secondary.error!.retryAt!);
  t.true(at >= from + 120_000 && at <= Date.now() + 120_000, secondary.error!.retryAt);
  t.is(secondary.refused, 1, 'one refused request, no hammering');

  // The primary limit (429, and 403 on a read): x-ratelimit-reset says when; retryAt is the second after it.
  for (const [status, routes, run] of [
    [429, /^POST /, () => tracker.create(problem(), summary('limited'))],
    [403, /^GET /, () => tracker.changedSince(new Date(0))],
  ] as const) {
    github.fault({ kind: 'rate-limit', resetInSeconds: 90, times: 1, status }, routes);
    from = Date.now();
    const primary = await refusedWith(t, github, status, run);
    t.like(primary.error, { code: 'BACKEND_BUSY', retryable: true, status });
    const reset = seconds(Date.parse(primary.error!.retryAt!)) - 1;
    t.true(reset >= seconds(from) + 90 && reset <= seconds(Date.now()) + 90, primary.error!.retryAt);
    t.is(primary.refused, 1);
  }
  t.is(ours(github).length, 1);
  t.deepEqual(github.violations, []);
});

test("the write budget is stated for the store to keep: GitHub's by default, or as given", (t) => {
  const options = { owner: 'o', repo: 'r', auth: 't' };
  t.deepEqual(new GitHubTracker(options).writeBudget, GITHUB_WRITE_BUDGET);
  t.deepEqual(GITHUB_WRITE_BUDGET, [
    { writes: 80, perMs: 60_000 },
    { writes: 500, perMs: 3_600_000 },
  ]);
  const given = [{ writes: 5, perMs: 1_500 }];
  t.deepEqual(new GitHubTracker({ ...options, writeBudget: given }).writeBudget, given);
  t.deepEqual(new GitHubTracker({ ...options, writeBudget: [] }).writeBudget, [], 'no limit');
  for (const bad of [[{ writes: -1, perMs: 1000 }], [{ writes: 5, perMs: 0 }], [{ writes: 1.5, perMs: 10 }], [null]])
    t.throws(() => new GitHubTracker({ ...options, writeBudget: bad as never }), {
      instanceOf: LogticketsError,
      code: 'INVALID_ARGUMENT',
      message: /^GitHubTracker options\.writeBudget: windows\[0\]/,
    });
  t.false('writesBlockedUntil' in new GitHubTracker(options), 'no budget or pause of its own');
});

test('a deleted issue, or a number the repository lacks, is gone; a missing repository is an error', async (t) => {
  const github = await startGitHub();
  t.teardown(() => github.close());
  const tracker = trackerOf(github);
  const id = await tracker.create(problem(), summary('to be deleted'));
  github.deleteIssue(Number(id));
  t.is(await tracker.addOccurrences(id, summary('again')), 'gone');
  t.is(await tracker.addOccurrences('4711', summary('again')), 'gone');
  await t.throwsAsync(trackerOf(github, { repo: 'no-such-repo' }).addOccurrences(id, summary('again')), {
    code: 'TRACKER_FAULT',
    message: /HTTP 404/,
  });
  github.fault({ kind: 'issues-disabled' });
  await t.throwsAsync(tracker.addOccurrences(id, summary('again')), { message: /issues are disabled/ });
  t.deepEqual(github.violations, []);
});

test('find sees an issue another process created after its listing was made', async (t) => {
  const github = await startGitHub();
  t.teardown(() => github.close());
  const [mine, other] = [trackerOf(github), trackerOf(github)];
  const p = problem();
  t.is(await mine.find(p), undefined);
  const id = await other.create(p, summary('made elsewhere'));
  t.is(await mine.find(p), id);
  t.is(await mine.find(problem()), undefined);
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
    // The first attempt fails; the tracker (or the problem) then waits at least a minute: nothing goes now.
    await until(() => errors.length >= 1, 'the first attempt failed');
    t.false(await backend.deliverPending({ timeoutMs: 500 }));
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
  t.like(await backend.links(stored!), [
    { tracker: tracker.name, externalId: id, url: tracker.ticketUrl(id), state: 'open' },
  ]);
  const before = new Date(Date.now() - 1_000);
  github.closeIssue(issue!.number, 'not_planned');
  const changes = await tracker.changedSince(before);
  t.deepEqual(
    changes.map((c) => c.externalId),
    [id],
  );
  const closedAt = ours(github)[0]!.closed_at!;
  t.like(changes[0], { state: 'closed', resolution: 'not_planned', ticketState: 'muted' });
  t.is(changes[0]!.stateAt, new Date(closedAt).toISOString(), 'the state dates from closed_at');
  t.true(changes[0]!.labels.includes('logtickets'));
  t.deepEqual(await tracker.changedSince(new Date(Date.now() + 60_000)), []);
  t.deepEqual(github.violations, []);
});
