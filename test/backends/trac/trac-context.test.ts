/**
 * A Trac ticket shows where and after what its problem happened: release,
 * environment, the request, and the breadcrumbs as a table — all of it
 * inside preformatted blocks, checked with Trac's own wikiToHtml.
 */

import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, runInScope, TicketingHandler, TrackedStore, TracTracker } from '../../../src/index.js';
import { startTrac, tracCall, type TracServer } from '../../services/trac/trac-server.js';

let shared: Promise<TracServer> | undefined;
const trac = () => (shared ??= startTrac());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

type TracGet = [number, Date, Date, Record<string, string>];
type ChangeLog = Array<[Date, string, string, string, string, number]>;

const HOSTILE = "}}} {{{#!html <script>alert(1)</script> '''bold''' [http://evil.example x]";

test('the ticket and its comments carry release, environment, request and a breadcrumb table', async (t) => {
  const server = await trac();
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-trac-context-'));
  const tracker = new TracTracker({ url: server.url, username: server.username, password: server.password });
  const backend = new TrackedStore({
    store: `sqlite:${join(dir, 'store.db')}`,
    trackers: [tracker],
    commentIntervalMs: 0,
  });
  const handler = new TicketingHandler(backend, { onError: () => {}, release: '3.1.0', environment: 'production' });
  t.teardown(async () => {
    await handler.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const log = new Logger(`shop.${Math.random().toString(36).slice(2, 8)}`);
  const request = (id: number) => ({
    method: 'POST',
    route: '/orders/:id',
    path: `/orders/${id}`,
    status: 500,
    userId: 'u-7',
    headers: { 'user-agent': 'curl/8.5' },
  });
  const checkout = (id: number) =>
    runInScope({ request: request(id) }, () => {
      log.info('cart %d loaded with %d items', id, 3);
      log.debug(HOSTILE);
      log.error('checkout failed');
    });
  handler.run(() => checkout(41));
  await handler.flush();
  t.true(await backend.deliverPending());
  const [stored] = await backend.store.getTickets();
  const [id] = (await tracCall(server, 'ticket.query', [`logtickets_hash=${stored!.hash}&max=0`])) as number[];
  const [, , , attrs] = (await tracCall(server, 'ticket.get', [id!])) as TracGet;
  const description = attrs.description!;
  t.regex(description, /release: 3\.1\.0/);
  t.regex(description, /environment: production/);
  t.regex(description, /POST \/orders\/:id → 500\npath: \/orders\/41\nuser: u-7\nuser-agent: curl\/8\.5/);
  t.regex(description, /TIME \(UTC\) +LEVEL +CHANNEL +MESSAGE/);
  t.regex(description, /\d\d:\d\d:\d\d\.\d{3} +INFO +shop\.\w+ +cart 41 loaded with 3 items/);

  const html = (await tracCall(server, 'wiki.wikiToHtml', [description], 'admin')) as string;
  t.false(/<script/i.test(html), 'no script');
  t.false(/<strong>bold/i.test(html), 'no bold markup');
  t.false(/href="http:\/\/evil/i.test(html), 'no external link');
  // The table is text inside a preformatted block, as Trac renders it.
  const blocks = [...html.matchAll(/<pre class="wiki">([\s\S]*?)<\/pre>/g)].map((m) => m[1]!);
  const table = blocks.find((b) => b.includes('TIME (UTC)'));
  t.truthy(table, 'the breadcrumb table is in a preformatted block');
  t.regex(table!, /cart 41 loaded with 3 items/);
  t.regex(table!, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);

  handler.run(() => checkout(42));
  await handler.flush();
  t.true(await backend.deliverPending());
  const log2 = (await tracCall(server, 'ticket.changeLog', [id!])) as ChangeLog;
  const comment = log2.filter(([, , field]) => field === 'comment').at(-1)![4];
  t.regex(comment, /release: 3\.1\.0/);
  t.regex(comment, /request: POST \/orders\/:id → 500/);
  t.regex(comment, /cart 42 loaded with 3 items/);
  t.notRegex(comment, /cart 41/, 'each request has its own breadcrumbs');
  const commentHtml = (await tracCall(server, 'wiki.wikiToHtml', [comment], 'admin')) as string;
  t.false(/<script/i.test(commentHtml));
});
