// Tests of the GitHub stand-in itself, driven through the real `octokit`
// package: the backend tests rely on it answering as GitHub does, and on it
// catching every request or response that GitHub's OpenAPI description does
// not allow.

import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { Octokit, RequestError } from 'octokit';

import {
  descriptionLoadMs,
  descriptionVersion,
  startGitHub,
  validateRequest,
  validateResponse,
  type GitHubAppRegistration,
  type GitHubStandIn,
  type StartGitHubOptions,
} from './github-server.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function standIn(t: ExecutionContext, options?: StartGitHubOptions): Promise<GitHubStandIn> {
  const github = await startGitHub(options);
  t.teardown(() => github.close());
  return github;
}

/** Octokit without its retry and throttling plugins: every answer reaches the test as sent. */
function bareOctokit(github: GitHubStandIn, auth: string = github.token): Octokit {
  return new Octokit({
    baseUrl: github.url,
    auth,
    log: quiet,
    retry: { enabled: false },
    throttle: { enabled: false, onRateLimit: () => false, onSecondaryRateLimit: () => false },
  });
}

async function requestError(t: ExecutionContext, promise: Promise<unknown>): Promise<RequestError> {
  const e = await t.throwsAsync(promise, { instanceOf: RequestError });
  return e as RequestError;
}

const repoOf = (github: GitHubStandIn) => ({ owner: github.owner, repo: github.repo });
const body = (e: RequestError) => e.response?.data as Record<string, any>;

test("the description is GitHub's OpenAPI 3.0.3 file, loaded once", (t) => {
  t.is(descriptionVersion(), '3.0.3');
  // How long it took is a figure, not a rule: a loaded machine takes longer.
  t.true(Number.isFinite(descriptionLoadMs()), 'loaded');
  t.log(`description loaded in ${descriptionLoadMs()} ms`);
});

test('issue life cycle: create, read, comment, close as not planned, reopen, labels', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);

  const created = await octokit.rest.issues.create({
    ...repo,
    title: 'TypeError in checkout',
    body: 'first seen at ...',
    labels: ['logtickets', 'severity:error'],
    assignees: ['octocat'],
  });
  t.is(created.status, 201);
  t.is(created.data.number, 1);
  t.is(created.data.state, 'open');
  t.is(created.data.state_reason, null);
  t.deepEqual(
    created.data.labels.map((l) => (typeof l === 'string' ? l : l.name)),
    ['logtickets', 'severity:error'],
  );
  t.is(created.data.user?.login, github.login);
  t.is(created.data.assignee?.login, 'octocat');
  t.is(created.headers.location, `${github.url}/repos/acme/widgets/issues/1`);
  t.regex(
    String(created.headers['x-github-request-id']),
    /^[0-9A-F]{4}:[0-9A-F]{5}:[0-9A-F]{6}:[0-9A-F]{7}:[0-9A-F]{8}$/,
  );
  t.deepEqual(github.labels(), [
    { name: 'logtickets', color: 'ededed' },
    { name: 'severity:error', color: 'ededed' },
  ]);

  const comment = await octokit.rest.issues.createComment({ ...repo, issue_number: 1, body: 'seen again' });
  t.is(comment.status, 201);
  t.is(comment.data.body, 'seen again');
  t.is(comment.data.issue_url, `${github.url}/repos/acme/widgets/issues/1`);
  const comments = await octokit.rest.issues.listComments({ ...repo, issue_number: 1 });
  t.deepEqual(
    comments.data.map((c) => c.id),
    [comment.data.id],
  );

  const closed = await octokit.rest.issues.update({
    ...repo,
    issue_number: 1,
    state: 'closed',
    state_reason: 'not_planned',
  });
  t.is(closed.data.state, 'closed');
  t.is(closed.data.state_reason, 'not_planned');
  t.truthy(closed.data.closed_at);
  t.is(closed.data.closed_by?.login, github.login);

  const reopened = await octokit.rest.issues.update({ ...repo, issue_number: 1, state: 'open' });
  t.is(reopened.data.state, 'open');
  t.is(reopened.data.state_reason, 'reopened');
  t.is(reopened.data.closed_at, null);

  // state_reason alone changes nothing: GitHub ignores it unless state changes.
  const ignored = await octokit.rest.issues.update({ ...repo, issue_number: 1, state_reason: 'not_planned' });
  t.is(ignored.data.state, 'open');
  t.is(ignored.data.state_reason, 'reopened');

  const added = await octokit.rest.issues.addLabels({ ...repo, issue_number: 1, labels: ['regression', 'LOGTICKETS'] });
  t.deepEqual(
    added.data.map((l) => l.name),
    ['logtickets', 'severity:error', 'regression'],
  );
  const left = await octokit.rest.issues.removeLabel({ ...repo, issue_number: 1, name: 'severity:error' });
  t.deepEqual(
    left.data.map((l) => l.name),
    ['logtickets', 'regression'],
  );
  const missing = await requestError(
    t,
    octokit.rest.issues.removeLabel({ ...repo, issue_number: 1, name: 'severity:error' }),
  );
  t.is(missing.status, 404);
  t.is(body(missing).message, 'Label does not exist');

  const fetched = await octokit.rest.issues.get({ ...repo, issue_number: 1 });
  t.is(fetched.data.comments, 1);
  t.is(fetched.data.title, 'TypeError in checkout');

  const [issue] = github.issues();
  t.like(issue, {
    number: 1,
    state: 'open',
    state_reason: 'reopened',
    closed_at: null,
    labels: ['logtickets', 'regression'],
    user: github.login,
  });
  t.deepEqual(
    issue!.comments.map((c) => c.body),
    ['seen again'],
  );

  // A human labels it, comments, and closes it as not planned.
  github.editIssue(1, { labels: [...issue!.labels, 'wontfix'] });
  github.addComment(1, 'known, will not fix');
  const humanComments = await octokit.rest.issues.listComments({ ...repo, issue_number: 1 });
  t.deepEqual(
    humanComments.data.map((c) => [c.user?.login, c.author_association]),
    [
      [github.login, 'COLLABORATOR'],
      ['maintainer', 'COLLABORATOR'],
    ],
  );
  github.closeIssue(1, 'not_planned');
  const afterHuman = await octokit.rest.issues.get({ ...repo, issue_number: 1 });
  t.is(afterHuman.data.state_reason, 'not_planned');
  t.is(afterHuman.data.closed_by?.login, 'maintainer');
  t.deepEqual(
    afterHuman.data.labels.map((l) => (typeof l === 'string' ? l : l.name)),
    ['logtickets', 'regression', 'wontfix'],
  );

  const gone = await requestError(t, octokit.rest.issues.get({ ...repo, issue_number: 99 }));
  t.is(gone.status, 404);
  t.like(body(gone), {
    message: 'Not Found',
    documentation_url: 'https://docs.github.com/rest/issues/issues#get-an-issue',
    status: '404',
  });
  const otherRepo = await requestError(t, octokit.rest.issues.listForRepo({ owner: 'acme', repo: 'nothing-here' }));
  t.is(otherRepo.status, 404);

  t.deepEqual(github.violations, []);
});

test('paginate() walks 250 seeded issues in three pages, following GitHub-style Link headers', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  const start = Date.parse('2024-01-01T00:00:00Z');
  for (let i = 0; i < 250; i++) {
    github.seedIssue({
      title: `old ${i}`,
      labels: ['logtickets'],
      created_at: new Date(start + i * 60_000).toISOString().replace(/\.000Z$/, 'Z'),
    });
  }
  for (let i = 0; i < 20; i++) github.seedIssue({ title: `unrelated ${i}`, labels: ['question'] });
  for (let i = 0; i < 5; i++) github.seedIssue({ title: `closed ${i}`, labels: ['logtickets'], state: 'closed' });

  const all = await octokit.paginate(octokit.rest.issues.listForRepo, { ...repo, labels: 'logtickets', per_page: 100 });
  t.is(all.length, 250);
  t.is(new Set(all.map((i) => i.number)).size, 250);
  t.deepEqual(
    all.slice(0, 2).map((i) => i.title),
    ['old 249', 'old 248'],
    'newest first (sort=created, direction=desc)',
  );
  t.is(all.at(-1)!.title, 'old 0');

  const lists = github.calls.filter((c) => c.method === 'GET');
  t.deepEqual(
    lists.map((c) => c.status),
    [200, 200, 200],
  );
  t.is(lists[0]!.path, '/repos/acme/widgets/issues?labels=logtickets&per_page=100');
  t.regex(lists[1]!.path, /^\/repositories\/\d+\/issues\?labels=logtickets&per_page=100&page=2$/);
  t.regex(lists[2]!.path, /^\/repositories\/\d+\/issues\?labels=logtickets&per_page=100&page=3$/);

  const rels = async (page: number): Promise<string[]> => {
    const r = await octokit.rest.issues.listForRepo({ ...repo, labels: 'logtickets', per_page: 100, page });
    return [...String(r.headers.link ?? '').matchAll(/page=(\d+)>; rel="(\w+)"/g)].map((m) => `${m[2]}:${m[1]}`);
  };
  t.deepEqual(await rels(1), ['next:2', 'last:3']);
  t.deepEqual(await rels(2), ['prev:1', 'next:3', 'last:3', 'first:1']);
  t.deepEqual(await rels(3), ['prev:2', 'first:1']);

  const big = await octokit.rest.issues.listForRepo({ ...repo, state: 'all', per_page: 500 });
  t.is(big.data.length, 100, 'per_page is capped at 100');
  const byDefault = await octokit.rest.issues.listForRepo({ ...repo });
  t.is(byDefault.data.length, 30, 'per_page defaults to 30');

  t.deepEqual(github.violations, []);
});

test('comments are paginated too', async (t) => {
  const github = await standIn(t, { perPageMax: 20 });
  const octokit = bareOctokit(github);
  const when = '2024-05-01T10:00:00Z';
  github.seedIssue({
    title: 'chatty',
    comments: Array.from({ length: 45 }, (_, i) => ({
      id: 0,
      body: `comment ${i}`,
      created_at: when,
      user: 'octocat',
    })),
  });
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    ...repoOf(github),
    issue_number: 1,
    per_page: 100,
  });
  t.deepEqual(
    comments.map((c) => c.body),
    Array.from({ length: 45 }, (_, i) => `comment ${i}`),
  );
  t.is(github.calls.length, 3, 'perPageMax 20 → three pages');
  t.deepEqual(github.violations, []);
});

test('list filters: state, labels (all must match), since, sort and direction', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  github.seedIssue({
    title: 'a',
    labels: ['logtickets', 'db'],
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-03-01T00:00:00Z',
  });
  github.seedIssue({
    title: 'b',
    labels: ['logtickets'],
    created_at: '2024-01-02T00:00:00Z',
    updated_at: '2024-02-01T00:00:00Z',
  });
  github.seedIssue({
    title: 'c',
    labels: ['logtickets', 'db'],
    created_at: '2024-01-03T00:00:00Z',
    state: 'closed',
    state_reason: 'not_planned',
  });
  const titles = async (
    params: Omit<Parameters<typeof octokit.rest.issues.listForRepo>[0] & object, 'owner' | 'repo'>,
  ) => (await octokit.rest.issues.listForRepo({ ...repo, ...params })).data.map((i) => i.title);

  t.deepEqual(await titles({}), ['b', 'a']);
  t.deepEqual(await titles({ state: 'closed' }), ['c']);
  t.deepEqual(await titles({ state: 'all', labels: 'logtickets,db' }), ['c', 'a']);
  t.deepEqual(await titles({ state: 'all', labels: 'DB' }), ['c', 'a'], 'label names are case-insensitive');
  t.deepEqual(await titles({ direction: 'asc' }), ['a', 'b']);
  t.deepEqual(await titles({ sort: 'updated' }), ['a', 'b']);
  t.deepEqual(await titles({ since: '2024-02-15T00:00:00Z' }), ['a']);

  const closed = (await octokit.rest.issues.get({ ...repo, issue_number: 3 })).data;
  t.is(closed.state_reason, 'not_planned');
  t.is(closed.closed_at, '2024-01-03T00:00:00Z');
  t.deepEqual(github.violations, []);
});

test('repository labels: create, read, already exists, list', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  const created = await octokit.rest.issues.createLabel({
    ...repo,
    name: 'logtickets',
    color: 'B60205',
    description: 'Made by logtickets',
  });
  t.is(created.status, 201);
  t.like(created.data, { name: 'logtickets', color: 'b60205', description: 'Made by logtickets', default: false });
  t.is((await octokit.rest.issues.getLabel({ ...repo, name: 'LogTickets' })).data.name, 'logtickets');
  t.is((await octokit.rest.issues.createLabel({ ...repo, name: 'no colour' })).data.color, 'ededed');

  const twice = await requestError(t, octokit.rest.issues.createLabel({ ...repo, name: 'LOGTICKETS' }));
  t.is(twice.status, 422);
  t.like(body(twice), {
    message: 'Validation Failed',
    errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }],
  });
  const badColour = await requestError(t, octokit.rest.issues.createLabel({ ...repo, name: 'x', color: 'red' }));
  t.like(body(badColour), { errors: [{ resource: 'Label', code: 'invalid', field: 'color' }] });

  const missing = await requestError(t, octokit.rest.issues.getLabel({ ...repo, name: 'nope' }));
  t.is(missing.status, 404);
  t.deepEqual(
    (await octokit.rest.issues.listLabelsForRepo(repo)).data.map((l) => l.name),
    ['logtickets', 'no colour'],
  );

  const withDefaults = await standIn(t, { defaultLabels: true });
  const defaults = await bareOctokit(withDefaults).rest.issues.listLabelsForRepo(repoOf(withDefaults));
  t.is(defaults.data.length, 9);
  t.true(defaults.data.every((l) => l.default));
  t.deepEqual(github.violations, []);
  t.deepEqual(withDefaults.violations, []);
});

test('accounts by access: none sees no repository, read opens issues but its labels are dropped, write does all', async (t) => {
  const github = await standIn(t);
  const repo = repoOf(github);
  const { none, read, write } = github.accounts;
  t.is(write.token, github.token);
  t.is(new Set([none.token, read.token, write.token]).size, 3);
  for (const account of [none, read, write]) {
    const me = await bareOctokit(github, account.token).rest.users.getAuthenticated();
    t.is(me.data.login, account.login);
    t.is(me.headers['x-oauth-scopes'], 'repo');
  }

  // none: the private repository and everything in it are invisible.
  const outsider = bareOctokit(github, none.token);
  t.is((await requestError(t, outsider.rest.repos.get(repo))).status, 404);
  t.is((await requestError(t, outsider.rest.issues.listForRepo(repo))).status, 404);
  t.is((await requestError(t, outsider.rest.issues.getLabel({ ...repo, name: 'bug' }))).status, 404);

  // read: permissions say pull only.
  const reader = bareOctokit(github, read.token);
  t.deepEqual((await reader.rest.repos.get(repo)).data.permissions, {
    admin: false,
    maintain: false,
    push: false,
    triage: false,
    pull: true,
  });
  t.like((await bareOctokit(github).rest.repos.get(repo)).data.permissions, { push: true, pull: true });
  // It opens an issue; the labels and assignees it sets are dropped without a word.
  const own = await reader.rest.issues.create({
    ...repo,
    title: 'from a reader',
    labels: ['logtickets'],
    assignees: ['x'],
  });
  t.is(own.status, 201);
  t.deepEqual(own.data.labels, []);
  t.deepEqual(own.data.assignees, []);
  t.is(own.data.user?.login, read.login);
  t.deepEqual(github.labels(), [], 'no label was made');
  const renamed = await reader.rest.issues.update({
    ...repo,
    issue_number: own.data.number,
    title: 'renamed',
    labels: ['x'],
  });
  t.is(renamed.data.title, 'renamed');
  t.deepEqual(renamed.data.labels, []);
  t.is(
    (await reader.rest.issues.createComment({ ...repo, issue_number: own.data.number, body: 'me too' })).status,
    201,
  );
  // Labels, and other people's issues, need push access.
  const others = github.seedIssue({ title: "not the reader's" });
  const refused = [
    await requestError(t, reader.rest.issues.createLabel({ ...repo, name: 'logtickets' })),
    await requestError(t, reader.rest.issues.addLabels({ ...repo, issue_number: own.data.number, labels: ['x'] })),
    await requestError(t, reader.rest.issues.update({ ...repo, issue_number: others.number, state: 'closed' })),
  ];
  for (const e of refused) {
    t.is(e.status, 403);
    t.is(body(e).message, 'Must have admin rights to Repository.');
  }
  t.is(github.issues().find((i) => i.number === others.number)?.state, 'open');
  t.deepEqual(github.violations, []);
});

test("a wrong or missing token gets 401 with GitHub's body; token and bearer both work", async (t) => {
  const github = await standIn(t);
  const wrong = await requestError(t, bareOctokit(github, 'ghp_not-the-token').rest.issues.listForRepo(repoOf(github)));
  t.is(wrong.status, 401);
  t.deepEqual(body(wrong), {
    message: 'Bad credentials',
    documentation_url: 'https://docs.github.com/rest',
    status: '401',
  });
  t.is(wrong.response?.headers['x-ratelimit-limit'], '60');

  const none = await fetch(`${github.url}/repos/acme/widgets/issues`);
  t.is(none.status, 401);
  t.is(((await none.json()) as { message: string }).message, 'Requires authentication');

  for (const scheme of ['token', 'bearer', 'Bearer']) {
    const r = await fetch(`${github.url}/user`, { headers: { authorization: `${scheme} ${github.token}` } });
    t.is(r.status, 200, scheme);
  }
  t.deepEqual(github.issues(), []);
  t.deepEqual(github.violations, []);
});

test("GitHub's 422 for a 257-character title and for bodies over 65536 characters", async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);

  t.is((await octokit.rest.issues.create({ ...repo, title: 'x'.repeat(256) })).status, 201);
  const long = await requestError(t, octokit.rest.issues.create({ ...repo, title: 'x'.repeat(257) }));
  t.is(long.status, 422);
  t.deepEqual(body(long), {
    message: 'Validation Failed',
    errors: [
      { resource: 'Issue', code: 'custom', field: 'title', message: 'title is too long (maximum is 256 characters)' },
    ],
    documentation_url: 'https://docs.github.com/rest/issues/issues#create-an-issue',
    status: '422',
  });
  t.is((await octokit.rest.issues.create({ ...repo, title: 'é'.repeat(256) })).status, 201, 'characters, not bytes');

  const bigBody = await requestError(t, octokit.rest.issues.create({ ...repo, title: 'ok', body: 'b'.repeat(65537) }));
  t.like(body(bigBody), {
    errors: [{ resource: 'Issue', field: 'body', message: 'body is too long (maximum is 65536 characters)' }],
  });
  const bigEdit = await requestError(
    t,
    octokit.rest.issues.update({ ...repo, issue_number: 1, body: 'b'.repeat(65537) }),
  );
  t.is(bigEdit.status, 422);
  const bigComment = await requestError(
    t,
    octokit.rest.issues.createComment({ ...repo, issue_number: 1, body: 'c'.repeat(65537) }),
  );
  t.like(body(bigComment), {
    errors: [
      {
        resource: 'IssueComment',
        code: 'unprocessable',
        field: 'data',
        message: 'Body is too long (maximum is 65536 characters)',
      },
    ],
  });
  t.is((await octokit.rest.issues.createComment({ ...repo, issue_number: 1, body: 'c'.repeat(65536) })).status, 201);

  t.is(github.issues().length, 2);
  t.is(github.issues()[0]!.comments.length, 1);
  t.deepEqual(github.violations, []);
});

test("fault secondary-rate-limit: 403, retry-after and GitHub's message; Octokit's throttling waits it out", async (t) => {
  const github = await standIn(t);
  const repo = repoOf(github);
  github.fault({ kind: 'secondary-rate-limit', retryAfterSeconds: 7, times: 1 }, /^POST /);
  const e = await requestError(t, bareOctokit(github).rest.issues.create({ ...repo, title: 'limited' }));
  t.is(e.status, 403);
  t.is(e.response?.headers['retry-after'], '7');
  t.regex(
    body(e).message,
    /^You have exceeded a secondary rate limit\. Please wait a few minutes before you try again\./,
  );
  t.is(
    body(e).documentation_url,
    'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
  );
  t.not(e.response?.headers['x-ratelimit-remaining'], '0', 'the primary quota is not the problem');
  t.deepEqual(github.issues(), [], 'nothing was created');
  t.is((await bareOctokit(github).rest.issues.create({ ...repo, title: 'later' })).status, 201, 'times: 1, then off');

  const waits: number[] = [];
  const throttled = new Octokit({
    baseUrl: github.url,
    auth: github.token,
    log: quiet,
    retry: { enabled: false },
    throttle: {
      onSecondaryRateLimit: (after: number) => (waits.push(after), true),
      onRateLimit: () => false,
      retryAfterBaseValue: 1,
    },
  });
  github.fault({ kind: 'secondary-rate-limit', retryAfterSeconds: 3, times: 1 });
  const listed = await throttled.rest.issues.listForRepo(repo);
  t.is(listed.status, 200);
  t.deepEqual(waits, [3]);
  t.deepEqual(
    github.calls.slice(-2).map((c) => c.status),
    [403, 200],
  );
  t.deepEqual(github.violations, []);
});

test('fault rate-limit: 403 or 429 with x-ratelimit-remaining 0 and the reset time', async (t) => {
  const github = await standIn(t);
  const repo = repoOf(github);
  github.fault({ kind: 'rate-limit', resetInSeconds: 60, times: 1 });
  const e = await requestError(t, bareOctokit(github).rest.issues.listForRepo(repo));
  t.is(e.status, 403);
  const headers = e.response!.headers;
  t.is(headers['x-ratelimit-remaining'], '0');
  t.is(headers['x-ratelimit-limit'], '5000');
  t.is(headers['x-ratelimit-used'], '5000');
  t.is(headers['x-ratelimit-resource'], 'core');
  const reset = Number(headers['x-ratelimit-reset']);
  t.true(Math.abs(reset - (Date.now() / 1000 + 60)) < 3);
  t.regex(body(e).message, /^API rate limit exceeded for user ID \d+\./);

  const waits: number[] = [];
  const throttled = new Octokit({
    baseUrl: github.url,
    auth: github.token,
    log: quiet,
    retry: { enabled: false },
    throttle: { onRateLimit: (after: number) => (waits.push(after), false), onSecondaryRateLimit: () => false },
  });
  github.fault({ kind: 'rate-limit', resetInSeconds: 30, times: 1, status: 429 });
  const e429 = await requestError(t, throttled.rest.issues.listForRepo(repo));
  t.is(e429.status, 429);
  t.is(waits.length, 1);
  t.true(waits[0]! >= 29 && waits[0]! <= 32, `Octokit would wait ${waits[0]} s`);
  t.is((await bareOctokit(github).rest.issues.listForRepo(repo)).status, 200);
  t.deepEqual(github.violations, []);
});

test("fault status: 429, 500, 502 and 503 as sent, retry-after on request; Octokit's retry plugin gets through", async (t) => {
  const github = await standIn(t);
  const repo = repoOf(github);
  for (const status of [429, 500, 502, 503] as const) {
    github.fault({ kind: 'status', status, times: 1, retryAfterSeconds: 5 });
    const e = await requestError(t, bareOctokit(github).rest.issues.create({ ...repo, title: 'x' }));
    t.is(e.status, status);
    t.is(e.response?.headers['retry-after'], '5');
    t.is(body(e).status, String(status));
  }
  github.fault({ kind: 'status', status: 500, times: 1 });
  const e = await requestError(t, bareOctokit(github).rest.users.getAuthenticated());
  t.is(e.response?.headers['retry-after'], undefined);
  t.deepEqual(github.issues(), []);

  const retrying = new Octokit({
    baseUrl: github.url,
    auth: github.token,
    log: quiet,
    retry: { retryAfterBaseValue: 1 },
    throttle: { enabled: false, onRateLimit: () => false, onSecondaryRateLimit: () => false },
  });
  github.fault({ kind: 'status', status: 502, times: 2 });
  const listed = await retrying.rest.issues.listForRepo(repo);
  t.is(listed.status, 200);
  t.deepEqual(
    github.calls.slice(-3).map((c) => c.status),
    [502, 502, 200],
  );
  t.deepEqual(github.violations, []);
});

test('fault server-error-after-create: the issue is created, the answer is 502; a retry makes a duplicate', async (t) => {
  const github = await standIn(t);
  const repo = repoOf(github);
  github.fault({ kind: 'server-error-after-create', times: 1 }, /^POST \/repos\/[^/]+\/[^/]+\/issues$/);
  const e = await requestError(
    t,
    bareOctokit(github).rest.issues.create({ ...repo, title: 'made anyway', labels: ['logtickets'] }),
  );
  t.is(e.status, 502);
  t.like(body(e), { message: 'Server Error', status: '502' });
  t.like(github.issues(), [{ number: 1, title: 'made anyway', state: 'open', labels: ['logtickets'] }]);

  // A refused write does not use the fault up.
  github.fault({ kind: 'server-error-after-create', times: 1 });
  const refused = await requestError(t, bareOctokit(github).rest.issues.create({ ...repo, title: 'y'.repeat(300) }));
  t.is(refused.status, 422);
  t.is((await bareOctokit(github).rest.issues.listForRepo(repo)).status, 200, 'reads pass through');
  const comment = await requestError(
    t,
    bareOctokit(github).rest.issues.createComment({ ...repo, issue_number: 1, body: 'hello' }),
  );
  t.is(comment.status, 502);
  t.is(github.issues()[0]!.comments.length, 1, 'the comment was made');

  // Octokit's default retry plugin retries a POST on 502: that is how duplicates happen.
  const retrying = new Octokit({
    baseUrl: github.url,
    auth: github.token,
    log: quiet,
    retry: { retryAfterBaseValue: 1 },
    throttle: { enabled: false, onRateLimit: () => false, onSecondaryRateLimit: () => false },
  });
  github.fault({ kind: 'server-error-after-create', times: 1 });
  const second = await retrying.rest.issues.create({ ...repo, title: 'retried' });
  t.is(second.status, 201);
  t.deepEqual(
    github.issues().map((i) => i.title),
    ['made anyway', 'retried', 'retried'],
  );
  t.deepEqual(github.violations, []);
});

test('fault issues-disabled: 410 on the issue endpoints, has_issues false, labels still served', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  github.seedIssue({ title: 'before' });
  github.fault({ kind: 'issues-disabled' });
  for (const call of [
    () => octokit.rest.issues.listForRepo(repo),
    () => octokit.rest.issues.create({ ...repo, title: 'x' }),
    () => octokit.rest.issues.get({ ...repo, issue_number: 1 }),
    () => octokit.rest.issues.createComment({ ...repo, issue_number: 1, body: 'x' }),
  ]) {
    const e = await requestError(t, call());
    t.is(e.status, 410);
    t.is(body(e).message, 'Issues are disabled for this repo');
    t.regex(body(e).documentation_url, /^https:\/\/docs\.github\.com\/rest\/issues\//);
  }
  t.false((await octokit.rest.repos.get(repo)).data.has_issues);
  t.is((await octokit.rest.issues.listLabelsForRepo(repo)).status, 200);
  t.is(github.issues().length, 1);

  github.fault(null);
  t.true((await octokit.rest.repos.get(repo)).data.has_issues);
  t.is((await octokit.rest.issues.listForRepo(repo)).data.length, 1);
  t.deepEqual(github.violations, []);
});

test('fault slow: the answer is held back; only matching routes, only `times` times', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  // Warm up first: the first request of an operation compiles its schemas, which is slow on a busy machine.
  await octokit.rest.issues.listForRepo(repoOf(github));
  await octokit.rest.users.getAuthenticated();
  // A delay far longer than any normal answer, so the margins below hold on a loaded machine.
  github.fault({ kind: 'slow', delayMs: 2_000, times: 2 }, /^GET \/user$/);

  let started = Date.now();
  await octokit.rest.issues.listForRepo(repoOf(github));
  t.true(Date.now() - started < 1_500, 'other routes are not slowed');

  started = Date.now();
  t.is((await octokit.rest.users.getAuthenticated()).status, 200);
  t.true(Date.now() - started >= 1_990);

  await t.throwsAsync(octokit.rest.users.getAuthenticated({ request: { signal: AbortSignal.timeout(50) } }));

  await new Promise((r) => setTimeout(r, 2_000)); // let the abandoned answer go out
  started = Date.now();
  await octokit.rest.users.getAuthenticated();
  t.true(Date.now() - started < 1_500, 'times: 2, then off');
  t.deepEqual(github.violations, []);
});

test('faults are limited to their routes and counted down by `times`', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  github.fault({ kind: 'status', status: 500, times: 2 }, /^POST /);
  t.is((await octokit.rest.issues.listForRepo(repo)).status, 200);
  await requestError(t, octokit.rest.issues.create({ ...repo, title: 'a' }));
  await requestError(t, octokit.rest.issues.create({ ...repo, title: 'b' }));
  t.is((await octokit.rest.issues.create({ ...repo, title: 'c' })).status, 201);
  t.deepEqual(
    github.calls.map((c) => `${c.method} ${c.status}`),
    ['GET 200', 'POST 500', 'POST 500', 'POST 201'],
  );
  t.deepEqual(
    github.issues().map((i) => i.title),
    ['c'],
  );
  t.deepEqual(github.violations, []);
});

test('GET /rate_limit, GET /user and the headers every answer carries', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const first = await octokit.rest.repos.get(repoOf(github));
  t.is(first.data.full_name, 'acme/widgets');
  t.true(first.data.permissions?.push);
  const remaining = Number(first.headers['x-ratelimit-remaining']);
  t.is(first.headers['x-ratelimit-limit'], '5000');
  t.is(first.headers['x-ratelimit-resource'], 'core');
  t.is(Number(first.headers['x-ratelimit-used']), 5000 - remaining);

  const rate = await octokit.rest.rateLimit.get();
  t.is(rate.data.resources.core.remaining, remaining, '/rate_limit does not count');
  t.is(rate.data.rate.limit, 5000);
  const me = await octokit.rest.users.getAuthenticated();
  t.is(me.data.login, github.login);
  t.is(Number(me.headers['x-ratelimit-remaining']), remaining - 1);
  t.truthy(me.headers['x-github-request-id']);
  t.not(me.headers['x-github-request-id'], first.headers['x-github-request-id']);
  t.deepEqual(github.violations, []);
});

test('validation: a request outside the description (state=bogus) is answered 599 and recorded', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  // Octokit's types would not let these requests through; the point is to send them anyway.
  const request = octokit.request as unknown as (route: string, params: Record<string, unknown>) => Promise<unknown>;
  // Real GitHub answers an unknown enum value with 422 Validation Failed; the
  // stand-in treats it as a bug in the caller: a violation, and status 599.
  const bogus = await requestError(t, request('GET /repos/{owner}/{repo}/issues', { ...repo, state: 'bogus' }));
  t.is(bogus.status, 599);
  t.deepEqual(github.violations, [
    'request GET /repos/acme/widgets/issues?state=bogus: GET /repos/{owner}/{repo}/issues: query parameter state must be equal to one of the allowed values ("open", "closed", "all")',
  ]);
  t.deepEqual(body(bogus).violations, github.violations);
  t.is(github.calls.at(-1)!.status, 599);

  const typo = await requestError(t, request('GET /repos/{owner}/{repo}/issues', { ...repo, status: 'open' }));
  t.is(typo.status, 599);
  t.regex(github.violations.at(-1)!, /query parameter status is not in the description/);
  const noTitle = await requestError(t, request('POST /repos/{owner}/{repo}/issues', { ...repo, body: 'no title' }));
  t.is(noTitle.status, 599);
  t.regex(github.violations.at(-1)!, /request body must have required property 'title'/);
  const ignoredField = await requestError(
    t,
    request('POST /repos/{owner}/{repo}/issues', { ...repo, title: 't', state: 'closed' }),
  );
  t.is(ignoredField.status, 599);
  t.regex(
    github.violations.at(-1)!,
    /request body field state is not in the description \(GitHub silently ignores it\)/,
  );
  t.deepEqual(github.issues(), [], 'a refused request changes nothing');

  t.deepEqual(
    validateRequest({
      method: 'PATCH',
      path: '/repos/a/b/issues/1',
      query: new URLSearchParams(),
      body: { state: 'closed', state_reason: 'wontfix' },
      contentType: 'application/json',
    }),
    [
      'PATCH /repos/{owner}/{repo}/issues/{issue_number}: request body/state_reason must be equal to one of the allowed values ("completed", "not_planned", "duplicate", "reopened")',
    ],
  );
  t.deepEqual(
    validateRequest({ method: 'GET', path: '/repos/a/b/issues/abc', query: new URLSearchParams(), body: undefined }),
    ['GET /repos/{owner}/{repo}/issues/{issue_number}: path parameter issue_number must be integer'],
  );
  github.violations.length = 0;
});

test('validation: validateResponse() catches bodies and statuses the description does not allow', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  await octokit.rest.issues.create({ ...repoOf(github), title: 'real one' });
  const real = (await octokit.rest.issues.get({ ...repoOf(github), issue_number: 1 })).data as Record<string, unknown>;
  const path = '/repos/acme/widgets/issues/1';
  t.deepEqual(validateResponse('GET', path, 200, real), []);

  const problems = (patch: Record<string, unknown>, drop?: string) => {
    const broken = { ...real, ...patch };
    if (drop) delete broken[drop];
    return validateResponse('GET', path, 200, broken);
  };
  t.deepEqual(problems({ number: 'one' }), [
    'GET /repos/{owner}/{repo}/issues/{issue_number} 200: response body/number must be integer',
  ]);
  t.deepEqual(problems({}, 'node_id'), [
    "GET /repos/{owner}/{repo}/issues/{issue_number} 200: response body must have required property 'node_id'",
  ]);
  t.true(
    problems({ state_reason: 'wontfix' }).some((p) =>
      p.includes('/state_reason must be equal to one of the allowed values'),
    ),
  );
  t.true(problems({ created_at: 'yesterday' }).some((p) => p.includes('/created_at must match format "date-time"')));
  t.deepEqual(problems({ state_reason: null, body: null, closed_at: null }), [], 'nullable fields accept null');
  t.true(problems({ user: { login: 'someone' } }).some((p) => p.includes("/user must have required property 'id'")));

  t.deepEqual(validateResponse('GET', path, 418, {}), [
    'GET /repos/{owner}/{repo}/issues/{issue_number} 418: status 418 is not documented for this operation (documented: 200, 301, 304, 404, 410)',
  ]);
  t.deepEqual(validateResponse('GET', path, 304, { message: 'x' }), [
    'GET /repos/{owner}/{repo}/issues/{issue_number} 304: the description gives this status no body, but one was sent',
  ]);
  t.deepEqual(validateResponse('GET', '/repos/acme/widgets/issues', 200, { items: [] }), [
    'GET /repos/{owner}/{repo}/issues 200: response body must be array',
  ]);
  t.deepEqual(
    validateResponse('GET', '/repos/acme/widgets/issues', 503, { message: 'Service Unavailable' }),
    [],
    '5xx may come from anywhere',
  );
  t.deepEqual(validateResponse('GET', '/repos/acme/widgets/issues', 503, { message: 5 }), [
    'GET /repos/{owner}/{repo}/issues 503: error body/message must be string',
  ]);
  t.deepEqual(validateResponse('GET', '/no/such/path', 404, { message: 'Not Found' }), []);
  t.deepEqual(github.violations, []);
});

test("paths GitHub has but the stand-in lacks are violations; unknown paths are GitHub's plain 404", async (t) => {
  const github = await standIn(t);
  const auth = { authorization: `token ${github.token}` };
  const events = await fetch(`${github.url}/repos/acme/widgets/issues/1/events`, { headers: auth });
  t.is(events.status, 599);
  t.deepEqual(github.violations, [
    "request GET /repos/acme/widgets/issues/1/events: GET /repos/{owner}/{repo}/issues/{issue_number}/events (issues/list-events) is in GitHub's description but not implemented by the stand-in",
  ]);
  github.violations.length = 0;

  const unknown = await fetch(`${github.url}/no/such/thing`, { headers: auth });
  t.is(unknown.status, 404);
  t.deepEqual(await unknown.json(), {
    message: 'Not Found',
    documentation_url: 'https://docs.github.com/rest',
    status: '404',
  });
  const wrongMethod = await fetch(`${github.url}/repos/acme/widgets/issues`, { method: 'PUT', headers: auth });
  t.is(wrongMethod.status, 404);
  const otherRepoId = await fetch(`${github.url}/repositories/1/issues`, { headers: auth });
  t.is(otherRepoId.status, 404);
  t.deepEqual(github.violations, []);
});

// -- GitHub App installations ---------------------------------------------------

/** A JWT as a GitHub App makes one (RS256), with claims as given. */
function appJwt(privateKey: KeyObject, claims: Record<string, unknown>, alg = 'RS256'): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${part({ alg, typ: 'JWT' })}.${part(claims)}`;
  return `${head}.${sign('sha256', Buffer.from(head), privateKey).toString('base64url')}`;
}

async function withApp(t: ExecutionContext, over: Partial<GitHubAppRegistration> = {}) {
  const github = await standIn(t);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  github.registerApp({ appId: 4242, publicKey, installationId: 777, ...over });
  const now = Math.floor(Date.now() / 1000);
  const jwt = (claims: Record<string, unknown> = {}, key: KeyObject = privateKey) =>
    appJwt(key, { iat: now - 30, exp: now + 570, iss: 4242, ...claims });
  const tokenRequest = (bearer: string, installation = 777, body?: unknown) =>
    fetch(`${github.url}/app/installations/${installation}/access_tokens`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        accept: 'application/vnd.github+json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return { github, privateKey, publicKey, jwt, tokenRequest };
}

test("an App's JWT buys an installation token, which then acts for the installation", async (t) => {
  const { github, jwt, tokenRequest } = await withApp(t);
  const answer = await tokenRequest(jwt());
  t.is(answer.status, 201);
  t.is(answer.headers.get('x-oauth-scopes'), null, 'an App has no OAuth scopes');
  const granted = (await answer.json()) as {
    token: string;
    expires_at: string;
    permissions: object;
    repository_selection: string;
  };
  t.regex(granted.token, /^ghs_[A-Za-z0-9]{36}$/);
  t.true(Date.parse(granted.expires_at) > Date.now() + 3_500_000, 'an hour to live');
  t.deepEqual(granted.permissions, { issues: 'write', metadata: 'read' });
  t.is(granted.repository_selection, 'all');

  const octokit = bareOctokit(github, granted.token);
  const repo = await octokit.rest.repos.get(repoOf(github));
  t.is(repo.headers['x-oauth-scopes'], undefined);
  t.like(repo.data.permissions, { push: true, pull: true });
  const issue = await octokit.rest.issues.create({ ...repoOf(github), title: 'made by the app', labels: ['x'] });
  t.is(issue.data.user?.login, 'logtickets-app[bot]');
  t.is(issue.data.user?.type, 'Bot');
  t.deepEqual(github.issues()[0]!.labels, ['x']);
  // An installation is not a user.
  const me = await requestError(t, octokit.rest.users.getAuthenticated());
  t.is(me.status, 403);
  t.is(body(me).message, 'Resource not accessible by integration');
  t.like(github.installationTokens(), [{ token: granted.token, installationId: 777, expired: false, used: 3 }]);
  t.deepEqual(github.violations, []);
});

test('JWTs GitHub would refuse are refused with its messages; a token is no JWT', async (t) => {
  const { github, jwt, tokenRequest } = await withApp(t);
  const now = Math.floor(Date.now() / 1000);
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const cases: Array<[string, string]> = [
    [jwt({}, other), 'A JSON web token could not be decoded'],
    [jwt({ iss: 4243 }), 'A JSON web token could not be decoded'],
    [jwt().slice(0, -4), 'A JSON web token could not be decoded'],
    ['not.a.jwt', 'A JSON web token could not be decoded'],
    [github.token, 'A JSON web token could not be decoded'],
    [
      jwt({ iat: now - 700, exp: now - 100 }),
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    ],
    [jwt({ exp: now + 3_600 }), "'Expiration time' claim ('exp') is too far in the future"],
    [
      jwt({ iat: now + 300, exp: now + 600 }),
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    ],
  ];
  for (const [bearer, message] of cases) {
    const answer = await tokenRequest(bearer);
    t.is(answer.status, 401, message);
    t.is(((await answer.json()) as { message: string }).message, message);
  }
  // HS256 (or any other algorithm) is not accepted either.
  const hs = appJwt(
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    { iat: now, exp: now + 60, iss: 4242 },
    'HS256',
  );
  t.is((await tokenRequest(hs)).status, 401);
  // A JWT is no token for the repository.
  const asToken = await requestError(t, bareOctokit(github, jwt()).rest.repos.get(repoOf(github)));
  t.is(asToken.status, 401);
  t.is(github.installationTokens().length, 0);
  t.deepEqual(github.violations, []);
});

test('the installation must exist; a token cannot have more than the installation', async (t) => {
  const { github, jwt, tokenRequest } = await withApp(t, { issues: 'read' });
  const missing = await tokenRequest(jwt(), 778);
  t.is(missing.status, 404);
  t.is(((await missing.json()) as { message: string }).message, 'Not Found');
  t.is((await tokenRequest(jwt(), 777, { permissions: { issues: 'write' } })).status, 422);
  t.is((await tokenRequest(jwt(), 777, { permissions: { contents: 'read' } })).status, 422);
  t.is((await tokenRequest(jwt(), 777, { repositories: ['gadgets'] })).status, 422);
  const narrowed = await tokenRequest(jwt(), 777, { repositories: ['widgets'], permissions: { issues: 'read' } });
  t.is(narrowed.status, 201);
  const granted = (await narrowed.json()) as {
    token: string;
    repository_selection: string;
    repositories: Array<{ full_name: string }>;
  };
  t.is(granted.repository_selection, 'selected');
  t.deepEqual(
    granted.repositories.map((r) => r.full_name),
    ['acme/widgets'],
  );
  // Issues: read may read, not write.
  const octokit = bareOctokit(github, granted.token);
  t.like((await octokit.rest.repos.get(repoOf(github))).data.permissions, { push: false, pull: true });
  const write = await requestError(t, octokit.rest.issues.create({ ...repoOf(github), title: 'no' }));
  t.is(write.status, 403);
  t.is(body(write).message, 'Resource not accessible by integration');
  t.deepEqual(github.violations, []);
});

test('an App not installed on the repository does not see it', async (t) => {
  const { github, jwt, tokenRequest } = await withApp(t, { installedOnRepository: false });
  const { token } = (await (await tokenRequest(jwt())).json()) as { token: string };
  t.is((await requestError(t, bareOctokit(github, token).rest.repos.get(repoOf(github)))).status, 404);
  t.deepEqual(github.violations, []);
});

test('installation tokens expire: by the clock the test gives, or all at once on demand', async (t) => {
  let clock = Date.now();
  const github = await standIn(t, { now: () => clock });
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  github.registerApp({ appId: 9, publicKey, installationId: 10, tokenLifetimeMs: 60_000 });
  const buy = async () => {
    const now = Math.floor(clock / 1000);
    const answer = await fetch(`${github.url}/app/installations/10/access_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${appJwt(privateKey, { iat: now - 30, exp: now + 570, iss: 9 })}` },
    });
    t.is(answer.status, 201);
    return (await answer.json()) as { token: string; expires_at: string };
  };
  const first = await buy();
  t.is(first.expires_at, new Date(Math.floor((clock + 60_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z'));
  const read = (token: string) => bareOctokit(github, token).rest.repos.get(repoOf(github));
  t.is((await read(first.token)).status, 200);
  clock += 60_000;
  const expired = await requestError(t, read(first.token));
  t.is(expired.status, 401);
  t.is(body(expired).message, 'Bad credentials');

  const second = await buy();
  t.is((await read(second.token)).status, 200);
  t.is(github.expireInstallationTokens(), 1);
  t.is((await requestError(t, read(second.token))).status, 401);
  t.like(github.installationTokens(), [
    { token: first.token, expired: true, used: 1, refusedExpired: 1 },
    { token: second.token, expired: true, used: 1, refusedExpired: 1 },
  ]);
  t.deepEqual(github.violations, []);
});
