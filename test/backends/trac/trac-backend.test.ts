import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Logger,
  LogticketsError,
  SqlBackend,
  TicketingHandler,
  TrackedStore,
  TracTracker,
  type TrackedStoreOptions,
  type TracTrackerOptions,
} from '../../../src/index.js';
import { serverAvailable } from '../../services/availability.js';
import { startFaultProxy } from '../../services/trac/fault-proxy.js';
import { startTrac, tracCall, tracUnavailableReason, type TracServer } from '../../services/trac/trac-server.js';

const exec = promisify(execFile);
const tracProcess = fileURLToPath(new URL('../../fixtures/trac-process.ts', import.meta.url));

let shared: Promise<TracServer> | undefined;
const trac = () => (shared ??= startTrac());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

type TracGet = [number, Date, Date, Record<string, string>];
type ChangeLog = Array<[Date, string, string, string, string, number]>;

function storeDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-trac-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'store.db')}`;
}

/** A store with a Trac tracker and a handler for one test, each with a logger of its own (so tickets do not mix). */
function setup(
  t: { teardown(fn: () => Promise<unknown> | void): void },
  server: TracServer,
  over: Partial<TracTrackerOptions> = {},
  delivery: Partial<TrackedStoreOptions> = {},
) {
  const errors: LogticketsError[] = [];
  const tracker = new TracTracker({ url: server.url, username: server.username, password: server.password, ...over });
  const backend = new TrackedStore({
    store: storeDir(t),
    trackers: [tracker],
    commentIntervalMs: 0,
    onError: (e) => errors.push(e),
    retry: { initialMs: 50, maxMs: 200 },
    ...delivery,
  });
  const handler = new TicketingHandler(backend, { onError: () => {} });
  t.teardown(async () => {
    await handler.close();
    await backend.close();
  });
  const channel = `svc.${Math.random().toString(36).slice(2, 8)}`;
  return { backend, tracker, handler, errors, log: new Logger(channel), channel };
}

async function ticketsOf(server: TracServer, hash: string): Promise<number[]> {
  return (await tracCall(server, 'ticket.query', [`logtickets_hash=${hash}&max=0`])) as number[];
}

async function comments(server: TracServer, id: number): Promise<string[]> {
  const log = (await tracCall(server, 'ticket.changeLog', [id])) as ChangeLog;
  return log.filter(([, , field, , text]) => field === 'comment' && text !== '').map(([, , , , text]) => text);
}

async function closeAs(server: TracServer, id: number, resolution: string): Promise<void> {
  const [, , , attrs] = (await tracCall(server, 'ticket.get', [id], 'admin')) as TracGet;
  await tracCall(
    server,
    'ticket.update',
    [
      id,
      `closed as ${resolution} by a human`,
      { action: 'resolve', action_resolve_resolve_resolution: resolution, _ts: attrs._ts! },
      false,
    ],
    'admin',
  );
}

test('bad options are clear errors at construction', (t) => {
  t.throws(() => new TracTracker({} as never), { instanceOf: LogticketsError, message: /options\.url is required/ });
  t.throws(() => new TracTracker({ url: 'http://x/rpc', hashfield: 'h' } as never), {
    message: /options\.hashfield is not an option/,
  });
  t.throws(() => new TracTracker({ url: 'http://x/rpc', store: 'sqlite::memory:' } as never), {
    message: /options\.store is not an option/,
  });
  t.throws(() => new TracTracker({ url: 'http://x/rpc', hashField: 'bad field' }), { message: /hashField/ });
  const tracker = new TracTracker({ url: 'http://x/rpc' });
  t.throws(() => new TrackedStore({ store: 'mysql://x', trackers: [tracker] }), {
    message: /options\.store: no backend for mysql/,
  });
  const store = 'sqlite::memory:';
  const backend = new TrackedStore({ store, trackers: [tracker] });
  t.throws(() => new TicketingHandler([store, backend]), { message: /already counts occurrences in sqlite::memory:/ });
});

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  test('the first occurrence opens one Trac ticket; later ones add comments', async (t) => {
    const server = await trac();
    const { backend, handler, log, channel } = setup(t, server);
    function charge(order: number) {
      log.error({ extra: { order }, error: new TypeError('card expired') }, 'payment for order %d failed', order);
    }
    handler.run(() => charge(1));
    t.true(await handler.flush());
    t.true(await backend.deliverPending());
    const [stored] = await backend.store.getTickets();
    const ids = await ticketsOf(server, stored!.hash);
    t.is(ids.length, 1);
    const [, , , attrs] = (await tracCall(server, 'ticket.get', [ids[0]!])) as TracGet;
    t.regex(
      attrs.summary!,
      new RegExp(
        `^\\[ERROR\\] ${channel.replace('.', '\\.')}: payment for order 1 failed: card expired \\(test/backends/trac/trac-backend\\.test\\.ts:\\d+\\)$`,
      ),
    );
    t.is(attrs.logtickets_hash, stored!.hash);
    t.regex(attrs.description!, /TypeError: card expired/);
    t.regex(attrs.description!, /"order": 1/);
    t.regex(attrs.description!, /fingerprint: [0-9a-f]{40}/);

    handler.run(() => charge(2));
    await handler.flush();
    await backend.deliverPending();
    handler.run(() => charge(3));
    await handler.flush();
    await backend.deliverPending();
    t.deepEqual(await ticketsOf(server, stored!.hash), ids, 'still one ticket');
    const texts = await comments(server, ids[0]!);
    t.is(texts.length, 2);
    t.regex(texts[0]!, /Occurred again/);
    t.regex(texts[1]!, /payment for order 3 failed/);
    t.is((await backend.store.getTickets())[0]!.occurrenceCount, 3);
  });

  test('a burst inside the comment window becomes one digest comment', async (t) => {
    const server = await trac();
    // A window no burst outlasts, however loaded the machine; the digest it holds is then sent at once.
    const { backend, handler, log } = setup(t, server, {}, { commentIntervalMs: 600_000 });
    const call = (i: number) => log.warn('queue %d is slow', i % 3);
    handler.run(() => call(0));
    await handler.flush();
    await backend.deliverPending();
    for (let round = 1; round <= 4; round++) {
      handler.run(() => {
        for (let i = 0; i < 10; i++) call(round * 10 + i);
      });
      await handler.flush();
    }
    t.false(await backend.deliverPending({ timeoutMs: 500 }), 'held by the comment window');
    t.true(await backend.deliverPending({ timeoutMs: 10_000, deliverHeld: true }));
    const [stored] = await backend.store.getTickets();
    const [id] = await ticketsOf(server, stored!.hash);
    const texts = await comments(server, id!);
    t.is(texts.length, 1, 'one digest instead of four comments');
    t.regex(texts[0]!, /40 more occurrences/);
    t.regex(texts[0]!, /queue 0 is slow/);
    t.is(stored!.occurrenceCount, 41);
  });

  test('a ticket closed as fixed is reopened as a regression; wontfix stays closed', async (t) => {
    const server = await trac();
    const { backend, handler, log } = setup(t, server);
    const fixedCall = () => log.error('fixed problem');
    const mutedCall = () => log.error('muted problem');
    handler.run(() => (fixedCall(), mutedCall()));
    await handler.flush();
    await backend.deliverPending();
    const tickets = await backend.store.getTickets();
    const idOf = async (title: string) => (await ticketsOf(server, tickets.find((x) => x.title === title)!.hash))[0]!;
    const [fixed, muted] = [await idOf('fixed problem'), await idOf('muted problem')];
    await closeAs(server, fixed, 'fixed');
    await closeAs(server, muted, 'wontfix');
    handler.run(() => (fixedCall(), mutedCall()));
    await handler.flush();
    t.true(await backend.deliverPending());
    const [, , , fixedAttrs] = (await tracCall(server, 'ticket.get', [fixed])) as TracGet;
    t.is(fixedAttrs.status, 'reopened');
    t.regex((await comments(server, fixed)).at(-1)!, /Regression/);
    const [, , , mutedAttrs] = (await tracCall(server, 'ticket.get', [muted])) as TracGet;
    t.like(mutedAttrs, { status: 'closed', resolution: 'wontfix' });
    t.is((await comments(server, muted)).length, 1, 'only the human closing comment');
  });

  test('record text cannot inject wiki markup, macros, links or leave its block', async (t) => {
    const server = await trac();
    const { backend, handler, log } = setup(t, server);
    const hostile =
      "}}}\n'''bold''' [[Image(http://evil.example/x.png)]] [http://evil.example click] #1 wiki:WikiStart\n{{{#!html\n<script>alert(1)</script>\n}}}\n#!html\n<b>x</b>";
    handler.run(() => log.error({ extra: { note: hostile } }, 'hostile %s', hostile));
    await handler.flush();
    await backend.deliverPending();
    const [stored] = await backend.store.getTickets();
    const [id] = await ticketsOf(server, stored!.hash);
    const [, , , attrs] = (await tracCall(server, 'ticket.get', [id!])) as TracGet;
    const html = (await tracCall(server, 'wiki.wikiToHtml', [attrs.description!], 'admin')) as string;
    t.false(/<script/i.test(html), 'no script');
    t.false(/<img/i.test(html), 'no image macro');
    t.false(/href="http:\/\/evil/i.test(html), 'no external link');
    t.false(/<strong>bold/i.test(html), 'no bold markup');
    t.false(/<b>x<\/b>/.test(html), 'no raw HTML');
    t.regex(html, /<pre class="wiki">/);
    t.false(/[\u0000-\u0008\u001b]/.test(attrs.summary!));
  });

  test('Trac refusing, answering 500, or losing the answer to a create: delivered once after recovery', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    const { backend, handler, log, errors } = setup(t, server, { url: proxy.url });
    proxy.mode = 'refuse';
    const started = process.hrtime.bigint();
    handler.run(() => {
      for (let i = 0; i < 20; i++) log.error('during the outage %d', i);
    });
    t.true(Number(process.hrtime.bigint() - started) / 1e6 < 500, 'the application was not held up');
    t.true(await handler.flush(), 'counted in the store while Trac is down');
    t.false(await backend.deliverPending({ timeoutMs: 500 }));
    t.true(errors.some((e) => e.code === 'BACKEND_UNAVAILABLE' && e.retryable));
    t.true((await backend.store.countOutbox()) > 0, 'deliveries wait in the outbox');

    proxy.mode = { status: 500 };
    t.false(await backend.deliverPending({ timeoutMs: 500 }));
    proxy.mode = 'lose-answer'; // the create reaches Trac, its answer does not come back
    await backend.deliverPending({ timeoutMs: 3_000 });
    proxy.mode = 'pass';
    t.true(await backend.deliverPending({ timeoutMs: 20_000 }), errors.map((e) => `${e.code} ${e.message}`).join('\n'));
    const [stored] = await backend.store.getTickets();
    t.is((await ticketsOf(server, stored!.hash)).length, 1, 'no duplicate ticket');
    t.is(stored!.occurrenceCount, 20);
  });

  // Serial: it captures stderr, which a test running beside it would share.
  test.serial('a wrong password is reported clearly once, not per record', async (t) => {
    const server = await trac();
    const lines: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    const backend = new TrackedStore({
      store: storeDir(t),
      trackers: [new TracTracker({ url: server.url, username: server.username, password: 'wrong' })],
      retry: { initialMs: 10, maxMs: 20 },
    });
    const handler = new TicketingHandler(backend);
    try {
      handler.run(() => {
        for (let i = 0; i < 30; i++) new Logger('svc.auth').error('problem %d', i % 5);
      });
      await handler.flush();
      await backend.deliverPending({ timeoutMs: 1_000 });
      await backend.deliverPending({ timeoutMs: 500 });
    } finally {
      process.stderr.write = original;
      await handler.close();
      await backend.close();
    }
    const ours = lines.filter((l) => l.includes('AUTH_FAILED'));
    t.is(ours.length, 1, lines.join(''));
    t.regex(ours[0]!, /refused the credentials of logtickets-bot \(HTTP 401\): check username and password/);
    t.false(ours[0]!.includes('wrong'));
  });

  test('several processes hitting a new problem at once make one Trac ticket', async (t) => {
    const server = await trac();
    const store = storeDir(t);
    const args = [
      JSON.stringify({ url: server.url, username: server.username, password: server.password, store, count: 20 }),
    ];
    await Promise.all(
      [1, 2, 3].map(() => exec(process.execPath, ['--import', 'tsx', tracProcess, ...args], { timeout: 120_000 })),
    );
    const backend = new SqlBackend(store);
    t.teardown(() => backend.close());
    const [stored] = await backend.getTickets();
    t.is(stored!.occurrenceCount, 60);
    t.is((await ticketsOf(server, stored!.hash)).length, 1);
    t.is(await backend.countOutbox(), 0, 'everything delivered');
  });

  test('reads come from the store: a ticket carries its Trac link; a change in Trac is listed by changedSince', async (t) => {
    const server = await trac();
    const { backend, tracker, handler, log } = setup(t, server);
    const call = () => log.critical('read side');
    handler.run(call);
    await handler.flush();
    await backend.deliverPending();
    handler.run(call);
    await handler.flush();
    await backend.deliverPending();
    const [stored] = await backend.getTickets({ filter: { channel: log.name } });
    const [id] = await ticketsOf(server, stored!.hash);
    t.like(await backend.getTicket(stored!.id), { hash: stored!.hash, level: 15, occurrenceCount: 2, solved: false });
    t.like(await backend.links(stored!), [
      { tracker: tracker.name, externalId: String(id), url: tracker.ticketUrl(String(id)), state: 'open' },
    ]);
    const before = new Date(Date.now() - 1_000);
    await closeAs(server, id!, 'fixed');
    const changes = await tracker.changedSince(before);
    const change = changes.find((c) => c.externalId === String(id));
    t.like(change, { state: 'closed', resolution: 'fixed', ticketState: 'solved', stateAt: change?.updatedAt });
    t.false(changes.some((c) => c.state === 'closed' && c.resolution === null));
  });

  test.serial('without the custom field, the keywords field carries the fingerprint (with one warning)', async (t) => {
    const server = await startTrac({ withoutCustomField: true });
    t.teardown(() => server.stop());
    const { backend, handler, log, errors } = setup(t, server);
    const lines: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      for (const n of [1, 2]) {
        handler.run(() => log.error('no custom field %d', n));
        await handler.flush();
        await backend.deliverPending();
      }
    } finally {
      process.stderr.write = original;
    }
    const [stored] = await backend.store.getTickets();
    const ids = (await tracCall(server, 'ticket.query', [`keywords=~logtickets:${stored!.hash}&max=0`])) as number[];
    t.is(ids.length, 1);
    t.is((await comments(server, ids[0]!)).length, 1);
    t.is(lines.filter((l) => l.includes('has no custom field')).length, 1);
    t.deepEqual(errors, []);
  });
}
