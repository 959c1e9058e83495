/**
 * Breadcrumbs (src/context/breadcrumbs.ts, scope.ts, fed by the Logger): the
 * records of every level logged before an occurrence, stored with it as
 * `data.breadcrumbs`, per async scope.
 *
 * The ring size and the process-wide ring belong to the whole process, so the
 * tests here run one at a time, and each closes its handlers: with none left,
 * breadcrumbs are off and the next test starts from an empty ring.
 */

import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BreadcrumbRing,
  breadcrumbCapacity,
  breadcrumbsOn,
  DEFAULT_BREADCRUMBS,
  MAX_BREADCRUMBS,
  processRing,
  releaseBreadcrumbs,
  requestBreadcrumbs,
} from '../../src/context/breadcrumbs.js';
import { addBreadcrumb, currentRing, currentScope, runInScope } from '../../src/context/scope.js';
import { Logger, MemoryBackend, TicketingHandler, type TicketingHandlerOptions } from '../../src/index.js';
import { readStore } from '../integrations/helpers.js';

const quiet: TicketingHandlerOptions = { onError: () => {}, exitFlushMs: 0 };

interface StoredCrumb {
  time: string;
  level: string;
  channel: string;
  message: string;
}

/** A handler on a MemoryBackend, pushed for the whole process and closed when the test ends. */
function memoryHandler(t: ExecutionContext, options: TicketingHandlerOptions = {}) {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, { ...quiet, ...options }).pushApplication();
  t.teardown(async () => {
    handler.popApplication();
    await handler.close();
  });
  /** The breadcrumbs of each occurrence whose message is `message`, in the order they were logged. */
  const crumbs = async (message: string): Promise<(StoredCrumb[] | undefined)[]> => {
    t.true(await handler.flush({ timeoutMs: 10_000 }));
    const found: { id: number; crumbs: StoredCrumb[] | undefined }[] = [];
    for (const ticket of await backend.getTickets()) {
      for (const o of await backend.getOccurrences(ticket.id)) {
        const data = o.data as unknown as { message: string; breadcrumbs?: StoredCrumb[] };
        if (data.message === message) found.push({ id: o.id, crumbs: data.breadcrumbs });
      }
    }
    if (found.length === 0) throw new Error(`no occurrence with the message ${message}`);
    return found.sort((a, b) => a.id - b.id).map((o) => o.crumbs);
  };
  return { backend, handler, crumbs };
}

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const messages = (crumbs: readonly StoredCrumb[] | undefined) => (crumbs ?? []).map((c) => c.message);

test.serial('the ring keeps the newest entries, oldest first, and wraps around', (t) => {
  const ring = new BreadcrumbRing(3);
  t.deepEqual(ring.list(), []);
  ring.push(1, 11, 'a', 'one', []);
  ring.push(2, 11, 'a', 'two', []);
  t.deepEqual(
    ring.list().map((c) => c.msg),
    ['one', 'two'],
  );
  for (const [i, msg] of ['three', 'four', 'five'].entries()) ring.push(3 + i, 10, 'b', msg, [i]);
  t.is(ring.size, 3);
  t.deepEqual(ring.list(), [
    { time: 3, level: 10, channel: 'b', msg: 'three', args: [0] },
    { time: 4, level: 10, channel: 'b', msg: 'four', args: [1] },
    { time: 5, level: 10, channel: 'b', msg: 'five', args: [2] },
  ]);
  t.deepEqual(
    ring.list(2).map((c) => c.msg),
    ['four', 'five'],
  );
  ring.add({ time: 6, level: 12, channel: 'c', msg: 'six', args: [] });
  t.deepEqual(
    ring.list().map((c) => c.msg),
    ['four', 'five', 'six'],
  );
  ring.clear();
  t.deepEqual(ring.list(), []);
});

test.serial('the size is the largest any handler asks for; released, breadcrumbs are off', (t) => {
  const a = {};
  const b = {};
  t.is(breadcrumbCapacity(), 0);
  t.false(breadcrumbsOn);
  requestBreadcrumbs(a, 5);
  requestBreadcrumbs(b, 12);
  t.is(breadcrumbCapacity(), 12);
  t.true(breadcrumbsOn);
  for (let i = 0; i < 20; i++) addBreadcrumb(11, 'svc', `m${i}`);
  t.is(processRing()?.size, 12);
  releaseBreadcrumbs(b);
  // Shrunk to 5: the newest 5 stay.
  t.deepEqual(
    processRing()
      ?.list()
      .map((c) => c.msg),
    ['m15', 'm16', 'm17', 'm18', 'm19'],
  );
  requestBreadcrumbs(a, 0);
  t.is(breadcrumbCapacity(), 0);
  t.false(breadcrumbsOn);
  t.is(processRing(), null);
  t.is(currentRing(), null);
  addBreadcrumb(11, 'svc', 'dropped');
  t.is(processRing(), null);
  t.is(MAX_BREADCRUMBS, 1_000);
});

test.serial(
  'records below the handler level are the next occurrence’s breadcrumbs, at every level and form',
  async (t) => {
    const { crumbs } = memoryHandler(t, { level: 'ERROR' });
    const log = new Logger('shop.checkout');
    const db = new Logger('shop.db');
    log.info('order %s received with %d items', 'A-7', 3);
    db.debug({ extra: { table: 'orders' } }, 'query took %dms', 12);
    log.warn(new RangeError('stock low for sku-9'));
    log.log('NOTICE', 'coupon %s applied', 'SAVE10');
    log.trace('entering charge()');
    const charge = () => log.error('charge failed');
    charge();
    log.info('retrying');
    charge();
    const [first, second] = await crumbs('charge failed');
    t.deepEqual(
      first?.map((c) => [c.level, c.channel, c.message]),
      [
        ['INFO', 'shop.checkout', 'order A-7 received with 3 items'],
        ['DEBUG', 'shop.db', 'query took 12ms'],
        ['WARNING', 'shop.checkout', 'stock low for sku-9'],
        ['NOTICE', 'shop.checkout', 'coupon SAVE10 applied'],
        ['TRACE', 'shop.checkout', 'entering charge()'],
      ],
    );
    for (const crumb of first!) t.regex(crumb.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // The first error is not among its own breadcrumbs; the next occurrence lists it.
    t.deepEqual(messages(second).slice(-2), ['charge failed', 'retrying']);
    t.is(second?.at(-2)?.level, 'ERROR');
  },
);

test.serial('log.exception and an Error first keep the message as the call would', async (t) => {
  const { crumbs } = memoryHandler(t, { level: 'CRITICAL' });
  const log = new Logger('jobs');
  log.exception(new TypeError('bad row 4'));
  log.exception(new TypeError('ignored'), 'import of %s failed', 'rows.csv');
  log.error(new Error('disk gone'), 'backup %d failed', 2);
  log.error({ error: new Error('x') }, 'with options %s', 'first');
  log.critical('gave up');
  const [only] = await crumbs('gave up');
  t.deepEqual(
    only?.map((c) => [c.level, c.message]),
    [
      ['ERROR', 'bad row 4'],
      ['ERROR', 'import of rows.csv failed'],
      ['ERROR', 'backup 2 failed'],
      ['ERROR', 'with options first'],
    ],
  );
});

test.serial('a breadcrumb-only call never throws, whatever it is given', async (t) => {
  const { crumbs } = memoryHandler(t);
  const log = new Logger('hostile');
  const hostile = new Proxy(
    {},
    {
      get() {
        throw new Error('trap');
      },
      ownKeys() {
        throw new Error('trap');
      },
    },
  );
  const badError = new Error('x');
  Object.defineProperty(badError, 'message', {
    get() {
      throw new Error('no message');
    },
  });
  t.notThrows(() => {
    log.info(hostile as never, 'with a proxy %s', hostile);
    log.info(badError);
    log.info(42 as never);
    log.info('plain %j', { toJSON: () => 'fine' });
  });
  log.error('after hostile calls');
  const [only] = await crumbs('after hostile calls');
  t.is(only?.length, 4);
  t.is(only?.[3]?.message, 'plain "fine"');
});

test.serial('40 by default; a handler asking for fewer keeps only its last N; 0 means none', async (t) => {
  t.is(DEFAULT_BREADCRUMBS, 40);
  // All three bubble, so each gets the same record.
  const all = memoryHandler(t, { bubble: true });
  const five = memoryHandler(t, { breadcrumbs: 5, bubble: true });
  const none = memoryHandler(t, { breadcrumbs: 0, bubble: true });
  t.is(breadcrumbCapacity(), 40);
  const log = new Logger('svc');
  for (let i = 0; i < 55; i++) log.info('step %d', i);
  log.error('failed at the end');
  const expected = (n: number) => Array.from({ length: n }, (_, i) => `step ${55 - n + i}`);
  // One ring for the process, of the largest size; each handler takes its own number from it.
  t.deepEqual(messages((await all.crumbs('failed at the end'))[0]), expected(40));
  t.deepEqual(messages((await five.crumbs('failed at the end'))[0]), expected(5));
  const [withNone] = await none.crumbs('failed at the end');
  t.is(withNone, undefined);
});

test.serial('breadcrumbs: 0 on the only handler turns them off: nothing kept, none stored', async (t) => {
  const { crumbs, backend } = memoryHandler(t, { breadcrumbs: 0 });
  t.is(breadcrumbCapacity(), 0);
  t.is(processRing(), null);
  const log = new Logger('svc');
  log.info('not kept');
  for (let i = 0; i < 2; i++) log.error('failed');
  const occurrences = await crumbs('failed');
  t.deepEqual(occurrences, [undefined, undefined]);
  const [ticket] = await backend.getTickets();
  const [occurrence] = await backend.getOccurrences(ticket!.id);
  t.false('breadcrumbs' in (occurrence!.data as object));
});

test.serial('messages are formatted with their arguments, redacted and capped, in a real SQLite store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-crumbs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = `sqlite:${join(dir, 'tickets.db')}`;
  const handler = new TicketingHandler(store, quiet).pushApplication();
  t.teardown(async () => {
    handler.popApplication();
    await handler.close();
  });
  const log = new Logger('auth');
  const token = `ghp_${'a1B2'.repeat(9)}`;
  log.info('login for %s with password=%s', 'ann', 'hunter2');
  log.debug('calling GitHub with %s', token);
  log.info('long: %s', 'x'.repeat(1_000));
  log.error('login failed for %s', 'ann');
  t.true(await handler.close());
  const [ticket] = await readStore(store);
  const crumbs = ticket!.occurrences[0]!.data.breadcrumbs as StoredCrumb[];
  t.is(crumbs.length, 3);
  t.regex(crumbs[0]!.message, /^login for ann with password=\[REDACTED\]/);
  t.is(crumbs[1]!.message, 'calling GitHub with [REDACTED]');
  const long = crumbs[2]!.message;
  t.true(long.startsWith(`long: ${'x'.repeat(294)}`));
  t.false(long.startsWith(`long: ${'x'.repeat(295)}`));
  t.regex(long, /truncated 706 chars/);
  // Neither secret reached the store's files.
  for (const name of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, name)).toString('latin1');
    t.false(bytes.includes('hunter2'), name);
    t.false(bytes.includes(token), name);
  }
});

test.serial('two concurrent async scopes never see each other’s breadcrumbs', async (t) => {
  const { crumbs } = memoryHandler(t);
  const log = new Logger('web');
  // Each request waits for the other before going on, so their calls interleave.
  const turns = { a: signal(), b: signal() };
  const request = (name: 'a' | 'b', other: 'a' | 'b') =>
    runInScope({}, async () => {
      t.not(currentScope(), undefined);
      log.info('%s: received', name);
      turns[name].resolve();
      await turns[other].promise;
      log.debug('%s: loaded', name);
      await Promise.resolve();
      log.error('%s failed', name);
    });
  await Promise.all([request('a', 'b'), request('b', 'a')]);
  t.deepEqual(messages((await crumbs('a failed'))[0]), ['a: received', 'a: loaded']);
  t.deepEqual(messages((await crumbs('b failed'))[0]), ['b: received', 'b: loaded']);
});

test.serial('outside every scope the process-wide ring is used; a scope starts with its own, empty', async (t) => {
  const { crumbs } = memoryHandler(t);
  const log = new Logger('worker');
  log.info('outside one');
  await new Promise<void>((resolve) => setImmediate(resolve));
  log.info('outside two');
  t.is(currentRing(), processRing());
  await runInScope({}, async () => {
    t.not(currentRing(), processRing());
    log.info('inside');
    log.error('scoped failure');
  });
  log.error('unscoped failure');
  t.deepEqual(messages((await crumbs('scoped failure'))[0]), ['inside']);
  t.deepEqual(messages((await crumbs('unscoped failure'))[0]), ['outside one', 'outside two']);
});

test.serial('a closed handler gives back its size: with none left nothing is kept', async (t) => {
  const log = new Logger('svc');
  const first = new TicketingHandler(new MemoryBackend(), quiet);
  t.is(breadcrumbCapacity(), 40);
  log.info('before close');
  t.is(processRing()?.size, 1);
  t.true(await first.close());
  t.is(breadcrumbCapacity(), 0);
  t.is(currentRing(), null);
  log.info('while off');
  // A new handler starts with an empty ring: nothing from before or while off.
  const { crumbs } = memoryHandler(t);
  log.info('after');
  log.error('failed');
  t.deepEqual(messages((await crumbs('failed'))[0]), ['after']);
});
