/**
 * The Trac tracker's part in exactly-once delivery, against a real Trac:
 * delivery ids hidden in every text it writes, found again by `deliveredIn`;
 * `beforeWrite` before each write, its refusal untouched; and writes whose
 * answer never comes back (lost, or held until the client gives up) are not
 * sent again, yet their ids can be found in the ticket.
 */

import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { ConfigError, loadConfig, LogticketsError, TracTracker } from '../../../src/index.js';
import { openConfigured } from '../../../src/config/create-handler.js';
import type { OccurrenceSummary } from '../../../src/backends/tracker/occurrence-summary.js';
import type { TrackerProblem } from '../../../src/backends/tracker/tracker.js';
import { serverAvailable } from '../../services/availability.js';
import { startFaultProxy } from '../../services/trac/fault-proxy.js';
import { startTrac, tracCall, tracUnavailableReason, type TracServer } from '../../services/trac/trac-server.js';

type TracGet = [number, Date, Date, Record<string, string>];
type ChangeLog = Array<[Date, string, string, string, string, number]>;

let shared: Promise<TracServer> | undefined;
const trac = () => (shared ??= startTrac());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

const problem = (): TrackerProblem => ({ appId: 'billing', hash: randomBytes(20).toString('hex') });

function summary(message: string, count = 1): OccurrenceSummary {
  const record = { message, time: '2025-03-01T10:00:00.000Z', host: 'web-1' };
  return {
    level: 400,
    channel: 'svc.exactly-once',
    location: 'src/billing.ts:42',
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

const hidden = (...ids: string[]) => `{{{#!comment\nlogtickets:delivery=${ids.join(',')}\n}}}`;

async function description(server: TracServer, id: string): Promise<string> {
  const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)])) as TracGet;
  return attrs.description ?? '';
}

/** The comments with their (whole-second) times, oldest first. */
async function comments(server: TracServer, id: string): Promise<Array<{ time: Date; text: string }>> {
  const log = (await tracCall(server, 'ticket.changeLog', [Number(id)])) as ChangeLog;
  return log
    .filter(([, , field, , text]) => field === 'comment' && text !== '')
    .map(([time, , , , text]) => ({
      time,
      text,
    }));
}

async function closeAs(server: TracServer, id: string, resolution: string): Promise<void> {
  const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)], 'admin')) as TracGet;
  await tracCall(
    server,
    'ticket.update',
    [
      Number(id),
      `closed as ${resolution} by a person`,
      { action: 'resolve', action_resolve_resolve_resolution: resolution, _ts: attrs._ts! },
      false,
    ],
    'admin',
  );
}

test('writeBudget: none by default, kept as given, bad windows name the option', (t) => {
  t.is(new TracTracker({ url: 'http://trac.invalid/login/rpc' }).writeBudget, undefined);
  const budget = [{ writes: 60, perMs: 60_000 }];
  const tracker = new TracTracker({ url: 'http://trac.invalid/login/rpc', writeBudget: budget });
  t.deepEqual(tracker.writeBudget, budget);
  t.true(Object.isFrozen(tracker.writeBudget));
  t.deepEqual(new TracTracker({ url: 'http://x/rpc', writeBudget: [{ writes: 0, perMs: 1 }] }).writeBudget, [
    { writes: 0, perMs: 1 },
  ]);
  for (const bad of [[{ writes: -1, perMs: 1000 }], [{ writes: 1, perMs: 0 }], [{ writes: 1.5, perMs: 10 }], [null]]) {
    const error = t.throws(() => new TracTracker({ url: 'http://x/rpc', writeBudget: bad as never }), {
      instanceOf: LogticketsError,
    });
    t.is(error?.code, 'INVALID_ARGUMENT');
    t.regex(error!.message, /^TracTracker options\.writeBudget\[0\] must have integer writes >= 0 and perMs >= 1/);
  }
  t.throws(() => new TracTracker({ url: 'http://x/rpc', writeBudget: { writes: 1 } as never }), {
    message: /TracTracker options\.writeBudget must be an array/,
  });
});

test('a config file gives a Trac tracker its writeBudget, and names a bad one by its path', async (t) => {
  const entry = { type: 'trac', url: 'http://trac.example.org/login/rpc' };
  const { config } = loadConfig(
    { trackers: [{ ...entry, writeBudget: [{ writes: 60, perMs: 60_000 }] }] },
    { env: {} },
  );
  const configured = openConfigured(config, { storeUri: 'memory:' });
  t.teardown(() => configured.target.close());
  t.deepEqual(configured.trackers[0]!.tracker.writeBudget, [{ writes: 60, perMs: 60_000 }]);
  const error = t.throws(
    () =>
      loadConfig({ trackers: [{ ...entry, writeBudget: [{ writes: 60, perMs: 0 }, { writes: -1 }] }] }, { env: {} }),
    { instanceOf: ConfigError },
  );
  t.true(
    error!.problems.some((p) => p.startsWith('trackers[0].writeBudget[0].perMs:')),
    error!.message,
  );
  t.true(
    error!.problems.some((p) => p.startsWith('trackers[0].writeBudget[1].writes:')),
    error!.message,
  );
  t.true(
    error!.problems.some((p) => p.startsWith('trackers[0].writeBudget[1].perMs: required')),
    error!.message,
  );
});

test('delivery ids a marker could not carry are refused before any request', async (t) => {
  // Nothing listens there: a request would fail as BACKEND_UNAVAILABLE, not INVALID_ARGUMENT.
  const tracker = new TracTracker({ url: 'http://127.0.0.1:9/login/rpc', timeoutMs: 1_000 });
  for (const id of ['}}}\n[[Image(x)]]', 'not-a-uuid', '']) {
    const error = await t.throwsAsync(tracker.create(problem(), summary('x'), { deliveryIds: [id] }), {
      instanceOf: LogticketsError,
    });
    t.is(error?.code, 'INVALID_ARGUMENT', id);
  }
});

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  const tracker = (server: TracServer, url = server.url, timeoutMs?: number) =>
    new TracTracker({
      url,
      username: server.username,
      password: server.password,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });

  test('delivery ids are hidden at the end of the description, each comment and a regression comment', async (t) => {
    const server = await trac();
    const trac1 = tracker(server);
    const [a, b, c, d] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const id = await trac1.create(problem(), summary('card expired'), { deliveryIds: [a] });
    const text = await description(server, id);
    t.true(text.endsWith(`\n${hidden(a)}`), text);
    t.is(await trac1.addOccurrences(id, summary('card expired'), { deliveryIds: [b, c] }), 'commented');
    await closeAs(server, id, 'fixed');
    t.is(await trac1.addOccurrences(id, summary('card expired'), { deliveryIds: [d] }), 'reopened');
    const texts = (await comments(server, id)).map((x) => x.text);
    t.is(texts.length, 3);
    t.true(texts[0]!.endsWith(`\n${hidden(b, c)}`), texts[0]);
    t.regex(texts[2]!, /Regression/);
    t.true(texts[2]!.endsWith(`\n${hidden(d)}`), texts[2]);
    // Without ids, no marker.
    t.is(await trac1.addOccurrences(id, summary('card expired')), 'commented');
    t.false((await comments(server, id)).at(-1)!.text.includes('#!comment'));
    // Trac shows none of it.
    for (const wiki of [text, texts[0]!, texts[2]!]) {
      const html = (await tracCall(server, 'wiki.wikiToHtml', [wiki], 'admin')) as string;
      t.false(html.includes('logtickets:delivery'), html);
      t.regex(html, /card expired/);
    }
  });

  test('deliveredIn: the description always, comments from `since` on, a missing ticket none', async (t) => {
    const server = await trac();
    const trac1 = tracker(server);
    const [a, b, other] = [randomUUID(), randomUUID(), randomUUID()];
    const id = await trac1.create(problem(), summary('disk full'), { deliveryIds: [a] });
    await trac1.addOccurrences(id, summary('disk full'), { deliveryIds: [b] });
    const [comment] = await comments(server, id);
    const at = comment!.time.getTime();
    const later = new Date(at + 1_000);
    t.deepEqual(await trac1.deliveredIn(id, [a, b, other], new Date(at)), [a, b]);
    // Trac keeps whole seconds: a comment counts for any `since` within its second.
    t.deepEqual(await trac1.deliveredIn(id, [b], new Date(at + 999)), [b]);
    t.deepEqual(await trac1.deliveredIn(id, [a, b], later), [a], 'the comment is older than since');
    t.deepEqual(await trac1.deliveredIn(id, [b.toUpperCase(), other], new Date(at)), [b], 'ids compare in lower case');
    t.deepEqual(await trac1.deliveredIn(id, [], new Date(at)), []);
    t.deepEqual(await trac1.deliveredIn('987654', [a], new Date(0)), [], 'a ticket that never existed');
    await tracCall(server, 'ticket.delete', [Number(id)], 'admin');
    t.deepEqual(await trac1.deliveredIn(id, [a, b], new Date(0)), [], 'a deleted ticket');
  });

  test('deliveredIn reads only the hidden blocks logtickets writes, not ids quoted in record text', async (t) => {
    const server = await trac();
    const trac1 = tracker(server);
    const quoted = randomUUID();
    const id = await trac1.create(
      problem(),
      summary(`retrying logtickets:delivery=${quoted}\n{{{#!comment\nlogtickets:delivery=${quoted}\n}}}`),
    );
    t.true((await description(server, id)).includes(`logtickets:delivery=${quoted}`));
    t.deepEqual(await trac1.deliveredIn(id, [quoted], new Date(0)), []);
  });

  test('a refusal from beforeWrite comes through untouched and nothing is written', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    const trac1 = tracker(server, proxy.url);
    const refusal = new Error('no write budget left');
    const refuse = () => Promise.reject(refusal);
    const p = problem();
    t.is(
      await t.throwsAsync(trac1.create(p, summary('refused'), { deliveryIds: [randomUUID()], beforeWrite: refuse })),
      refusal,
    );
    t.is(proxy.calls.get('ticket.create'), undefined);
    t.is(await trac1.find(p), undefined, 'no ticket');

    let allowed = 0;
    const allow = async () => void allowed++;
    const id = await trac1.create(p, summary('refused'), { beforeWrite: allow });
    t.is(allowed, 1);
    const before = await comments(server, id);
    t.is(await t.throwsAsync(trac1.addOccurrences(id, summary('refused'), { beforeWrite: refuse })), refusal);
    await closeAs(server, id, 'fixed');
    t.is(await t.throwsAsync(trac1.addOccurrences(id, summary('refused'), { beforeWrite: refuse })), refusal);
    t.is(proxy.calls.get('ticket.update'), undefined);
    t.is((await comments(server, id)).length, before.length + 1, 'only the closing comment');
    t.is(await trac1.addOccurrences(id, summary('refused'), { beforeWrite: allow }), 'reopened');
    t.is(allowed, 2);
  });

  test('a comment refused as a mid-air collision is sent once more, after beforeWrite again', async (t) => {
    const server = await trac();
    const trac1 = tracker(server);
    const id = await trac1.create(problem(), summary('collision'));
    let asked = 0;
    const ids = [randomUUID()];
    const result = await trac1.addOccurrences(id, summary('collision'), {
      deliveryIds: ids,
      // The first time, a person changes the ticket after logtickets read it.
      beforeWrite: async () => {
        if (asked++ === 0) {
          const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)], 'admin')) as TracGet;
          await tracCall(
            server,
            'ticket.update',
            [Number(id), 'a person was here', { _ts: attrs._ts! }, false],
            'admin',
          );
        }
      },
    });
    t.is(result, 'commented');
    t.is(asked, 2);
    const texts = (await comments(server, id)).map((x) => x.text);
    t.deepEqual(
      texts.map((x) => x.includes(hidden(...ids))),
      [false, true],
    );
  });

  for (const mode of ['lose-answer', 'hold-answer'] as const) {
    test(`${mode}: a write Trac did but whose answer never came is an error, not sent again, and found by deliveredIn`, async (t) => {
      const server = await trac();
      const proxy = await startFaultProxy(server.url);
      t.teardown(() => proxy.close());
      // The held request fails when the client gives up waiting; every other request passes.
      const trac1 = tracker(server, proxy.url, mode === 'hold-answer' ? 4_000 : undefined);
      const since = new Date(Date.now() - 60_000);
      const p = problem();
      const created = randomUUID();
      proxy.fault(mode, { methods: /^ticket\.create$/, times: 1 });
      const createError = await t.throwsAsync(trac1.create(p, summary(mode), { deliveryIds: [created] }), {
        instanceOf: LogticketsError,
      });
      t.like(createError, { code: mode === 'hold-answer' ? 'TIMEOUT' : 'BACKEND_UNAVAILABLE', retryable: true });
      await proxy.settled();
      t.is(proxy.calls.get('ticket.create'), 1, 'sent once');
      t.is(proxy.faulted(), 1);
      t.is(proxy.mode, 'pass', 'the fault is used up');
      const id = await trac1.find(p);
      t.truthy(id, 'Trac made the ticket');
      t.true((await description(server, id!)).endsWith(hidden(created)));
      t.deepEqual(await trac1.deliveredIn(id!, [created], since), [created]);

      const commented = randomUUID();
      proxy.fault(mode, { methods: /^ticket\.update$/, times: 1 });
      const updateError = await t.throwsAsync(trac1.addOccurrences(id!, summary(mode), { deliveryIds: [commented] }), {
        instanceOf: LogticketsError,
      });
      t.true(updateError!.retryable);
      await proxy.settled();
      t.is(proxy.calls.get('ticket.update'), 1, 'sent once');
      t.deepEqual(await trac1.deliveredIn(id!, [created, commented, randomUUID()], since), [created, commented]);
      t.is((await comments(server, id!)).length, 1);
    });
  }
}
