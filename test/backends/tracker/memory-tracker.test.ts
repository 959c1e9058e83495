import test from 'ava';
import {
  Logger,
  LogticketsError,
  MemoryBackend,
  MemoryTracker,
  TicketingHandler,
  TrackedStore,
} from '../../../src/index.js';
import type { PersonStateActions } from '../../conformance/tracker-state-cases.js';
import { trackerSuite, type TrackerSubject } from '../../conformance/tracker-suite.js';

trackerSuite(test, 'memory', {
  async start(): Promise<TrackerSubject & PersonStateActions> {
    const tracker = new MemoryTracker();
    return {
      // One tracker object: its tickets are the tracker's state, which every "process" shares.
      tracker: () => tracker,
      async view(id) {
        const ticket = tracker.get(id);
        if (ticket === undefined) throw new Error(`no ticket ${id}`);
        return { state: ticket.state, description: ticket.description, comments: [...ticket.comments] };
      },
      async close(id, as) {
        tracker.resolve(id, as === 'solved' ? 'fixed' : 'wontfix');
      },
      async reopen(id) {
        tracker.reopen(id);
      },
      async labelMuted(id) {
        tracker.label(id, [...tracker.get(id)!.labels, 'muted']);
      },
      async ticketsOf(hash) {
        return tracker
          .list()
          .filter((x) => x.hash === hash)
          .map((x) => x.id);
      },
      loseAnswer: (kind) => tracker.loseAnswer(kind),
      holdAnswers: () => tracker.holdAnswers(),
      release: () => tracker.release(),
      down: (on) => tracker.down(on),
      writes: () => tracker.calls.writes,
      requests: () => {
        const c = tracker.calls;
        return (
          c.find + c.create + c.addOccurrences + c.deliveredIn + c.changedSince + c.readState + c.setState + c.refused
        );
      },
    };
  },
});

test('bad options are clear errors; a ticket deleted in the tracker is made again', async (t) => {
  t.throws(() => new MemoryTracker({ nmae: 'x' } as never), {
    instanceOf: LogticketsError,
    message: /options\.nmae is not an option/,
  });
  t.throws(() => new TrackedStore({ store: 'memory:', trackers: [{} as never] }), { message: /must be a Tracker/ });
  const tracker = new MemoryTracker({ name: 'memory:test' });
  const backend = new TrackedStore({ store: 'memory:', trackers: [tracker], commentIntervalMs: 0 });
  t.teardown(() => backend.close());
  const record = {
    appId: 'app',
    hash: 'b'.repeat(40),
    level: 40,
    channel: 'svc',
    location: 'a.ts:1',
    function: null,
    title: 'gone soon',
    time: new Date().toISOString(),
    data: { message: 'gone soon' },
  };
  await backend.open();
  await backend.recordBatch([record]);
  t.true(await backend.deliverPending());
  const [first] = tracker.list();
  tracker.delete(first!.id);
  await backend.recordBatch([record]);
  t.true(await backend.deliverPending());
  const [second] = tracker.list();
  t.not(second!.id, first!.id);
  t.is(second!.hash, record.hash);
  const [stored] = await backend.getTickets();
  // Where the link points (a link may carry more, such as the ticket's state there).
  const links = (await backend.links(stored!)).map((l) => ({
    tracker: l.tracker,
    externalId: l.externalId,
    url: l.url,
  }));
  t.deepEqual(links, [{ tracker: 'memory:test', externalId: second!.id, url: tracker.ticketUrl(second!.id) }]);
  t.deepEqual(backend.deliveryCounts('memory:test').failed, 0);
});

test('one store, two trackers: each occurrence counted once, delivered to both; the store listed again is refused', async (t) => {
  const a = new MemoryTracker({ name: 'memory:a' });
  const b = new MemoryTracker({ name: 'memory:b' });
  const store = new MemoryBackend();
  const backend = new TrackedStore({
    store,
    trackers: [a, { tracker: b, commentIntervalMs: 0 }],
    commentIntervalMs: 0,
  });
  t.teardown(async () => {
    await backend.close();
    await store.close();
  });
  t.throws(() => new TicketingHandler([store, backend]), { message: /already counts occurrences in/ });
  const other = new TrackedStore({ store, trackers: [new MemoryTracker({ name: 'memory:c' })] });
  t.throws(() => new TicketingHandler([backend, other]), { message: /already counts occurrences in/ });
  await other.close();
  const handler = new TicketingHandler(backend, { onError: () => {} });
  t.teardown(() => handler.close());
  const log = new Logger('svc.two-trackers');
  handler.run(() => {
    for (let i = 0; i < 3; i++) log.error('shared problem %d', i);
  });
  t.true(await handler.flush());
  t.true(await backend.deliverPending());
  const [stored] = await backend.getTickets();
  t.is(stored!.occurrenceCount, 3);
  t.is(a.list().length, 1);
  t.is(b.list().length, 1);
  t.deepEqual(
    (await backend.links(stored!)).map((l) => l.tracker),
    ['memory:a', 'memory:b'],
  );
  t.like(backend.deliveryCounts(), { failed: 0 });
  t.throws(() => backend.deliveryCounts('memory:nope'), { message: /no tracker named memory:nope/ });
});
