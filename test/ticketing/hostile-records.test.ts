/**
 * Every record that reaches a handler becomes an occurrence (with a marker
 * for what could not be read) or is counted under a named drop reason; and
 * flush()/close() resolve true only when nothing accepted was lost.
 */

import test from 'ava';
import {
  handleForeign,
  Level,
  Logger,
  MemoryBackend,
  TicketingHandler,
  type StoredOccurrence,
  type TicketingHandlerOptions,
} from '../../src/index.js';

const quiet: TicketingHandlerOptions = { onError: () => {} };
const boom = (): never => {
  throw new Error('boom');
};

/** Every trap of this Proxy throws, including the one `instanceof` uses. */
function hostileProxy(): object {
  return new Proxy(
    {},
    {
      get: boom,
      has: boom,
      ownKeys: boom,
      getPrototypeOf: boom,
      getOwnPropertyDescriptor: boom,
    },
  );
}

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

function errorWith(getters: Record<string, () => unknown>): Error {
  const error = new Error('base');
  for (const [key, get] of Object.entries(getters)) Object.defineProperty(error, key, { get, enumerable: true });
  return error;
}

const unprintable = { toString: boom };
const unconvertible = { [Symbol.toPrimitive]: boom };

type Call = (log: Logger) => void;
/** What must become of the record: its stored data matches `data` (values are regexes or literals). */
interface Shape {
  readonly name: string;
  readonly call: Call;
  readonly data: Record<string, RegExp | string>;
}

const shapes: Shape[] = [
  {
    name: 'an Error first whose message getter throws',
    call: (log) => log.error(errorWith({ message: boom })),
    data: { message: /\[Thrown: boom\]/, error: /Thrown: boom/ },
  },
  {
    name: 'an Error first whose message getter throws, with a context message',
    call: (log) => log.error(errorWith({ message: boom }), 'while paying %s', 'ann'),
    data: { message: 'while paying ann', error: /Thrown: boom/ },
  },
  {
    name: 'an Error whose stack, name and cause getters throw',
    call: (log) => log.error(errorWith({ stack: boom, name: boom, cause: boom })),
    data: { message: 'base', error: /Thrown: boom/ },
  },
  {
    name: 'an options object whose extra getter throws',
    call: (log) =>
      log.error(
        {
          get extra(): never {
            return boom();
          },
        },
        'order failed',
      ),
    data: { message: 'order failed', extra: /\[Thrown: boom\]/ },
  },
  {
    name: 'an options object whose error getter throws',
    call: (log) =>
      log.error(
        {
          get error(): never {
            return boom();
          },
        },
        'order failed',
      ),
    data: { message: 'order failed', error: /\[Thrown: boom\]/ },
  },
  {
    name: 'an options object whose fingerprint getter throws',
    call: (log) =>
      log.error(
        {
          get fingerprint(): never {
            return boom();
          },
        },
        'order failed',
      ),
    data: { message: 'order failed', fingerprint: /\[Thrown: boom\]/ },
  },
  {
    name: 'a fingerprint whose toString throws',
    call: (log) => log.error({ fingerprint: unprintable as never }, 'order failed'),
    data: { message: 'order failed', fingerprint: /\[Thrown: boom\]/ },
  },
  {
    name: 'a fingerprint array holding a throwing Symbol.toPrimitive',
    call: (log) => log.error({ fingerprint: ['orders', unconvertible] as never }, 'order failed'),
    data: { message: 'order failed', fingerprint: /\[Thrown: boom\]/ },
  },
  {
    name: 'a Proxy first whose every trap throws',
    call: (log) => log.error(hostileProxy() as never, 'order failed'),
    data: { message: 'order failed', extra: /\[Thrown: boom\]/, error: /\[Thrown: boom\]/ },
  },
  {
    name: 'a revoked Proxy first',
    call: (log) => log.error(revoked() as never, 'order failed'),
    data: { message: 'order failed', extra: /\[Thrown: .*revoked/ },
  },
  {
    name: 'a revoked Proxy as the error',
    call: (log) => log.error({ error: revoked() }, 'order failed'),
    data: { message: 'order failed', error: /\[Thrown: .*revoked/ },
  },
  {
    name: 'an extra that is a Proxy whose every trap throws',
    call: (log) => log.error({ extra: hostileProxy() as never }, 'order failed'),
    data: { message: 'order failed', extra: /\[Thrown: boom\]/ },
  },
  {
    name: 'an extra with a throwing getter among good keys',
    call: (log) =>
      log.error(
        {
          extra: {
            id: 7,
            get bad(): never {
              return boom();
            },
          },
        },
        'order failed',
      ),
    data: { message: 'order failed', extra: /"id":7.*\[Thrown: boom\]/ },
  },
  {
    name: 'a %s argument whose toString throws',
    call: (log) => log.error('order %s failed', unprintable),
    data: { message: /order \[unprintable\] failed/ },
  },
  {
    name: 'a %j argument whose toJSON throws',
    call: (log) => log.error('order %j failed', { toJSON: boom }),
    data: { message: /order "\[Thrown by toJSON: boom\]" failed/ },
  },
  {
    name: 'a %d argument whose Symbol.toPrimitive throws',
    call: (log) => log.error('order %d failed', unconvertible),
    data: { message: 'order [unprintable] failed' },
  },
  {
    name: 'a message that is an object with a throwing toString after options',
    call: (log) => log.error({}, unprintable as never),
    data: { message: /\[unprintable: boom\]/ },
  },
  {
    name: 'a function first whose toString throws',
    call: (log) => log.error(Object.assign(() => 1, { toString: boom }) as never),
    data: { message: /\[unprintable: boom\]/ },
  },
  {
    name: 'exception() with an Error whose message getter throws',
    call: (log) => log.exception(errorWith({ message: boom })),
    data: { message: /\[Thrown: boom\]/ },
  },
  {
    name: 'exception() with a revoked Proxy',
    call: (log) => log.exception(revoked()),
    data: { message: /\[unprintable: .*revoked/ },
  },
  {
    name: 'exception() with a non-string message argument',
    call: (log) => log.exception(new Error('x'), unconvertible as never),
    data: { message: /\[unprintable: boom\]/ },
  },
  {
    name: 'an options object without a prototype',
    call: (log) => log.error(Object.assign(Object.create(null), { extra: { a: 1 } }), 'order failed'),
    data: { message: 'order failed', extra: /"a":1/ },
  },
];

function matches(
  t: { regex(s: string, r: RegExp, m?: string): void; is(a: unknown, b: unknown, m?: string): void },
  data: any,
  want: Shape['data'],
): void {
  for (const [key, expected] of Object.entries(want)) {
    const value = data[key];
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (expected instanceof RegExp) t.regex(text, expected, key);
    else t.is(text, expected, key);
  }
}

for (const shape of shapes) {
  test(`hostile input becomes an occurrence with a marker: ${shape.name}`, async (t) => {
    const backend = new MemoryBackend();
    const handler = new TicketingHandler(backend, quiet);
    handler.run(() => shape.call(new Logger('svc')));
    t.true(await handler.close(), 'close() says nothing was lost');
    const tickets = await backend.getTickets();
    t.is(tickets.length, 1);
    const [occurrence] = (await backend.getOccurrences(tickets[0]!.id)) as StoredOccurrence[];
    matches(t, occurrence!.data, shape.data);
    const stats = handler.stats();
    t.is(stats.written, 1);
    t.is(
      Object.values(stats.dropped).reduce((a, b) => a + b, 0),
      0,
    );
  });
}

test('all hostile shapes in one handler: each one counted exactly once', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, quiet);
  handler.run(() => {
    for (const shape of shapes) shape.call(new Logger('svc'));
  });
  t.true(await handler.flush());
  const total = (await backend.getTickets({ limit: 1000 })).reduce((n, x) => n + x.occurrenceCount, 0);
  t.is(total, shapes.length);
  t.is(handler.stats().written, shapes.length);
});

interface LostShape {
  readonly name: string;
  readonly options?: TicketingHandlerOptions;
  readonly act: (handler: TicketingHandler) => void;
  readonly reason: string;
}

const lostShapes: LostShape[] = [
  {
    name: 'a filter that throws',
    options: { filter: boom },
    act: (h) => h.run(() => new Logger('svc').error('x')),
    reason: 'filter_error',
  },
  {
    name: 'a foreign record with a NaN level',
    act: (h) => handleForeign(h, { level: Number.NaN, channel: 'svc', message: 'x' }),
    reason: 'invalid',
  },
  {
    name: 'a foreign record with an unknown level name',
    act: (h) => handleForeign(h, { level: 'bogus' as never, channel: 'svc', message: 'x' }),
    reason: 'invalid',
  },
  {
    name: 'a foreign record with a level out of range',
    act: (h) => handleForeign(h, { level: 5000, channel: 'svc', message: 'x' }),
    reason: 'invalid',
  },
  {
    name: 'a foreign record that is null',
    act: (h) => handleForeign(h, null as never),
    reason: 'invalid',
  },
  {
    name: 'a foreign record whose level getter throws',
    act: (h) =>
      handleForeign(h, {
        get level(): never {
          return boom();
        },
        channel: 'svc',
        message: 'x',
      }),
    reason: 'invalid',
  },
];

for (const shape of lostShapes) {
  test(`a lost record is counted by name and close() says so: ${shape.name}`, async (t) => {
    const backend = new MemoryBackend();
    const reported: string[] = [];
    const handler = new TicketingHandler(backend, { onError: (e) => reported.push(e.message), ...shape.options });
    t.notThrows(() => shape.act(handler));
    t.false(await handler.flush(), 'flush() says something was lost');
    t.false(await handler.close(), 'close() says something was lost');
    const stats = handler.stats();
    t.is((stats.dropped as Record<string, number>)[shape.reason], 1);
    t.is(
      Object.values(stats.dropped).reduce((a, b) => a + b, 0),
      1,
    );
    t.is(stats.written, 0);
    t.is((await backend.getTickets()).length, 0);
    t.true(reported.length >= 1, 'the loss is reported through onError');
  });
}

test('a foreign record with a level name or a valid number is taken', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, quiet);
  t.true(handleForeign(handler, { level: 'error' as never, channel: 'svc', message: 'by name' }));
  t.true(handleForeign(handler, { level: Level.CRITICAL, channel: 'svc', message: 'by number' }));
  t.false(handleForeign(handler, { level: 'info' as never, channel: 'svc', message: 'below the level' }));
  t.true(await handler.close());
  t.is((await backend.getTickets()).length, 2);
});

test('a foreign record with throwing getters keeps what could be read', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, quiet);
  const input = {
    level: Level.ERROR,
    channel: 'svc',
    get message(): never {
      return boom();
    },
    get extra(): never {
      return boom();
    },
    get time(): never {
      return boom();
    },
  };
  t.true(handleForeign(handler, input));
  t.true(await handler.close());
  const [ticket] = await backend.getTickets();
  const [occurrence] = await backend.getOccurrences(ticket!.id);
  const data = occurrence!.data as Record<string, unknown>;
  t.regex(String(data.message), /\[Thrown: boom\]/);
  t.regex(JSON.stringify(data.extra), /\[Thrown: boom\]/);
  t.is(data.channel, 'svc');
});

test('one lost record among good ones: the good ones are written, close() still says false', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, quiet);
  const log = new Logger('svc');
  handler.run(() => {
    log.error('good 1');
    handleForeign(handler, { level: Number.NaN, channel: 'svc', message: 'bad' });
    log.error('good 2');
  });
  t.false(await handler.close());
  t.is(handler.stats().written, 2);
  t.is(handler.stats().dropped.invalid, 1);
});

const keptForeign: Array<[string, Record<string, unknown>]> = [
  ['a time past what a Date holds (nanoseconds)', { time: 1e20 }],
  ['a time far before 1970', { time: -1e16 }],
  ['a call site object without a path', { callSite: {} }],
  ['a call site whose path is a number', { callSite: { path: 5, line: 1 } }],
  ['a call site that is a revoked Proxy', { callSite: revoked() }],
  [
    'a call site whose getter throws',
    {
      callSite: {
        get path(): never {
          return boom();
        },
        line: 1,
      },
    },
  ],
  [
    'a fingerprint whose getter throws',
    {
      get fingerprint(): never {
        return boom();
      },
    },
  ],
];

for (const [name, fields] of keptForeign) {
  test(`a foreign record with ${name} is kept, not dropped`, async (t) => {
    const backend = new MemoryBackend();
    const handler = new TicketingHandler(backend, quiet);
    const make = (message: string) =>
      Object.defineProperties(
        { level: Level.ERROR, channel: 'svc', message },
        Object.getOwnPropertyDescriptors(fields),
      );
    t.true(handleForeign(handler, make('user 1 not found') as never));
    t.true(handleForeign(handler, make('disk full') as never));
    t.true(await handler.close());
    // Without a usable call site or fingerprint, records group by message: two problems, two tickets.
    t.is((await backend.getTickets()).length, 2);
    t.is(handler.stats().written, 2);
  });
}

test('a filter that logs: records nested too deep are counted, none vanish', async (t) => {
  const backend = new MemoryBackend();
  const log = new Logger('svc');
  let calls = 0;
  const handler = new TicketingHandler(backend, {
    ...quiet,
    filter: () => {
      calls++;
      log.error('logged from inside the filter');
      return true;
    },
  });
  handler.run(() => log.error('outer'));
  await handler.flush();
  const stats = handler.stats();
  const dropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
  t.true(stats.dropped.handler_error >= 1, 'the records past the nesting bound are counted');
  // Every record offered to the handler was either written or counted.
  t.is(stats.written + dropped, calls + stats.dropped.handler_error);
  t.false(await handler.close());
});
