/**
 * With the writer's queue full (the store is locked by another connection),
 * logging calls are only counted by call, and the writer folds the counts by
 * ticket later: counts stay exact, a key finer than a ticket merges into it,
 * the ticket's last sighting is the last call, and memory stays bounded.
 */

import test from 'ava';
import { Logger, SqlBackend, TicketingHandler, type TicketingHandlerOptions } from '../../src/index.js';
import { lockedStore } from './locked-store.js';

const options: TicketingHandlerOptions = {
  onError: () => {},
  maxQueue: 10,
  retry: { initialMs: 5, maxMs: 20 },
};

test('past a full queue, calls are counted by call and folded by ticket: exact counts, last sighting kept', async (t) => {
  const { path, unlock } = await lockedStore(t);
  // In `function` mode the two lines of checkout() are one ticket: their overflow keys merge when folded.
  const handler = new TicketingHandler(`sqlite:${path}`, { ...options, fingerprintMode: 'function' });
  const log = new Logger('shop');
  function checkout(i: number) {
    if (i % 2 === 0) log.error('checkout %d failed on even', i);
    else log.error('checkout %d failed on odd', i);
  }
  function refund(i: number) {
    log.warning({ extra: { i } }, 'refund %d slow', i);
  }
  let lastCheckout = 0;
  handler.run(() => {
    for (let i = 0; i < 500; i++) {
      checkout(i);
      refund(i);
    }
    // The last call comes a clear moment after the others, so its time is told apart.
    lastCheckout = Date.now();
  });
  const stats = handler.stats().backends[0]!;
  t.is(stats.queued, 1000, 'every call is accounted for');
  t.is(stats.dropped.queue_full, 0);
  unlock();
  t.true(await handler.close({ timeoutMs: 30_000 }));
  t.is(handler.stats().written, 1000);
  t.is(handler.stats().coalesced, 990, 'all but the 10 queued were counted, not kept');
  const store = new SqlBackend(`sqlite:${path}`, { readOnly: true });
  t.teardown(() => store.close());
  const tickets = await store.getTickets({ limit: 10 });
  t.deepEqual(tickets.map((x) => [x.function, x.occurrenceCount]).sort(), [
    ['checkout', 500],
    ['refund', 500],
  ]);
  const checkoutTicket = tickets.find((x) => x.function === 'checkout')!;
  t.true(Date.parse(checkoutTicket.lastSeen) <= lastCheckout);
  t.true(Date.parse(checkoutTicket.lastSeen) >= lastCheckout - 5_000);
  // The records kept are whole: the 5 queued, and one for the calls counted past the queue (one per ticket).
  const occurrences = await store.getOccurrences(checkoutTicket.id, { limit: 100 });
  const messages = occurrences.map((o) => (o.data as { message: string }).message).sort();
  t.is(messages.length, 6);
  t.deepEqual(
    messages.slice(0, 5),
    [0, 1, 2, 3, 4].map((i) => `checkout ${i} failed on ${i % 2 === 0 ? 'even' : 'odd'}`),
  );
  t.regex(messages[5]!, /^checkout [56] failed on (odd|even)$/);
});

test('past a full queue, more call sites than maxFolded: the rest is dropped and counted, never lost silently', async (t) => {
  const { path, unlock } = await lockedStore(t);
  const handler = new TicketingHandler(`sqlite:${path}`, { ...options, maxFolded: 3 });
  handler.run(() => {
    // 10 queued, then 5 channels (5 keys) past the queue: 3 counted, 2 keys dropped.
    for (let i = 0; i < 10; i++) new Logger('queued').error('queued %d', i);
    for (let c = 0; c < 5; c++) for (let i = 0; i < 4; i++) new Logger(`svc.${c}`).error('failed %d', i);
  });
  const stats = handler.stats().backends[0]!;
  t.is(stats.queued, 10 + 3 * 4);
  t.is(stats.dropped.queue_full, 2 * 4);
  unlock();
  t.false(await handler.close({ timeoutMs: 30_000 }), 'close() says something was lost');
  t.is(handler.stats().written, 22);
  const store = new SqlBackend(`sqlite:${path}`, { readOnly: true });
  t.teardown(() => store.close());
  t.is(
    (await store.getTickets({ limit: 10 })).reduce((n, x) => n + x.occurrenceCount, 0),
    22,
  );
});

test('past a full queue, a call already counted takes no snapshot: memory stays put while the count grows', async (t) => {
  const { path, unlock } = await lockedStore(t);
  const handler = new TicketingHandler(`sqlite:${path}`, options);
  const log = new Logger('big');
  const call = (i: number) => log.error({ extra: { body: 'x'.repeat(8192), i } }, 'upload %d failed', i);
  let before = handler.stats().backends[0]!;
  let after = before;
  handler.run(() => {
    // 10 queued, the 11th counted with its snapshot, the next 1000 (same call) counted without.
    for (let i = 0; i < 1011; i++) {
      call(i);
      if (i === 10) before = handler.stats().backends[0]!;
    }
    after = handler.stats().backends[0]!;
  });
  t.is(before.queued, 11);
  t.is(after.queued, 1011);
  t.is(after.queuedBytes, before.queuedBytes, 'no snapshot was kept for the 1000 calls counted');
  unlock();
  t.true(await handler.close({ timeoutMs: 30_000 }));
  const store = new SqlBackend(`sqlite:${path}`, { readOnly: true });
  t.teardown(() => store.close());
  t.is((await store.getTickets())[0]!.occurrenceCount, 1011);
});

test('past a full queue, calls through a declared wrapper are counted by their own caller', async (t) => {
  const { path, unlock } = await lockedStore(t);
  const handler = new TicketingHandler(`sqlite:${path}`, options);
  const log = new Logger('api', { wrappers: ['report'] });
  function report(what: string) {
    log.error('%s failed', what);
  }
  function upload() {
    report('upload');
  }
  function download() {
    report('download');
  }
  handler.run(() => {
    for (let i = 0; i < 300; i++) {
      upload();
      if (i % 3 === 0) download();
    }
  });
  t.is(handler.stats().backends[0]!.queued, 400);
  unlock();
  t.true(await handler.close({ timeoutMs: 30_000 }));
  const store = new SqlBackend(`sqlite:${path}`, { readOnly: true });
  t.teardown(() => store.close());
  const tickets = await store.getTickets({ limit: 10 });
  t.deepEqual(tickets.map((x) => [x.function, x.occurrenceCount]).sort(), [
    ['download', 100],
    ['upload', 300],
  ]);
});
