import test from 'ava';
import { TracTracker } from '../../../src/index.js';
import { trackerSuite } from '../../conformance/tracker-suite.js';
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

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  trackerSuite(
    test,
    'Trac',
    {
      async start() {
        const server = await trac();
        // Every test reaches Trac through its own proxy, which can lose, hold or refuse answers as networks do.
        const proxy = await startFaultProxy(server.url);
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
          cleanup: () => proxy.close(),
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
          async ticketsOf(hash) {
            const ids = (await tracCall(server, 'ticket.query', [`logtickets_hash=${hash}&max=0`])) as number[];
            return ids.map(String);
          },
        };
      },
    },
    true,
  );
}
