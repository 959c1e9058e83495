/**
 * A ticket's title names its error when the message alone would not:
 * `log.error({ error }, 'request failed')` from two places gives
 * `request failed: <each error's message>`. The title is redacted like the
 * message, bounded by titleLength, and the fingerprint does not depend on it.
 */

import test from 'ava';
import { Logger, MemoryBackend, TicketingHandler } from '../../src/index.js';

async function tickets(
  log: (logger: Logger) => void,
  options: ConstructorParameters<typeof TicketingHandler>[1] = {},
): Promise<Awaited<ReturnType<MemoryBackend['getTickets']>>> {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, { onError: () => {}, ...options });
  handler.run(() => log(new Logger('svc')));
  if (!(await handler.flush())) throw new Error('not flushed');
  const found = await backend.getTickets();
  await handler.close();
  return found;
}

test('one template logged with an error from two call sites: two tickets, each titled with its error', async (t) => {
  const found = await tickets((log) => {
    const fetchUser = () => log.error({ error: new Error('connect ECONNREFUSED 10.0.0.7:5432') }, 'request failed');
    const fetchCart = () => log.error({ error: new TypeError('cart.items is undefined') }, 'request failed');
    fetchUser();
    fetchCart();
  });
  t.deepEqual(found.map((x) => x.title).sort(), [
    'request failed: cart.items is undefined',
    'request failed: connect ECONNREFUSED 10.0.0.7:5432',
  ]);
});

test('the error does not change the fingerprint: one call site with two errors is one ticket', async (t) => {
  const errors = [new Error('timeout after 30 s'), new Error('socket hang up'), undefined];
  const found = await tickets((log) => {
    for (const error of errors) log.error(error === undefined ? {} : { error }, 'request failed');
  });
  t.is(found.length, 1);
  // The title is the first occurrence's.
  t.like(found[0], { occurrenceCount: 3, title: 'request failed: timeout after 30 s' });
});

test('the same fingerprint with and without an error, whatever the title', async (t) => {
  const found: Array<{ title: string; hash: string }> = [];
  for (const error of [new Error('boom'), undefined]) {
    const [ticket] = await tickets((log) => {
      // One call site for both handlers: this line.
      log.error(error === undefined ? {} : { error }, 'request failed');
    });
    found.push(ticket!);
  }
  t.deepEqual(
    found.map((x) => x.title),
    ['request failed: boom', 'request failed'],
  );
  t.is(found[0]!.hash, found[1]!.hash);
});

test('nothing is added when the message says the error already, or when there is none', async (t) => {
  const found = await tickets((log) => {
    log.exception(new Error('disk full'));
    log.error(new Error('quota exceeded'), 'write failed: quota exceeded');
    log.error({ error: new Error('') }, 'empty error message');
    log.error({ extra: { a: 1 } }, 'no error at all');
    log.error({ error: 'ETIMEDOUT' }, 'upstream failed');
    log.error({ error: { code: 'E1', message: 'plain object error' } }, 'lookup failed');
  });
  t.deepEqual(
    found.map((x) => x.title).sort(),
    [
      'disk full',
      'write failed: quota exceeded',
      'empty error message',
      'no error at all',
      'upstream failed: ETIMEDOUT',
      'lookup failed: plain object error',
    ].sort(),
  );
});

test('the title is redacted like the message, one line, and bounded by titleLength', async (t) => {
  const found = await tickets(
    (log) => {
      log.error({ error: new Error('login refused, password=hunter2\nretry later') }, 'auth failed');
      log.error({ error: new Error('x'.repeat(200)) }, 'long');
    },
    { titleLength: 40 },
  );
  const secret = found.find((x) => x.title.startsWith('auth'));
  const long = found.find((x) => x.title.startsWith('long'));
  t.is(secret!.title, 'auth failed: login refused, password=[R…');
  t.false(secret!.title.includes('hunter2'));
  t.is(long!.title.length, 40);
  t.true(long!.title.startsWith('long: xxx'));
  t.true(long!.title.endsWith('…'));
  const [wide] = await tickets((log) => {
    log.error({ error: new Error('login refused, password=hunter2\nretry later') }, 'auth failed');
  });
  t.is(wide!.title, 'auth failed: login refused, password=[REDACTED] retry later');
});
