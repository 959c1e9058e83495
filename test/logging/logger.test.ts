import test from 'ava';
import { Level, Logger, TestHandler, type LogRecord } from '../../src/index.js';

function collect(fn: (log: Logger) => void, options: ConstructorParameters<typeof TestHandler>[0] = {}): LogRecord[] {
  const handler = new TestHandler(options);
  handler.run(() => fn(new Logger('app.test')));
  return handler.records;
}

test('each method logs at its Logbook level', (t) => {
  const records = collect((log) => {
    log.critical('c');
    log.error('e');
    log.warning('w');
    log.warn('w2');
    log.notice('n');
    log.info('i');
    log.debug('d');
    log.trace('t');
    log.log(13, 'by number');
  });
  t.deepEqual(
    records.map((r) => [r.levelName, r.level]),
    [
      ['CRITICAL', 15],
      ['ERROR', 14],
      ['WARNING', 13],
      ['WARNING', 13],
      ['NOTICE', 12],
      ['INFO', 11],
      ['DEBUG', 10],
      ['TRACE', 9],
      ['WARNING', 13],
    ],
  );
});

test('a call takes a message, printf-style arguments, and an options object first', (t) => {
  const cause = new Error('inner');
  const [plain, withOptions] = collect((log) => {
    log.error('order %s failed after %d tries', 'A-1', 3);
    log.error({ extra: { orderId: 'A-1' }, error: cause, fingerprint: 'orders' }, 'failed %s', 'now');
  });
  t.is(plain!.msg, 'order %s failed after %d tries');
  t.deepEqual(plain!.args, ['A-1', 3]);
  t.is(plain!.message, 'order A-1 failed after 3 tries');
  t.is(plain!.channel, 'app.test');
  t.is(withOptions!.message, 'failed now');
  t.deepEqual(withOptions!.extra, { orderId: 'A-1' });
  t.is(withOptions!.error, cause);
  t.is(withOptions!.options.fingerprint, 'orders');
});

test('exception logs the error at ERROR with its message by default', (t) => {
  const error = new TypeError('bad input');
  const [a, b] = collect((log) => {
    log.exception(error);
    log.exception(error, 'while parsing %s', 'x.json');
  });
  t.is(a!.level, Level.ERROR);
  t.is(a!.message, 'bad input');
  t.is(a!.error, error);
  t.is(b!.message, 'while parsing x.json');
});

test('records carry UTC time, process and thread', (t) => {
  const before = Date.now();
  const [record] = collect((log) => log.error('x'));
  t.true(record!.timestamp >= before && record!.timestamp <= Date.now());
  t.regex(record!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.is(record!.process.pid, process.pid);
  t.is(typeof record!.process.hostname, 'string');
  t.is(record!.process.threadId, 0);
});

test('the call site is the caller: file, line, column and function', (t) => {
  let expectedLine = 0;
  function placeOrder(log: Logger) {
    expectedLine = Number(new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]) + 1;
    log.error('boom');
  }
  const [record] = collect((log) => placeOrder(log));
  const site = record!.callSite;
  t.true(site.path.endsWith('test/logging/logger.test.ts'), site.path);
  t.is(site.line, expectedLine);
  t.true(site.column > 1);
  t.is(site.function, 'placeOrder');
});

test('declared wrapper functions are skipped (frame correction)', (t) => {
  const handler = new TestHandler();
  const log = new Logger('wrapped', { wrappers: ['reportProblem', /audit-helper/] });
  function reportProblem(message: string) {
    log.error(message);
  }
  function businessLogic() {
    reportProblem('from business logic');
  }
  handler.run(businessLogic);
  t.is(handler.records[0]!.callSite.function, 'businessLogic');
  const plain = new Logger('plain');
  function unwrapped(message: string) {
    plain.error(message);
  }
  handler.run(() => unwrapped('x'));
  t.is(handler.records[1]!.callSite.function, 'unwrapped', 'without the declaration the wrapper is the call site');
});

test('methods are bound: they can be passed around', (t) => {
  const records = collect((log) => {
    const { error, warn } = log;
    error('detached');
    [1].forEach(() => warn('in a callback'));
  });
  t.deepEqual(
    records.map((r) => r.message),
    ['detached', 'in a callback'],
  );
});

// Serial (this and the next stderr test): they capture stderr, which tests running beside them would share.
test.serial('a logging call never throws into the caller', (t) => {
  const throwingHandler = new TestHandler({
    filter: () => {
      throw new Error('filter bug');
    },
  });
  const hostileExtra = {
    get bad(): never {
      throw new Error('getter');
    },
  };
  const log = new Logger('safe');
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    t.notThrows(() =>
      throwingHandler.run(() => {
        log.error('x');
        log.error({ extra: hostileExtra }, 'y');
        log.error(undefined as never);
        log.error(null as never, 'z');
        log.error('%s %d %j', Symbol('s'), {}, BigInt(1));
        log.exception({
          toString: () => {
            throw new Error('no');
          },
        });
      }),
    );
  } finally {
    process.stderr.write = original;
  }
  t.true(writes.length <= 1, 'a broken handler is reported once, not per record');
  t.true(writes.every((w) => w.startsWith('logtickets:')));
});

test('records below every active handler cost no capture', (t) => {
  const handler = new TestHandler({ level: 'ERROR' });
  handler.run(() => {
    const log = new Logger('quiet');
    log.info('not wanted');
    log.debug('not wanted either');
  });
  t.is(handler.records.length, 0);
});

test("an Error first is the record's error, its message the default", (t) => {
  const error = new TypeError('card expired');
  const [alone, withMessage] = collect((log) => {
    log.error(error);
    log.error(error, 'charging %s', 'ann');
  });
  t.is(alone!.error, error);
  t.is(alone!.message, 'card expired');
  t.is(withMessage!.error, error);
  t.is(withMessage!.message, 'charging ann');
});

test.serial('a level that is not a small integer is reported, not logged', (t) => {
  const writes: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
  const bad: Array<[unknown, string]> = [
    [14.5, '14.5'],
    [1e11, '100000000000'],
    [Number.NaN, 'NaN'],
    [-1, '-1'],
    [null, 'null'],
    ['LOUD', '"LOUD"'],
  ];
  const handler = new TestHandler();
  try {
    handler.run(() => {
      // One logger each: the report is rate-limited per logger.
      bad.forEach(([level], i) => new Logger(`app.level.${i}`).log(level as never, 'not logged'));
      new Logger('app.level.ok').log('error', 'by name');
    });
  } finally {
    process.stderr.write = original;
  }
  t.deepEqual(
    handler.records.map((r) => r.msg),
    ['by name'],
  );
  for (const [, got] of bad) {
    t.true(
      writes.some((w) => w.includes(`level must be a level name or an integer from 0 to 1000, got ${got}`)),
      got,
    );
  }
});

test('wrappers must be names or patterns; a /g pattern matches every time', (t) => {
  for (const bad of [5, null, {}, '']) {
    t.throws(() => new Logger('x', { wrappers: [bad as never] }), {
      message: /options\.wrappers\[0\] must be a function name or a RegExp/,
    });
  }
  function wrapped(log: Logger) {
    log.error('through the wrapper');
  }
  const records = collect(() => {
    const log = new Logger('app.test', { wrappers: [/^wrapped$/g] });
    for (let i = 0; i < 4; i++) wrapped(log);
  });
  t.is(new Set(records.map((r) => `${r.callSite.path}:${r.callSite.line}`)).size, 1);
  t.not(records[0]!.callSite.function, 'wrapped');
});
