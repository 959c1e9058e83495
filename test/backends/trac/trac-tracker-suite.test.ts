import test from 'ava';
import { TracTracker } from '../../../src/index.js';
import { trackerSuite } from '../../conformance/tracker-suite.js';
import { serverAvailable } from '../../services/availability.js';
import { startTrac, tracCall, tracUnavailableReason, type TracServer } from '../../services/trac/trac-server.js';

type TracGet = [number, Date, Date, Record<string, string>];
type ChangeLog = Array<[Date, string, string, string, string, number]>;

let shared: Promise<TracServer> | undefined;
const trac = () => (shared ??= startTrac());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  trackerSuite(test, 'Trac', {
    async start() {
      const server = await trac();
      return {
        tracker: () => new TracTracker({ url: server.url, username: server.username, password: server.password }),
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
  });
}
