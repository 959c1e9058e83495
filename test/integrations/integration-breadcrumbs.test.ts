/**
 * Breadcrumbs through the pino and winston integrations: the records they
 * receive below the ticket threshold are kept, and the occurrences they
 * produce carry them.
 */

import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import pino from 'pino';
import winston from 'winston';
import { runInScope } from '../../src/context/scope.js';
import { handleForeign, Level, TicketingHandler } from '../../src/index.js';
import logticketsTransport from '../../src/integrations/pino.js';
import { LogticketsTransport } from '../../src/integrations/winston.js';
import { projectRoot, readStore, runFixture, workdir } from './helpers.js';

// The worker-thread tests load the package by name, as an application does: `npm test` builds it first.
const built = existsSync(new URL('../../dist/integrations/pino.js', import.meta.url));
const notBuilt = 'dist/ is not built: run `npm run build` first (npm test does)';
const quiet = { onError: () => {}, exitFlushMs: 0 };

/** Level, channel and message of each breadcrumb of an occurrence. */
type Crumbs = [string, string, string][];

/** The breadcrumbs of each occurrence in a store, by the occurrence's message, in the order they were logged. */
async function crumbsByMessage(store: string): Promise<Map<string, (Crumbs | undefined)[]>> {
  const found = new Map<string, (Crumbs | undefined)[]>();
  const occurrences = (await readStore(store)).flatMap((ticket) => ticket.occurrences);
  for (const o of occurrences.sort((a, b) => a.id - b.id)) {
    const crumbs = o.data.breadcrumbs as { level: string; channel: string; message: string }[] | undefined;
    const list = found.get(o.data.message as string) ?? [];
    list.push(crumbs?.map((c) => [c.level, c.channel, c.message]));
    found.set(o.data.message as string, list);
  }
  return found;
}

function handlerOn(t: ExecutionContext) {
  const work = workdir(t);
  const handler = new TicketingHandler(work.store, { ...quiet, appId: 'shop', projectRoot });
  t.teardown(() => handler.close());
  return { work, handler };
}

for (const mode of ['target', 'targets']) {
  test(`pino in its worker thread (${mode}): each occurrence carries the lines before it`, async (t) => {
    if (!built) return t.fail(notBuilt);
    const work = workdir(t);
    const result = await runFixture('pino-breadcrumbs.ts', [work.config(), mode]);
    t.is(result.code, 0, result.stderr);
    const [first, second] = (await crumbsByMessage(work.store)).get('charge failed for order 1') ?? [];
    const before: Crumbs = [
      ['INFO', 'shop.payments', 'order 1 received'],
      ['DEBUG', 'pino', 'cache miss for cart-1'],
    ];
    t.deepEqual(first, before);
    // The first error is not among its own breadcrumbs; the next occurrence lists it.
    t.deepEqual(second, [
      ...before,
      ['ERROR', 'shop.payments', 'charge failed for order 1'],
      ['INFO', 'shop.payments', 'retrying order 1'],
    ]);
  });
}

test('pino in the same thread: lines below the transport’s `level` are breadcrumbs, in the caller’s scope', async (t) => {
  const { work, handler } = handlerOn(t);
  // Tickets from ERROR up: the warning below that is a breadcrumb too.
  const logger = pino({ level: 'debug' }, await logticketsTransport({ handler, level: 'error' }));
  runInScope({}, () => {
    logger.info({ order: 7 }, 'order %d received', 7);
    logger.debug('cache miss');
    logger.warn('stock low');
    logger.error('charge failed');
  });
  t.true(await handler.flush({ timeoutMs: 10_000 }));
  const [only] = (await crumbsByMessage(work.store)).get('charge failed') ?? [];
  t.deepEqual(only, [
    ['INFO', 'pino', 'order 7 received'],
    ['DEBUG', 'pino', 'cache miss'],
    ['WARNING', 'pino', 'stock low'],
  ]);
});

test('winston: log() runs in the logging call, so two concurrent scopes keep their own breadcrumbs', async (t) => {
  const { work, handler } = handlerOn(t);
  const transport = new LogticketsTransport({ handler });
  const logger = winston.createLogger({ level: 'debug', transports: [transport] });
  let resolveA!: () => void;
  let resolveB!: () => void;
  const turns = { a: new Promise<void>((r) => (resolveA = r)), b: new Promise<void>((r) => (resolveB = r)) };
  const request = (name: 'a' | 'b') =>
    runInScope({}, async () => {
      logger.info(`${name}: received`, { service: 'web' });
      // Each request waits for the other before going on, so their calls interleave.
      if (name === 'a') {
        resolveA();
        await turns.b;
      } else {
        resolveB();
        await turns.a;
      }
      logger.debug(`${name}: loaded`);
      logger.error(`${name} failed`);
    });
  await Promise.all([request('a'), request('b')]);
  t.true(await transport.flush(10_000));
  const found = await crumbsByMessage(work.store);
  for (const name of ['a', 'b']) {
    t.deepEqual(found.get(`${name} failed`), [
      [
        ['INFO', 'web', `${name}: received`],
        ['DEBUG', 'winston', `${name}: loaded`],
      ],
    ]);
  }
});

test('winston: an occurrence carries the infos before it; the next one lists the earlier error', async (t) => {
  const { work, handler } = handlerOn(t);
  const transport = new LogticketsTransport({ handler, channel: 'shop' });
  const logger = winston.createLogger({ transports: [transport] });
  // Alone in a scope of its own: other tests of this file run at the same time.
  await runInScope({}, async () => {
    const charge = () => logger.error('charge failed');
    logger.info('order received');
    logger.debug('not passed on: below the logger level');
    charge();
    logger.warn('retrying');
    charge();
  });
  t.true(await transport.flush(10_000));
  const [first, second] = (await crumbsByMessage(work.store)).get('charge failed') ?? [];
  t.deepEqual(first, [['INFO', 'shop', 'order received']]);
  t.deepEqual(second, [
    ['INFO', 'shop', 'order received'],
    ['ERROR', 'shop', 'charge failed'],
    ['WARNING', 'shop', 'retrying'],
  ]);
});

test('handleForeign keeps every record it is given as a breadcrumb, below the handler level too', async (t) => {
  const { work, handler } = handlerOn(t);
  runInScope({}, () => {
    t.false(handleForeign(handler, { level: Level.INFO, channel: 'legacy', message: 'job %d started' }));
    t.true(handleForeign(handler, { level: Level.ERROR, channel: 'legacy', message: 'job failed' }));
    handleForeign(handler, { level: Level.DEBUG, channel: 'legacy', message: 'cleanup' });
    handleForeign(handler, { level: Level.ERROR, channel: 'legacy', message: 'job failed' });
  });
  t.true(await handler.flush({ timeoutMs: 10_000 }));
  const [first, second] = (await crumbsByMessage(work.store)).get('job failed') ?? [];
  // Already formatted: a `%` in a foreign message stays as it is.
  t.deepEqual(first, [['INFO', 'legacy', 'job %d started']]);
  t.deepEqual(second, [
    ['INFO', 'legacy', 'job %d started'],
    ['ERROR', 'legacy', 'job failed'],
    ['DEBUG', 'legacy', 'cleanup'],
  ]);
});
