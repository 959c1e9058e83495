// Tests of the stand-in's faults that strike after a write, and of deleted
// issues, driven through the real `octokit` package without its retry and
// throttling plugins (every answer reaches the test as sent). Every request
// and answer is still checked against GitHub's OpenAPI description.

import test, { type ExecutionContext } from 'ava';
import { Octokit, RequestError } from 'octokit';

import { startGitHub, type GitHubStandIn } from './github-server.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function standIn(t: ExecutionContext): Promise<GitHubStandIn> {
  const github = await startGitHub();
  t.teardown(() => github.close());
  return github;
}

function bareOctokit(github: GitHubStandIn): Octokit {
  return new Octokit({
    baseUrl: github.url,
    auth: github.token,
    log: quiet,
    retry: { enabled: false },
    throttle: { enabled: false, onRateLimit: () => false, onSecondaryRateLimit: () => false },
  });
}

const repoOf = (github: GitHubStandIn) => ({ owner: github.owner, repo: github.repo });
const giveUp = (ms: number) => ({ request: { signal: AbortSignal.timeout(ms) } });

test('fault hold-answer: the write is carried out, its answer never sent; other requests answered', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  github.fault({ kind: 'hold-answer', times: 1 }, /^POST \/repos\/[^/]+\/[^/]+\/issues$/);

  // Reads and other writes pass through.
  t.is((await octokit.rest.issues.listForRepo(repo)).status, 200);
  t.is((await octokit.rest.issues.createLabel({ ...repo, name: 'logtickets' })).status, 201);
  // A refused write is answered as is, and does not use the fault up.
  const refused = await t.throwsAsync(octokit.rest.issues.create({ ...repo, title: 'y'.repeat(300) }), {
    instanceOf: RequestError,
  });
  t.is(refused.status, 422);

  // The client hears nothing and gives up; the issue was made all the same.
  const lost = await t.throwsAsync(octokit.rest.issues.create({ ...repo, title: 'made, unanswered', ...giveUp(500) }));
  t.false(lost instanceof RequestError && lost.response !== undefined, 'no answer came');
  t.like(github.issues(), [{ number: 1, title: 'made, unanswered' }]);
  const posts = github.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/issues'));
  t.deepEqual(
    posts.map((c) => [c.status, c.held]),
    [
      [422, undefined],
      [0, true],
    ],
  );

  // times: 1, then off.
  t.is((await octokit.rest.issues.create({ ...repo, title: 'answered' })).status, 201);
  t.deepEqual(github.violations, []);
});

test('fault hold-answer: only writes; the held connection is cut when the stand-in closes', async (t) => {
  const github = await startGitHub();
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= github.close());
  t.teardown(close);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  github.seedIssue({ title: 'there' });
  github.fault({ kind: 'hold-answer' });
  t.is((await octokit.rest.issues.get({ ...repo, issue_number: 1 })).status, 200, 'a read is answered');
  // No timeout: only closing the stand-in ends this request.
  const pending = octokit.rest.issues.createComment({ ...repo, issue_number: 1, body: 'said, unanswered' });
  const outcome = pending.then(
    () => 'answered',
    () => 'cut',
  );
  while (github.issues()[0]!.comments.length === 0) await new Promise((r) => setImmediate(r));
  t.is(github.calls.at(-1)!.held, true);
  await close();
  t.is(await outcome, 'cut');
  t.is(github.issues()[0]!.comments[0]!.body, 'said, unanswered');
  t.deepEqual(github.violations, []);
});

test('fault hold-answer without times holds every write; fault(null) stops it, cutHeldAnswers ends the held ones', async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  github.fault({ kind: 'hold-answer' });
  const outcomes = ['one', 'two'].map((title) =>
    octokit.rest.issues.create({ ...repo, title }).then(
      () => 'answered',
      () => 'cut',
    ),
  );
  while (github.issues().length < 2) await new Promise((r) => setImmediate(r));
  github.fault(null);
  t.is((await octokit.rest.issues.create({ ...repo, title: 'three' })).status, 201, 'answered once the fault is off');
  t.is(github.cutHeldAnswers(), 2);
  t.deepEqual(await Promise.all(outcomes), ['cut', 'cut']);
  t.is(github.cutHeldAnswers(), 0);
  t.deepEqual(
    github.issues().map((i) => i.title),
    ['one', 'two', 'three'],
  );
  t.deepEqual(github.violations, []);
});

test("a deleted issue: 410 with GitHub's message for reads and writes, gone from listings", async (t) => {
  const github = await standIn(t);
  const octokit = bareOctokit(github);
  const repo = repoOf(github);
  github.seedIssue({ title: 'to delete', labels: ['logtickets'] });
  github.seedIssue({ title: 'kept', labels: ['logtickets'] });
  github.deleteIssue(1);
  for (const call of [
    () => octokit.rest.issues.get({ ...repo, issue_number: 1 }),
    () => octokit.rest.issues.listComments({ ...repo, issue_number: 1 }),
    () => octokit.rest.issues.createComment({ ...repo, issue_number: 1, body: 'x' }),
    () => octokit.rest.issues.update({ ...repo, issue_number: 1, state: 'closed' }),
  ]) {
    const e = await t.throwsAsync(call(), { instanceOf: RequestError });
    t.is(e.status, 410);
    t.is((e.response?.data as { message?: string }).message, 'This issue was deleted');
  }
  const missing = await t.throwsAsync(octokit.rest.issues.get({ ...repo, issue_number: 9 }), {
    instanceOf: RequestError,
  });
  t.is(missing.status, 404, 'a number never given is not found');
  t.deepEqual(
    (await octokit.rest.issues.listForRepo({ ...repo, state: 'all' })).data.map((i) => i.number),
    [2],
  );
  t.deepEqual(
    github.issues().map((i) => i.number),
    [2],
  );
  t.is((await octokit.rest.issues.create({ ...repo, title: 'new' })).data.number, 3, 'numbers are not given again');
  t.deepEqual(github.violations, []);
});
