import test from 'ava';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { Logger, TicketingHandler } from '../../src/index.js';
import logticketsTransport from '../../src/integrations/pino.js';
import { byTitle, projectRoot, readStore, runFixture, sortByTitle, workdir, type StoredTicket } from './helpers.js';

// No stderr lines and no exit hooks: many handlers live in this one test process.
// The worker-thread tests load the package by name, as an application does: `npm test` builds it first.
const built = existsSync(new URL('../../dist/integrations/pino.js', import.meta.url));
const notBuilt = 'dist/ is not built: run `npm run build` first (npm test does)';

const quiet = { onError: () => {}, exitFlushMs: 0 };

/** What the pino-service fixture logged, as a user would check it in the store. */
function checkServiceTickets(t: import('ava').ExecutionContext, tickets: readonly StoredTicket[]): void {
  t.is(tickets.length, 4, tickets.map((x) => x.title).join(' | '));
  // Titles carry the error's message (the first occurrence's).
  const charge = byTitle(tickets, 'charge failed: card expired for order 1')!;
  t.like(charge, { level: 14, channel: 'shop.payments', occurrenceCount: 2, appId: 'shop' });
  t.regex(charge.location, /^test\/fixtures\/pino-service\.ts:\d+$/);
  const data = charge.occurrences[0]!.data;
  t.like(data.error, { name: 'TypeError', message: 'card expired for order 1' });
  t.regex(data.error.stack, /^TypeError: card expired for order 1\n\s+at charge \(.*pino-service\.ts:\d+:\d+\)/);
  t.like(data.extra, { name: 'shop.payments', region: 'eu', order: 1 });
  for (const key of ['pid', 'hostname', 'level', 'time', 'msg', 'err']) t.false(key in data.extra, key);

  const ship = byTitle(tickets, 'shipping failed: no stock for order 3')!;
  t.like(ship, { level: 14, occurrenceCount: 1 });
  t.not(ship.location, charge.location);
  t.like(ship.occurrences[0]!.data.error, { name: 'RangeError', message: 'no stock for order 3' });

  t.like(byTitle(tickets, 'disk 91% full'), { level: 13, channel: 'pino', occurrenceCount: 1 });
  const fatal = byTitle(tickets, 'database unreachable')!;
  t.like(fatal, { level: 15, occurrenceCount: 1 });
  t.like(fatal.occurrences[0]!.data.extra, { db: 'orders' });
}

test('the worker-thread transport configured from a JSON config file: a service that ends on its own', async (t) => {
  if (!built) return t.fail(notBuilt);
  const work = workdir(t);
  const result = await runFixture('pino-service.ts', [work.config(), 'end']);
  t.is(result.code, 0, result.stderr);
  checkServiceTickets(t, await readStore(work.store));
});

test('process.exit() right after logging: pino waits for the worker, the occurrences are written', async (t) => {
  if (!built) return t.fail(notBuilt);
  const work = workdir(t);
  const result = await runFixture('pino-service.ts', [work.config(), 'exit']);
  t.is(result.code, 0, result.stderr);
  checkServiceTickets(t, await readStore(work.store));
});

test('next to another target (pino `targets`), with that target writing the lines to a file', async (t) => {
  if (!built) return t.fail(notBuilt);
  const work = workdir(t);
  const result = await runFixture('pino-service.ts', [work.config(), 'end', `${work.dir}/service.log`]);
  t.is(result.code, 0, result.stderr);
  checkServiceTickets(t, await readStore(work.store));
  t.is(readFileSync(`${work.dir}/service.log`, 'utf8').trim().split('\n').length, 7);
});

test('a crash right after logging: what was logged before it is written', async (t) => {
  if (!built) return t.fail(notBuilt);
  const work = workdir(t);
  const result = await runFixture('pino-service.ts', [work.config(), 'throw']);
  t.is(result.code, 1);
  t.regex(result.stderr, /crash right after logging/);
  checkServiceTickets(t, await readStore(work.store));
});

/** An in-process pino logger writing through the transport into a handler on a fresh SQLite file. */
async function inProcess(
  t: import('ava').ExecutionContext,
  pinoOptions: pino.LoggerOptions,
  transportOptions: Parameters<typeof logticketsTransport>[0] = {},
  handlerLevel = 'WARNING',
) {
  const work = workdir(t);
  const handler = new TicketingHandler(work.store, { ...quiet, appId: 'shop', level: handlerLevel, projectRoot });
  t.teardown(() => handler.close());
  const stream = await logticketsTransport({ handler, ...transportOptions });
  const logger = pino(pinoOptions, stream);
  const tickets = async () => {
    t.true(await handler.flush({ timeoutMs: 10_000 }));
    return readStore(work.store);
  };
  return { work, handler, stream, logger, tickets };
}

test('in process: pino levels map to logtickets levels, custom ones to the standard level below', async (t) => {
  const { logger, tickets } = await inProcess(
    t,
    { level: 'trace', customLevels: { audit: 35, alert: 55 } },
    {},
    'TRACE',
  );
  logger.trace('at trace');
  logger.debug('at debug');
  logger.info('at info');
  logger.warn('at warn');
  logger.error('at error');
  logger.fatal('at fatal');
  const custom = logger as unknown as pino.Logger<'audit' | 'alert'>;
  custom.audit('at audit');
  custom.alert('at alert');
  const found = await tickets();
  const levels = Object.fromEntries(found.map((x) => [x.title, x.level]));
  t.deepEqual(levels, {
    'at trace': 9,
    'at debug': 10,
    'at info': 11,
    'at warn': 13,
    'at error': 14,
    'at fatal': 15,
    'at audit': 11,
    'at alert': 14,
  });
});

test('in process: records below WARNING are ignored by default, and `level` raises the bar', async (t) => {
  const first = await inProcess(t, { level: 'trace' });
  first.logger.info('info');
  first.logger.debug('debug');
  first.logger.warn('warn');
  t.deepEqual(
    (await first.tickets()).map((x) => x.title),
    ['warn'],
  );

  const second = await inProcess(t, {}, { level: 'error' });
  second.logger.warn('warn');
  second.logger.error('error');
  t.deepEqual(
    (await second.tickets()).map((x) => x.title),
    ['error'],
  );
});

test('in process: two different errors are two tickets, the same error twice is one ticket with 2 occurrences', async (t) => {
  const { logger, tickets } = await inProcess(t, {});
  const fail = (message: string) => new Error(message);
  const timeout = () => new Error('upstream timeout');
  for (let i = 0; i < 2; i++) logger.error(fail(`order ${i} rejected`));
  logger.error(timeout());
  const found = await tickets();
  t.is(found.length, 2);
  t.deepEqual(found.map((x) => x.occurrenceCount).sort(), [1, 2]);
  const rejected = found.find((x) => x.occurrenceCount === 2)!;
  t.is(rejected.function, 'fail');
  t.like(rejected.occurrences[1]!.data.error, { name: 'Error', message: 'order 1 rejected' });
  t.regex(rejected.occurrences[1]!.data.error.stack, /at fail \(/);
});

test('in process: records without error or caller are grouped by their message with numbers masked', async (t) => {
  const { logger, tickets } = await inProcess(t, {});
  for (const user of [17, 42]) logger.warn('user %d not found', user);
  logger.warn('cache stale');
  const found = sortByTitle(await tickets());
  t.deepEqual(
    found.map((x) => [x.title, x.occurrenceCount]),
    [
      ['cache stale', 1],
      ['user 17 not found', 2],
    ],
  );
});

test('in process: the channel is the `name` binding, else pino; `channel` overrides it', async (t) => {
  const { logger, tickets } = await inProcess(t, { name: 'shop' });
  logger.warn('from the root');
  logger.child({ name: 'shop.db' }).warn('from a child');
  const found = await tickets();
  t.deepEqual(found.map((x) => x.channel).sort(), ['shop', 'shop.db']);

  const unnamed = await inProcess(t, {});
  unnamed.logger.warn('no name');
  t.is((await unnamed.tickets())[0]!.channel, 'pino');

  const fixed = await inProcess(t, { name: 'shop' }, { channel: 'billing' });
  fixed.logger.child({ name: 'shop.db' }).warn('from a child');
  t.is((await fixed.tickets())[0]!.channel, 'billing');
});

test('in process: pino time in each timestamp format becomes the occurrence time', async (t) => {
  const iso = await inProcess(t, { timestamp: () => ',"time":"2020-01-02T03:04:05.678Z"' });
  iso.logger.warn('iso time');
  const epochMs = await inProcess(t, { timestamp: () => ',"time":1577934245678' });
  epochMs.logger.warn('epoch ms');
  const unix = await inProcess(t, { timestamp: pino.stdTimeFunctions.unixTime });
  const before = Math.floor(Date.now() / 1000) * 1000;
  unix.logger.warn('unix seconds');
  t.is((await iso.tickets())[0]!.occurrences[0]!.time, '2020-01-02T03:04:05.678Z');
  t.is((await epochMs.tickets())[0]!.occurrences[0]!.time, '2020-01-02T03:04:05.678Z');
  const unixTime = Date.parse((await unix.tickets())[0]!.occurrences[0]!.time);
  t.true(unixTime >= before && unixTime % 1000 === 0, String(unixTime));
});

/** A pino mixin that names the line that called the logger, as an application can add one. */
function callerMixin(): { caller?: string } {
  const frames = (new Error().stack ?? '').split('\n').slice(2);
  return { caller: frames.find((line) => !/node_modules[\\/]pino/.test(line))?.trim() };
}

test('in process: a caller field (e.g. from a mixin) is the call site: each logging line its own ticket', async (t) => {
  const { logger, tickets } = await inProcess(t, { mixin: callerMixin });
  function checkout(): void {
    logger.warn('slow request');
  }
  function search(): void {
    logger.warn('slow request');
  }
  checkout();
  checkout();
  search();
  const found = (await tickets()).sort((a, b) => a.occurrenceCount - b.occurrenceCount).reverse();
  t.deepEqual(
    found.map((x) => [x.function, x.occurrenceCount]),
    [
      ['checkout', 2],
      ['search', 1],
    ],
  );
  t.regex(found[0]!.location, /^test\/integrations\/pino\.test\.ts:\d+$/);
  t.false('caller' in found[0]!.occurrences[0]!.data.extra);
});

test('in process: caller fields in the other usual forms', async (t) => {
  const { logger, tickets } = await inProcess(t, {});
  logger.warn({ caller: `Object.<anonymous> (${projectRoot}src/cart.js:10:5)` }, 'pino-caller form');
  logger.warn({ caller: `file://${projectRoot}src/pay.js:20:3` }, 'url form');
  logger.warn({ caller: { file: `${projectRoot}src/mail.js`, line: 30, function: 'send' } }, 'object form');
  logger.warn({ caller: 'at /elsewhere/lib/x.js:1:1' }, 'outside the project');
  const found = sortByTitle(await tickets());
  t.deepEqual(
    found.map((x) => [x.title, x.location, x.function]),
    [
      ['object form', 'src/mail.js:30', 'send'],
      ['outside the project', '/elsewhere/lib/x.js:1', null],
      ['pino-caller form', 'src/cart.js:10', 'Object.<anonymous>'],
      ['url form', 'src/pay.js:20', null],
    ],
  );
});

test('in process: messageKey, errorKey and fingerprintKey follow the application', async (t) => {
  const { logger, tickets } = await inProcess(
    t,
    { messageKey: 'message', errorKey: 'problem' },
    { messageKey: 'message', errorKey: 'problem', fingerprintKey: 'group' },
  );
  logger.error({ problem: new SyntaxError('bad json'), group: 'parsing' }, 'request body rejected');
  logger.error({ group: 'parsing' }, 'query string rejected');
  const found = await tickets();
  t.deepEqual(
    found.map((x) => [x.title, x.occurrenceCount]),
    [['request body rejected: bad json', 2]],
  );
  const [first, second] = found[0]!.occurrences;
  t.like(first!.data.error, { name: 'SyntaxError', message: 'bad json' });
  t.false('group' in first!.data.extra);
  t.is(second!.data.message, 'query string rejected');
});

test('in process: an `error` field serialized by pino is kept as the error too', async (t) => {
  const { logger, tickets } = await inProcess(t, { serializers: { error: pino.stdSerializers.err } });
  logger.error({ error: Object.assign(new Error('as error'), { code: 'E_AS' }) }, 'error field');
  const [ticket] = await tickets();
  t.like(ticket!.occurrences[0]!.data.error, { name: 'Error', message: 'as error', code: 'E_AS' });
  t.false('error' in ticket!.occurrences[0]!.data.extra);
});

test('in process: logger.flush(cb) calls back once the records are in the store', async (t) => {
  const { logger, work } = await inProcess(t, {});
  logger.error('flushed error');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  t.deepEqual(
    (await readStore(work.store)).map((x) => x.title),
    ['flushed error'],
  );
});

test('in process: ending the stream flushes a handler you passed in and leaves it open', async (t) => {
  const { logger, stream, handler, work } = await inProcess(t, {});
  logger.error('before the end');
  stream.end();
  await once(stream, 'close');
  t.deepEqual(
    (await readStore(work.store)).map((x) => x.title),
    ['before the end'],
  );
  handler.run(() => new Logger('after').error('the handler still works'));
  t.true(await handler.flush({ timeoutMs: 10_000 }));
  t.is((await readStore(work.store)).length, 2);
});

test('in process with a config object: ending the stream closes the handler it made', async (t) => {
  const work = workdir(t);
  const stream = await logticketsTransport({ config: { store: work.store, handler: { appId: 'billing' } } });
  const logger = pino({ name: 'billing' }, stream);
  for (let i = 0; i < 2; i++) logger.error({ err: new Error(`invoice ${i} lost`) }, 'invoice failed');
  stream.end();
  await once(stream, 'close');
  const tickets = await readStore(work.store);
  t.is(tickets.length, 1);
  t.like(tickets[0], {
    appId: 'billing',
    channel: 'billing',
    title: 'invoice failed: invoice 0 lost',
    occurrenceCount: 2,
  });
});

// A bad option or config leaves the transport off with one line on stderr, never a throw: see
// fail-safe.test.ts, where each case runs as its own service so that line can be checked.

test('lines that are not records are skipped; a level nobody knows is counted as invalid', async (t) => {
  const { stream, handler, work } = await inProcess(t, {});
  stream.write('not json\n');
  stream.write('42\n');
  stream.write('{"level":"shout","msg":"unknown level"}\n');
  stream.write('{"level":"warn","msg":"a label level"}\n');
  stream.write('{"level":40,"msg":"odd keys","__proto__":{"polluted":true},"constructor":1}\n');
  t.false(await handler.flush({ timeoutMs: 10_000 }), 'the record with an unknown level was lost, and counted');
  t.is((handler as TicketingHandler).stats().dropped.invalid, 1);
  const found = sortByTitle(await readStore(work.store));
  t.deepEqual(
    found.map((x) => x.title),
    ['a label level', 'odd keys'],
  );
  t.is(({} as Record<string, unknown>).polluted, undefined);
  t.like(found[1]!.occurrences[0]!.data.extra, { constructor: 1 });
});
