import test, { type ExecutionContext } from 'ava';
import winston from 'winston';
import { Logger, TicketingHandler } from '../../src/index.js';
import { LogticketsTransport, type LogticketsTransportOptions } from '../../src/integrations/winston.js';
import { byTitle, projectRoot, readStore, runFixture, sortByTitle, workdir, type StoredTicket } from './helpers.js';

// No stderr lines and no exit hooks: many handlers live in this one test process.
const quiet = { onError: () => {}, exitFlushMs: 0 };

function checkServiceTickets(t: ExecutionContext, tickets: readonly StoredTicket[]): void {
  t.is(tickets.length, 3, tickets.map((x) => x.title).join(' | '));
  const charge = tickets.find((x) => x.function === 'charge')!;
  t.like(charge, { level: 14, channel: 'shop', occurrenceCount: 2, appId: 'shop', title: 'card expired for order 1' });
  t.regex(charge.location, /^test\/fixtures\/winston-service\.ts:\d+$/);
  const data = charge.occurrences[1]!.data;
  t.like(data.error, { name: 'TypeError', message: 'card expired for order 2' });
  t.regex(data.error.stack, /^TypeError: card expired for order 2\n\s+at charge \(/);
  t.like(data.extra, { service: 'shop' });
  for (const key of ['level', 'message', 'stack', 'timestamp']) t.false(key in data.extra, key);

  const ship = tickets.find((x) => x.function === 'ship')!;
  t.like(ship, { level: 14, occurrenceCount: 1, title: 'shipping failed: no stock for order 3' });
  t.like(ship.occurrences[0]!.data.error, { name: 'RangeError', message: 'no stock for order 3' });

  const disk = byTitle(tickets, 'disk almost full')!;
  t.like(disk, { level: 13, channel: 'shop' });
  t.like(disk.occurrences[0]!.data.extra, { service: 'shop', percent: 91 });
}

for (const ending of ['end', 'natural', 'exit']) {
  test(`a winston logger with the transport from a JSON config file (process ending: ${ending})`, async (t) => {
    const work = workdir(t);
    const result = await runFixture('winston-service.ts', [work.config(), ending]);
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /"message":"order served"/); // the console transport is untouched
    checkServiceTickets(t, await readStore(work.store));
  });
}

async function inProcess(
  t: ExecutionContext,
  loggerOptions: winston.LoggerOptions = {},
  transportOptions: LogticketsTransportOptions = {},
  handlerLevel = 'WARNING',
) {
  const work = workdir(t);
  const handler = new TicketingHandler(work.store, { ...quiet, appId: 'shop', level: handlerLevel, projectRoot });
  t.teardown(() => handler.close());
  const transport = new LogticketsTransport({ handler, ...transportOptions });
  const logger = winston.createLogger({ ...loggerOptions, transports: [transport] });
  const tickets = async () => {
    t.true(await transport.flush(10_000));
    return readStore(work.store);
  };
  return { work, handler, transport, logger, tickets };
}

test('npm levels map to logtickets levels', async (t) => {
  const { logger, tickets } = await inProcess(t, { level: 'silly' }, {}, 'TRACE');
  for (const level of ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']) logger.log(level, `at ${level}`);
  const levels = Object.fromEntries((await tickets()).map((x) => [x.title, x.level]));
  t.deepEqual(levels, {
    'at error': 14,
    'at warn': 13,
    'at info': 11,
    'at http': 11,
    'at verbose': 10,
    'at debug': 10,
    'at silly': 9,
  });
});

test('syslog levels map to logtickets levels', async (t) => {
  const { logger, tickets } = await inProcess(t, { levels: winston.config.syslog.levels, level: 'debug' }, {}, 'TRACE');
  const names = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug'];
  for (const level of names) logger.log(level, `at ${level}`);
  const levels = Object.fromEntries((await tickets()).map((x) => [x.title, x.level]));
  t.deepEqual(levels, {
    'at emerg': 15,
    'at alert': 15,
    'at crit': 15,
    'at error': 14,
    'at warning': 13,
    'at notice': 12,
    'at info': 11,
    'at debug': 10,
  });
});

test('records below WARNING are ignored; the transport level (winston) filters before that', async (t) => {
  const first = await inProcess(t, { level: 'silly' });
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

test('every way of logging an error keeps its name, message and stack', async (t) => {
  const plain = await inProcess(t);
  const withErrorsFormat = await inProcess(t, { format: winston.format.errors({ stack: true }) });
  const made = (name: string) => Object.assign(new SyntaxError(`bad ${name}`), { code: `E_${name.toUpperCase()}` });
  plain.logger.error(made('alone'));
  plain.logger.error('with text:', made('after'));
  plain.logger.log({ level: 'error', message: made('message') as unknown as string });
  plain.logger.error('as meta', { error: made('meta') });
  withErrorsFormat.logger.error(made('formatted'));
  withErrorsFormat.logger.error('formatted meta', { err: made('err') });
  // All made on one line: one call site, so one ticket per logger; every occurrence keeps its error.
  const tickets = [...(await plain.tickets()), ...(await withErrorsFormat.tickets())];
  t.deepEqual(
    tickets.map((x) => [x.function, x.occurrenceCount]),
    [
      ['made', 4],
      ['made', 2],
    ],
  );
  const occurrences = tickets.flatMap((x) => x.occurrences.map((o) => o.data));
  t.deepEqual(occurrences.map((data) => data.message).sort(), [
    'as meta',
    'bad alone',
    'bad formatted',
    'bad message',
    'formatted meta',
    'with text: bad after',
  ]);
  for (const { message, error, extra } of occurrences) {
    t.is(error.name, 'SyntaxError', message);
    t.regex(error.message, /^bad \w+$/, message);
    t.regex(error.stack, /^SyntaxError: bad \w+\n\s+at made \(.*winston\.test\.ts:\d+:\d+\)/, message);
    t.false('stack' in extra, message);
  }
  t.is(occurrences.find((data) => data.message === 'bad alone')!.error.code, 'E_ALONE');
});

test('two different errors are two tickets, the same error twice is one ticket with 2 occurrences', async (t) => {
  const { logger, tickets } = await inProcess(t);
  const refused = (port: number) => new Error(`connection refused on ${port}`);
  const timedOut = () => new Error('timed out');
  for (const port of [5432, 6379]) logger.error(refused(port));
  logger.error(timedOut());
  const found = await tickets();
  t.is(found.length, 2);
  t.like(
    found.find((x) => x.function === 'refused'),
    { occurrenceCount: 2 },
  );
  t.like(
    found.find((x) => x.function === 'timedOut'),
    { occurrenceCount: 1 },
  );
});

test('metadata is extra data without winston symbols; timestamp is the time; channel from label or service', async (t) => {
  const labelled = await inProcess(t, {
    defaultMeta: { service: 'shop' },
    format: winston.format.combine(
      winston.format.label({ label: 'shop.db' }),
      winston.format.timestamp({ format: () => '2020-01-02T03:04:05.678Z' }),
    ),
  });
  labelled.logger.warn('slow query', { table: 'orders', ms: 812, nested: { deep: [1, 2] } });
  const [ticket] = await labelled.tickets();
  t.is(ticket!.channel, 'shop.db');
  const occurrence = ticket!.occurrences[0]!;
  t.is(occurrence.time, '2020-01-02T03:04:05.678Z');
  t.deepEqual(occurrence.data.extra, {
    service: 'shop',
    label: 'shop.db',
    table: 'orders',
    ms: 812,
    nested: { deep: [1, 2] },
  });

  const service = await inProcess(t, { defaultMeta: { service: 'billing' } });
  service.logger.warn('from the service');
  t.is((await service.tickets())[0]!.channel, 'billing');
  const bare = await inProcess(t);
  bare.logger.warn('from nowhere');
  t.is((await bare.tickets())[0]!.channel, 'winston');
  const fixed = await inProcess(t, { defaultMeta: { service: 'billing' } }, { channel: 'payments' });
  fixed.logger.warn('fixed');
  t.is((await fixed.tickets())[0]!.channel, 'payments');
});

test('a caller field is the call site; levelMap names custom levels; fingerprintKey groups', async (t) => {
  const levels = { fatal: 0, error: 1, warn: 2, audit: 3, info: 4 };
  const { logger, tickets } = await inProcess(
    t,
    { levels, level: 'info' },
    { levelMap: { audit: 'NOTICE' }, fingerprintKey: 'group' },
    'NOTICE',
  );
  logger.log('fatal', 'out of memory', { caller: `at allocate (${projectRoot}src/pool.js:12:3)` });
  logger.log('audit', 'login as admin');
  logger.log('error', 'first', { group: 'db' });
  logger.log('error', 'second', { group: 'db' });
  const found = sortByTitle(await tickets());
  t.deepEqual(
    found.map((x) => [x.title, x.level, x.occurrenceCount]),
    [
      ['first', 14, 2],
      ['login as admin', 12, 1],
      ['out of memory', 15, 1],
    ],
  );
  t.like(found[2], { location: 'src/pool.js:12', function: 'allocate' });
  t.false('caller' in found[2]!.occurrences[0]!.data.extra);
});

test('an info with a property that throws when read is stored, the getter reported in the data', async (t) => {
  // winston's default json format would read it first: an application with its own formats only.
  const { logger, tickets } = await inProcess(t, { format: winston.format((info) => info)() });
  const info = {
    level: 'warn',
    message: 'hostile info',
    ok: 1,
    get broken(): never {
      throw new Error('no access');
    },
  };
  t.notThrows(() => logger.log(info));
  const [ticket] = await tickets();
  const extra = ticket!.occurrences[0]!.data.extra;
  t.is(extra.ok, 1);
  t.regex(String(extra.broken), /Thrown/);
});

test('close() flushes a handler you passed in and leaves it open', async (t) => {
  const { logger, transport, handler, work } = await inProcess(t);
  logger.error('before close');
  t.true(await transport.close());
  t.deepEqual(
    (await readStore(work.store)).map((x) => x.title),
    ['before close'],
  );
  handler.run(() => new Logger('after').error('the handler still works'));
  t.true(await handler.flush({ timeoutMs: 10_000 }));
  t.is((await readStore(work.store)).length, 2);
});

test('logger.end(): finish comes once the handler made from a config is flushed and closed', async (t) => {
  const work = workdir(t);
  const transport = new LogticketsTransport({ config: work.config({ appId: 'billing' }) });
  const logger = winston.createLogger({ transports: [transport] });
  for (let i = 0; i < 3; i++) logger.error(new Error(`invoice ${i} lost`));
  logger.end();
  await new Promise((resolve) => logger.once('finish', resolve));
  const tickets = await readStore(work.store);
  t.is(tickets.length, 1);
  t.like(tickets[0], { appId: 'billing', occurrenceCount: 3 });
  t.true(await transport.close()); // already closed: the same answer
});

// A bad option or config leaves the transport off with one line on stderr, never a throw: see
// fail-safe.test.ts, where each case runs as its own service so that line can be checked.
