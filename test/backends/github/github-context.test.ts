/**
 * A GitHub issue shows where and after what its problem happened: release,
 * environment, the request, and the breadcrumbs as a table inside a fence,
 * where no record text can mention, link or format anything.
 */

import test from 'ava';
import { Logger, runInScope, TicketingHandler, TrackedStore, GitHubTracker } from '../../../src/index.js';
import { startGitHub } from '../../services/github/github-server.js';

const HOSTILE = '@octocat see #12 ``` </code> <img src=x onerror=alert(1)> **bold** [x](http://evil.example)';

/** The text of each ```text fence of a body, and what is outside them. */
function fences(body: string): { inside: string[]; outside: string } {
  const inside: string[] = [];
  const outside = body.replace(/^(`{3,})text\n([\s\S]*?)\n\1$/gm, (_all, _fence, content: string) => {
    inside.push(content);
    return '';
  });
  return { inside, outside };
}

test('the issue and its comments carry release, environment, request and a breadcrumb table in fences', async (t) => {
  const github = await startGitHub();
  const tracker = new GitHubTracker({
    owner: github.owner,
    repo: github.repo,
    auth: github.token,
    baseUrl: github.url,
    writeIntervalMs: 0,
    notifyIntervalMs: 0,
  });
  const backend = new TrackedStore({ store: 'memory:', trackers: [tracker], commentIntervalMs: 0 });
  const handler = new TicketingHandler(backend, { onError: () => {}, release: 'v2.4.0', environment: 'staging' });
  t.teardown(async () => {
    await handler.close();
    await backend.close();
    await github.close();
  });
  const log = new Logger('shop.api');
  const checkout = (id: number) =>
    runInScope(
      {
        request: { method: 'GET', route: '/carts/:id', path: `/carts/${id}`, status: 503, userId: null, headers: {} },
      },
      () => {
        log.info('cart %d opened', id);
        log.debug(HOSTILE);
        log.error('cart service unavailable');
      },
    );
  handler.run(() => checkout(1));
  await handler.flush();
  t.true(await backend.deliverPending());
  const [issue] = github.issues().filter((i) => i.labels.includes('logtickets'));
  const body = fences(issue!.body!);
  for (const bad of ['@octocat', '#12', '<img', 'evil.example', '**bold**'])
    t.false(body.outside.includes(bad), `${bad} outside a fence`);
  const table = body.inside.find((text) => text.startsWith('TIME (UTC)'));
  t.truthy(table, 'the breadcrumb table is a fence of its own');
  t.regex(table!, /INFO +shop\.api +cart 1 opened/);
  t.true(table!.includes('@octocat see #12'), 'record text kept literally inside the fence');
  const context = body.inside.find((text) => text.includes('fingerprint:'))!;
  t.regex(context, /release: v2\.4\.0\nenvironment: staging/);
  t.true(body.inside.some((text) => text.startsWith('GET /carts/:id → 503\npath: /carts/1')));

  handler.run(() => checkout(2));
  await handler.flush();
  t.true(await backend.deliverPending());
  const [again] = github.issues().filter((i) => i.labels.includes('logtickets'));
  const comment = fences(again!.comments.at(-1)!.body);
  t.false(comment.outside.includes('@octocat'));
  t.regex(comment.inside.join('\n'), /cart 2 opened/);
  t.notRegex(comment.inside.join('\n'), /cart 1 opened/);
  t.deepEqual(github.violations, []);
});
