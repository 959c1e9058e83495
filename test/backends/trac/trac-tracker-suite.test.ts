import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { LogticketsError, TracTracker } from '../../../src/index.js';
import { TracTickets } from '../../../src/backends/trac/trac-tickets.js';
import { XmlRpcClient } from '../../../src/backends/trac/xmlrpc-client.js';
import type { PersonStateActions } from '../../conformance/tracker-state-cases.js';
import { trackerSuite, type TrackerSubject } from '../../conformance/tracker-suite.js';
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

/**
 * Suite tests running at once. One tracd answers them all (Python: about one
 * core), and with every test of the file at once, on a small machine, its
 * answers come later than the clients' timeouts.
 */
const SLOTS = 8;
let free = SLOTS;
const waiting: Array<() => void> = [];
async function slot(): Promise<() => void> {
  if (free > 0) free -= 1;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = waiting.shift();
    if (next === undefined) free += 1;
    else next();
  };
}

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  trackerSuite(
    test,
    'Trac',
    {
      async start(): Promise<TrackerSubject & PersonStateActions> {
        const done = await slot();
        let server: TracServer;
        let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
        try {
          server = await trac();
          // Every test reaches Trac through its own proxy, which can lose, hold or refuse answers as networks do.
          proxy = await startFaultProxy(server.url);
        } catch (error) {
          done();
          throw error;
        }
        const calls = (method: string) => proxy.calls.get(method) ?? 0;
        return {
          tracker: (options = {}) =>
            new TracTracker({
              url: proxy.url,
              username: server.username,
              password: server.password,
              ...options,
            }),
          replica: () => ({ type: 'trac', url: proxy.url, username: server.username, password: server.password }),
          loseAnswer(kind) {
            proxy.fault('lose-answer', {
              methods: kind === 'create' ? /^ticket\.create$/ : /^ticket\.update$/,
              times: 1,
            });
          },
          holdAnswers() {
            proxy.fault('hold-answer', { methods: /^ticket\.(create|update)$/ });
          },
          release() {
            proxy.mode = 'pass';
            proxy.cutHeld();
          },
          down(on) {
            proxy.mode = on ? 'refuse' : 'pass';
          },
          writes: () => calls('ticket.create') + calls('ticket.update'),
          requests: () => proxy.totalCalls(),
          async cleanup() {
            try {
              await proxy.close();
            } finally {
              done();
            }
          },
          async view(id) {
            const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)])) as TracGet;
            const log = (await tracCall(server, 'ticket.changeLog', [Number(id)])) as ChangeLog;
            return {
              state: attrs.status === 'closed' ? 'closed' : 'open',
              description: attrs.description ?? '',
              comments: log.filter(([, , field, , text]) => field === 'comment' && text !== '').map(([, , , , x]) => x),
            };
          },
          async close(id, as) {
            const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)], 'admin')) as TracGet;
            const resolution = as === 'solved' ? 'fixed' : 'wontfix';
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
          },
          async reopen(id) {
            const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)], 'admin')) as TracGet;
            await tracCall(
              server,
              'ticket.update',
              [Number(id), 'reopened by a person', { action: 'reopen', _ts: attrs._ts! }, false],
              'admin',
            );
          },
          async labelMuted(id) {
            const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)], 'admin')) as TracGet;
            const keywords = [attrs.keywords ?? '', 'muted'].join(' ').trim();
            await tracCall(
              server,
              'ticket.update',
              [Number(id), 'muted by a person', { action: 'leave', keywords, _ts: attrs._ts! }, false],
              'admin',
            );
          },
          async ticketsOf(hash) {
            const ids = (await tracCall(server, 'ticket.query', [`logtickets_hash=${hash}&max=0`])) as number[];
            return ids.map(String);
          },
        };
      },
    },
    true,
  );

  const comments = async (server: TracServer, id: string): Promise<string[]> => {
    const log = (await tracCall(server, 'ticket.changeLog', [Number(id)])) as ChangeLog;
    return log.filter(([, , field, , text]) => field === 'comment' && text !== '').map(([, , , , x]) => x);
  };
  const attrsOf = async (server: TracServer, id: string) =>
    ((await tracCall(server, 'ticket.get', [Number(id)])) as TracGet)[3];

  test('Trac: setState resolves as fixed or wontfix through the workflow; each update comments with its delivery ids', async (t) => {
    const server = await trac();
    const tracker = new TracTracker({ url: server.url, username: server.username, password: server.password });
    const hash = randomBytes(20).toString('hex');
    const id = String(
      await tracCall(server, 'ticket.create', ['state words', 'by hand', { logtickets_hash: hash }, false]),
    );
    const since = new Date(Date.now() - 2_000);
    const solved = randomUUID();
    t.is(await tracker.setState(id, 'solved', { deliveryIds: [solved] }), 'changed');
    t.like(await attrsOf(server, id), { status: 'closed', resolution: 'fixed' });
    t.regex((await comments(server, id)).at(-1)!, /^Solved in logtickets\./);
    t.deepEqual(await tracker.deliveredIn(id, [solved], since), [solved], 'the comment carries the delivery id');
    // Closed as fixed → muted: reopened, then resolved as wontfix; both updates carry the ids.
    const muted = randomUUID();
    t.is(await tracker.setState(id, 'muted', { deliveryIds: [muted] }), 'changed');
    t.like(await attrsOf(server, id), { status: 'closed', resolution: 'wontfix' });
    const [reopenedText, mutedText] = (await comments(server, id)).slice(-2);
    t.regex(reopenedText!, /^Reopened in logtickets\./);
    t.regex(mutedText!, /^Muted in logtickets: it will not be reopened\./);
    t.true(reopenedText!.includes(muted) && mutedText!.includes(muted));
    t.is(await tracker.setState(id, 'open'), 'changed');
    t.like(await attrsOf(server, id), { status: 'reopened', resolution: '' });
    // The keyword `muted` mutes an open ticket; opening it drops the keyword and keeps the others.
    const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)], 'admin')) as TracGet;
    await tracCall(
      server,
      'ticket.update',
      [Number(id), '', { action: 'leave', keywords: 'other muted', _ts: attrs._ts! }, false],
      'admin',
    );
    t.is((await tracker.readState(id))?.ticketState, 'muted');
    t.is(await tracker.setState(id, 'open'), 'changed');
    t.like(await attrsOf(server, id), { status: 'reopened', keywords: 'other' });
    t.is(await tracker.readState('987654'), undefined, 'a ticket that does not exist');
  });

  test('Trac: a ticket a person changes while its state is being set is not changed on top of that', async (t) => {
    const server = await trac();
    const tracker = new TracTracker({ url: server.url, username: server.username, password: server.password });
    const hash = randomBytes(20).toString('hex');
    const id = String(await tracCall(server, 'ticket.create', ['raced', 'by hand', { logtickets_hash: hash }, false]));
    // The person closes it as wontfix between logtickets' read and its write.
    const personCloses = async () => {
      const [, , , attrs] = (await tracCall(server, 'ticket.get', [Number(id)], 'admin')) as TracGet;
      const change = { action: 'resolve', action_resolve_resolve_resolution: 'wontfix', _ts: attrs._ts! };
      await tracCall(server, 'ticket.update', [Number(id), 'not ours to fix', change, false], 'admin');
    };
    const error = await t.throwsAsync(tracker.setState(id, 'solved', { beforeWrite: personCloses }), {
      instanceOf: LogticketsError,
    });
    t.like(error, { code: 'TRACKER_FAULT', retryable: true });
    t.regex(error!.message, /changed while its state was being set/);
    t.like(await attrsOf(server, id), { status: 'closed', resolution: 'wontfix' });
    t.is(await tracker.setState(id, 'muted'), 'unchanged', 'read again, it is muted already');
  });

  test('Trac: tickets are read a hundred per multicall; one deleted meanwhile is left out', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    const rpc = new XmlRpcClient({ url: proxy.url, username: server.username, password: server.password, name: 'x' });
    const tickets = new TracTickets({ rpc, name: 'x', warn: () => {} });
    const create = async (summary: string) =>
      (await tracCall(server, 'ticket.create', [summary, '', {}, false])) as number;
    // The deleted one is not the newest: Trac would give its number to the next ticket made.
    const [deleted, kept] = [await create('deleted'), await create('kept')];
    await tracCall(server, 'ticket.delete', [deleted], 'admin');
    const read = await tickets.getMany([kept, deleted], undefined);
    t.deepEqual(
      read.map((x) => x.id),
      [kept],
    );
    t.is(proxy.calls.get('system.multicall'), 1);
    t.is(proxy.calls.get('ticket.get'), 1, 'the failed one asked alone, to learn it is gone');
    const many = await tickets.getMany(
      Array.from({ length: 150 }, () => kept),
      undefined,
    );
    t.is(many.length, 150);
    t.is(proxy.calls.get('system.multicall'), 3, 'two more: a hundred, then fifty');
  });
}
