import test from 'ava';
import {
  callSiteFromError,
  handleForeign,
  Level,
  MemoryBackend,
  parseCallSite,
  TicketingHandler,
} from '../../src/index.js';
import { groupingText } from '../../src/integrations/foreign-record.js';

test('call sites are read from stack lines and file:line[:column] text', (t) => {
  t.deepEqual(parseCallSite('    at chargeCard (/srv/shop/pay.js:41:7)'), {
    path: '/srv/shop/pay.js',
    line: 41,
    column: 7,
    function: 'chargeCard',
  });
  t.deepEqual(parseCallSite('at async Server.handle (file:///srv/shop/server.mjs:10:3)'), {
    path: '/srv/shop/server.mjs',
    line: 10,
    column: 3,
    function: 'Server.handle',
  });
  t.deepEqual(parseCallSite('/srv/shop/pay.js:41'), { path: '/srv/shop/pay.js', line: 41, column: 0, function: null });
  t.is(parseCallSite('no location here'), null);
});

test("an error's call site is its first application frame, not Node's or a dependency's", (t) => {
  const error = {
    stack: [
      'Error: boom',
      '    at Socket.emit (node:events:519:28)',
      '    at parse (/srv/shop/node_modules/lib/parse.js:3:9)',
      '    at loadCart (/srv/shop/cart.js:88:15)',
      '    at main (/srv/shop/index.js:5:1)',
    ].join('\n'),
  };
  t.like(callSiteFromError(error), { path: '/srv/shop/cart.js', line: 88, function: 'loadCart' });
  t.like(callSiteFromError({ stack: 'Error: x\n    at f (/srv/node_modules/a/b.js:1:1)' }), {
    path: '/srv/node_modules/a/b.js',
  });
  t.is(callSiteFromError('not an error'), null);
});

test('without a call site, records are grouped by their message with what varies masked', (t) => {
  t.is(groupingText('user 17 not found'), groupingText('user 4242 not found'));
  t.is(
    groupingText('order 3f2a9c1e-1b2c-4d5e-8f90-123456789abc failed after 1.5 s'),
    groupingText('order 0e2a9c1e-1b2c-4d5e-8f90-ffffffffffff failed after 30 s'),
  );
  t.is(groupingText('cannot open "a.txt"'), groupingText('cannot open "b.txt"'));
  t.not(groupingText('user 17 not found'), groupingText('cart 17 not found'));
});

test('foreign records respect the level and filter, keep their time, and become tickets', async (t) => {
  const store = new MemoryBackend();
  const handler = new TicketingHandler(store, { filter: (record) => record.channel !== 'noisy' });
  const time = Date.parse('2026-01-02T03:04:05.000Z');
  t.false(handleForeign(handler, { level: Level.INFO, channel: 'svc', message: 'fine' }));
  t.false(handleForeign(handler, { level: Level.ERROR, channel: 'noisy', message: 'filtered' }));
  t.true(handleForeign(handler, { level: Level.ERROR, channel: 'svc', message: 'user 1 not found', time }));
  t.true(handleForeign(handler, { level: Level.ERROR, channel: 'svc', message: 'user 2 not found', time }));
  t.true(
    handleForeign(handler, {
      level: Level.ERROR,
      channel: 'svc',
      message: 'with a site',
      callSite: '/srv/app/x.js:3:1',
    }),
  );
  t.true(await handler.close());
  const tickets = (await store.getTickets()).sort((a, b) => b.occurrenceCount - a.occurrenceCount);
  t.deepEqual(
    tickets.map((x) => [x.title, x.occurrenceCount, x.location]),
    [
      ['user 1 not found', 2, '<unknown>:0'],
      ['with a site', 1, '/srv/app/x.js:3'],
    ],
  );
  t.is(tickets[0]!.firstSeen, '2026-01-02T03:04:05.000Z');
});

test('a broken foreign record is reported, never thrown into the caller', (t) => {
  const handler = new TicketingHandler(new MemoryBackend(), { exitFlushMs: 0 });
  t.notThrows(() => handleForeign(handler, null as never));
  t.notThrows(() => handleForeign(handler, { level: Level.ERROR, channel: 'x', message: 'ok', time: 'not a date' }));
});
