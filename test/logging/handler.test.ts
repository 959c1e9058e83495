import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { Level, LogticketsError, Logger, TestHandler } from '../../src/index.js';

const log = new Logger('handlers');

test('run() keeps a handler active across awaits, and only there', async (t) => {
  const handler = new TestHandler();
  await handler.run(async () => {
    log.error('before');
    await sleep(5);
    await Promise.all([
      sleep(1).then(() => log.error('in a promise')),
      new Promise<void>((r) => setImmediate(() => (log.error('in setImmediate'), r()))),
    ]);
  });
  log.error('outside');
  t.deepEqual(handler.records.map((r) => r.message).sort(), ['before', 'in a promise', 'in setImmediate']);
});

test('concurrent scopes do not see each other', async (t) => {
  const a = new TestHandler();
  const b = new TestHandler();
  await Promise.all([
    a.run(async () => {
      await sleep(3);
      log.error('a');
    }),
    b.run(async () => {
      log.error('b');
      await sleep(6);
      log.error('b again');
    }),
  ]);
  t.deepEqual(
    a.records.map((r) => r.message),
    ['a'],
  );
  t.deepEqual(
    b.records.map((r) => r.message),
    ['b', 'b again'],
  );
});

test('the innermost handler sees a record first; bubble decides whether outer ones do', (t) => {
  const outer = new TestHandler();
  const stopping = new TestHandler({ level: 'ERROR' });
  const bubbling = new TestHandler({ level: 'WARNING', bubble: true });
  outer.run(() =>
    stopping.run(() =>
      bubbling.run(() => {
        log.error('error: bubbling passes it on, stopping keeps it');
        log.warn('warning: below stopping, so it reaches outer');
        log.info('info: only outer takes it');
      }),
    ),
  );
  t.deepEqual(
    bubbling.records.map((r) => r.levelName),
    ['ERROR', 'WARNING'],
  );
  t.deepEqual(
    stopping.records.map((r) => r.levelName),
    ['ERROR'],
  );
  t.deepEqual(
    outer.records.map((r) => r.levelName),
    ['WARNING', 'INFO'],
  );
});

test('a filter chooses records; a rejected record goes on to the next handler', (t) => {
  const outer = new TestHandler();
  const payments = new TestHandler({ filter: (record) => record.channel.startsWith('pay') });
  outer.run(() =>
    payments.run(() => {
      new Logger('payments').error('mine');
      new Logger('search').error('not mine');
    }),
  );
  t.deepEqual(
    payments.records.map((r) => r.message),
    ['mine'],
  );
  t.deepEqual(
    outer.records.map((r) => r.message),
    ['not mine'],
  );
});

// Serial: an application-wide handler would also see the records of tests running beside it.
test.serial('application-wide handlers, pushed and popped', async (t) => {
  const app = new TestHandler({ level: Level.WARNING }).pushApplication();
  try {
    log.warn('anywhere');
    await sleep(1);
    setImmediate(() => log.error('even in callbacks'));
    await sleep(5);
    const scoped = new TestHandler();
    scoped.run(() => log.error('scoped handlers come first'));
    t.deepEqual(
      app.records.map((r) => r.message),
      ['anywhere', 'even in callbacks'],
    );
    t.is(scoped.records.length, 1);
  } finally {
    app.popApplication();
  }
  log.error('after pop');
  t.is(app.records.length, 2);
});

test('bad handler options are typed errors naming the option', (t) => {
  const error = t.throws(() => new TestHandler({ level: 'LOUD' }), { instanceOf: LogticketsError });
  t.regex(error!.message, /level/);
  t.is(error!.code, 'INVALID_ARGUMENT');
  t.throws(() => new TestHandler({ filter: 'yes' as never }), { message: /filter/ });
});
