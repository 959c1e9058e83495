// The GitHub tracker's part in exactly-once delivery, driven directly (no
// deliverer), against the OpenAPI-checked stand-in: the delivery ids hidden
// in every text it writes and found again by `deliveredIn`; `beforeWrite`
// awaited before each write, its refusal passed on untouched with nothing
// more written; no write ever sent twice by Octokit's plugins; and writes
// whose answer is lost (a 502 after the write, an answer that never comes)
// reported as retryable, with their ids then found in the issue.

import test, { type ExecutionContext } from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { GitHubTracker, LogticketsError, type GitHubTrackerOptions } from '../../../src/index.js';
import type { OccurrenceSummary } from '../../../src/backends/tracker/occurrence-summary.js';
import type { TrackerProblem } from '../../../src/backends/tracker/tracker.js';
import { startGitHub, type GitHubIssue, type GitHubStandIn } from '../../services/github/github-server.js';

async function setup(t: ExecutionContext, over: Partial<GitHubTrackerOptions> = {}) {
  const github = await startGitHub();
  t.teardown(() => github.close());
  const tracker = new GitHubTracker({
    owner: github.owner,
    repo: github.repo,
    auth: github.token,
    baseUrl: github.url,
    writeIntervalMs: 0,
    notifyIntervalMs: 0,
    ...over,
  });
  t.teardown(() => tracker.close());
  return { github, tracker };
}

const problem = (): TrackerProblem => ({ appId: 'shop', hash: randomBytes(20).toString('hex') });

function summary(message: string, count = 1): OccurrenceSummary {
  const record = { message, time: '2025-03-01T10:00:00.000Z', host: 'web-1' };
  return {
    level: 400,
    channel: 'shop.checkout',
    location: 'src/checkout.ts:42',
    function: 'charge',
    title: message,
    count,
    first: '2025-03-01T10:00:00.000Z',
    last: '2025-03-01T10:05:00.000Z',
    messages: [[message, count]],
    otherMessages: 0,
    firstRecord: record,
    latestRecord: record,
  };
}

const issueOf = (github: GitHubStandIn, id: string): GitHubIssue =>
  github.issues().find((i) => i.number === Number(id))!;
const writesOf = (github: GitHubStandIn) => github.calls.filter((c) => c.method !== 'GET');
const postsOf = (github: GitHubStandIn) => github.calls.filter((c) => c.method === 'POST');
/** The text outside fenced blocks (where record text lives). */
const outsideFences = (text: string) => text.split(/^(`{3,})text$[\s\S]*?^\1$/m).join('');

test('markers: the delivery ids are hidden next to the fingerprint in the body, and at the end of each comment', async (t) => {
  const { github, tracker } = await setup(t);
  const p = problem();
  const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const id = await tracker.create(p, summary('card expired'), { deliveryIds: [a, b] });
  const body = issueOf(github, id).body!;
  t.true(body.endsWith(`\n<!-- logtickets:delivery=${a},${b} -->\n<!-- logtickets:fingerprint=${p.hash} -->`));
  t.is(await tracker.addOccurrences(id, summary('card expired'), { deliveryIds: [c] }), 'commented');
  t.true(issueOf(github, id).comments.at(-1)!.body.endsWith(`\n\n<!-- logtickets:delivery=${c} -->`));
  github.closeIssue(Number(id), 'completed');
  t.is(await tracker.addOccurrences(id, summary('card expired'), { deliveryIds: [d] }), 'reopened');
  const regression = issueOf(github, id).comments.at(-1)!.body;
  t.regex(regression, /Regression/);
  t.true(regression.endsWith(`<!-- logtickets:delivery=${d} -->`));
  // Hidden: outside the fences the ids only appear inside HTML comments.
  for (const text of [body, regression]) {
    const visible = outsideFences(text).replace(/<!--[\s\S]*?-->/g, '');
    t.false(visible.includes('logtickets:delivery'), text);
  }
  // Without ids, no marker.
  const plain = await tracker.create(problem(), summary('no ids'));
  t.false(issueOf(github, plain).body!.includes('logtickets:delivery'));
  t.deepEqual(github.violations, []);
});

test('an id that could break out of its marker is refused before anything is written', async (t) => {
  const { github, tracker } = await setup(t);
  const before = writesOf(github).length;
  await t.throwsAsync(tracker.create(problem(), summary('x'), { deliveryIds: ['abc --> @admin'] }), {
    instanceOf: LogticketsError,
    code: 'INVALID_ARGUMENT',
    message: /deliveryIds/,
  });
  t.is(writesOf(github).length, before);
  t.deepEqual(github.violations, []);
});

test('deliveredIn: the body always, comments updated since, older comments not, a missing issue none', async (t) => {
  const { github, tracker } = await setup(t);
  const [a, b, c, other] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  const old = '2020-01-02T03:04:05Z';
  const seeded = github.seedIssue({
    title: 'seeded',
    labels: ['logtickets'],
    body: `text\n\n<!-- logtickets:delivery=${a} -->`,
    created_at: old,
    comments: [{ id: 0, body: `older\n\n<!-- logtickets:delivery=${b} -->`, created_at: old, user: 'logtickets-bot' }],
  });
  const id = String(seeded.number);
  const since = new Date(Date.now() - 60_000);
  t.deepEqual(await tracker.deliveredIn(id, [a, b, other], since), [a], 'the old comment does not count');
  t.deepEqual(await tracker.deliveredIn(id, [a, b], new Date(old)), [a, b], 'counted when since is before it');
  // Comments made now, many of them: the one with the id is on the second page.
  for (let i = 0; i < 120; i++) github.addComment(seeded.number, `note ${i}`);
  t.is(await tracker.addOccurrences(id, summary('again'), { deliveryIds: [c] }), 'commented');
  t.deepEqual(await tracker.deliveredIn(id, [c.toUpperCase(), other, a], since), [c.toUpperCase(), a]);
  t.deepEqual(await tracker.deliveredIn(id, [], since), []);
  // A missing issue, a deleted one: nothing delivered there.
  t.deepEqual(await tracker.deliveredIn('999', [a], since), []);
  github.deleteIssue(seeded.number);
  t.deepEqual(await tracker.deliveredIn(id, [a, c], since), []);
  await t.throwsAsync(tracker.deliveredIn(id, [a], new Date('nope')), { code: 'INVALID_ARGUMENT' });
  const listed = github.calls.filter((call) => /\/comments\?/.test(call.path));
  t.true(listed.some((call) => /[?&]since=/.test(call.path) && /[?&]per_page=100/.test(call.path)));
  t.true(
    listed.some((call) => /[?&]page=2/.test(call.path)),
    'the comments were paginated',
  );
  t.is(writesOf(github).filter((w) => w.path.includes('/comments')).length, 1, 'deliveredIn only reads');
  t.deepEqual(github.violations, []);
});

test('beforeWrite: awaited before each write (labels, issue, reopen, comment)', async (t) => {
  const { github, tracker } = await setup(t);
  let allowed = 0;
  const beforeWrite = async () => {
    allowed++;
  };
  const id = await tracker.create(problem(), summary('counted'), { beforeWrite });
  t.is(allowed, 3, 'two labels and the issue');
  t.is(writesOf(github).length, 3);
  github.closeIssue(Number(id), 'completed');
  t.is(await tracker.addOccurrences(id, summary('counted'), { beforeWrite }), 'reopened');
  t.is(allowed, 5, 'the reopen and its comment');
  t.is(writesOf(github).length, 5);
  t.deepEqual(github.violations, []);
});

test('beforeWrite refuses: its rejection comes through as it is, and nothing is written', async (t) => {
  const { github, tracker } = await setup(t);
  const refusal = new Error('no room in the write budget');
  const refuse = () => Promise.reject(refusal);
  // The first write of a new repository is a label.
  const error = await t.throwsAsync(tracker.create(problem(), summary('refused'), { beforeWrite: refuse }));
  t.is(error, refusal);
  t.deepEqual(postsOf(github), []);
  t.deepEqual(github.issues(), []);
  // Allowed later: the labels are made then, and the issue.
  const p = problem();
  const id = await tracker.create(p, summary('refused'), { beforeWrite: async () => undefined });
  t.deepEqual(
    github.labels().map((l) => l.name),
    ['logtickets', 'regression'],
  );
  // Refused after the first write of a call: the reopen is made, the comment is not.
  github.closeIssue(Number(id), 'completed');
  let writes = 0;
  const once = async () => {
    if (++writes > 1) throw refusal;
  };
  const second = await t.throwsAsync(tracker.addOccurrences(id, summary('refused'), { beforeWrite: once }));
  t.is(second, refusal);
  t.is(github.calls.filter((c) => c.method === 'PATCH').length, 1);
  t.like(issueOf(github, id), { state: 'open', comments: [] });
  // The issue is found again: nothing stale was kept from before the create.
  t.is(await tracker.find(p), id);
  t.deepEqual(github.violations, []);
});

test('no request is sent twice by Octokit: a POST answered 502 is one POST; a failed read is left to the fleet backoff', async (t) => {
  const { github, tracker } = await setup(t);
  const id = await tracker.create(problem(), summary('labels made'));
  for (const write of [
    () => tracker.addOccurrences(id, summary('again')),
    () => tracker.create(problem(), summary('another')),
  ]) {
    const before = postsOf(github).length;
    github.fault({ kind: 'status', status: 502, times: 1 }, /POST/);
    const error = await t.throwsAsync(write(), { instanceOf: LogticketsError, message: /HTTP 502/ });
    t.like(error, { code: 'BACKEND_UNAVAILABLE', retryable: true, status: 502 });
    t.is(postsOf(github).length - before, 1, 'exactly one POST');
  }
  t.is(github.issues().length, 1);
  t.deepEqual(issueOf(github, id).comments, []);
  // A read answered 502 is one read and a retryable error: the deliverer pauses the tracker with backoff
  // for the whole fleet, rather than this process sending it again after waits no shutdown could cut.
  const gets = () => github.calls.filter((c) => c.method === 'GET' && /\/issues\/\d+$/.test(c.path)).length;
  const readsBefore = gets();
  github.fault({ kind: 'status', status: 502, times: 1 }, /^GET .*\/issues\/\d+$/);
  const read = await t.throwsAsync(tracker.addOccurrences(id, summary('z')));
  t.like(read, { code: 'BACKEND_UNAVAILABLE', retryable: true });
  t.is(gets() - readsBefore, 1);
  t.is(await tracker.addOccurrences(id, summary('z')), 'commented');
  t.deepEqual(github.violations, []);
});

test('a create answered 502 after it was carried out: retryable, the issue is found, deliveredIn sees its id', async (t) => {
  const { github, tracker } = await setup(t);
  await tracker.create(problem(), summary('labels made'));
  const p = problem();
  // A listing made before the create must not hide the issue afterwards.
  t.is(await tracker.find(p), undefined);
  const since = new Date();
  const delivery = randomUUID();
  github.fault({ kind: 'server-error-after-create', times: 1 }, /^POST \/repos\/[^/]+\/[^/]+\/issues$/);
  const error = await t.throwsAsync(tracker.create(p, summary('made anyway'), { deliveryIds: [delivery] }));
  t.like(error, { code: 'BACKEND_UNAVAILABLE', retryable: true, status: 502 });
  t.is(postsOf(github).filter((c) => /\/issues$/.test(c.path)).length, 2, 'one POST per create');
  const id = await tracker.find(p);
  t.is(id, String(github.issues().at(-1)!.number));
  t.deepEqual(await tracker.deliveredIn(id!, [delivery], since), [delivery]);
  t.deepEqual(github.violations, []);
});

test('hold-answer: a write carried out whose answer never comes is a retryable TIMEOUT; its id is found', async (t) => {
  const { github, tracker } = await setup(t, { timeoutMs: 1_000 });
  const p = problem();
  const id = await tracker.create(p, summary('first'), { deliveryIds: [randomUUID()] });
  const since = new Date();
  const [comment, created] = [randomUUID(), randomUUID()];
  github.fault({ kind: 'hold-answer', times: 1 }, /^POST .*\/comments$/);
  const error = await t.throwsAsync(tracker.addOccurrences(id, summary('again'), { deliveryIds: [comment] }));
  t.like(error, { code: 'TIMEOUT', retryable: true });
  const held = github.calls.filter((c) => c.held === true);
  t.is(held.length, 1);
  t.is(postsOf(github).filter((c) => c.path.endsWith('/comments')).length, 1, 'not sent again');
  t.deepEqual(await tracker.deliveredIn(id, [comment], since), [comment]);
  // The same for a create: the issue exists, and is found with its id.
  const q = problem();
  github.fault({ kind: 'hold-answer', times: 1 }, /^POST .*\/issues$/);
  await t.throwsAsync(tracker.create(q, summary('held'), { deliveryIds: [created] }), { code: 'TIMEOUT' });
  const found = await tracker.find(q);
  t.truthy(found);
  t.deepEqual(await tracker.deliveredIn(found!, [created], since), [created]);
  t.deepEqual(github.violations, []);
});
