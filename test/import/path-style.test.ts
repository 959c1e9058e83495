/**
 * The handler's pathStyle: `absolute` hashes the call-site file as it is,
 * which is Logbook's hash byte for byte (REFERENCE.md's test vector); the
 * default stays relative to the project root; a bad value is an error, in
 * the handler's options and in a config file, named by its JSON path.
 */

import test from 'ava';
import {
  ConfigError,
  handleForeign,
  loadConfig,
  LogticketsError,
  logbookHash,
  MemoryBackend,
  TicketingHandler,
  type TicketingHandlerOptions,
} from '../../src/index.js';

const VECTOR = '40c86d6144fca10437b51b75d58f5e2955dba643';

async function ticketOf(options: TicketingHandlerOptions) {
  const store = new MemoryBackend();
  const handler = new TicketingHandler(store, { projectRoot: '/srv/app', exitFlushMs: 0, ...options });
  handleForeign(handler, { level: 14, channel: 'myapp', message: 'boom', callSite: '/srv/app/views.py:42' });
  await handler.close();
  const [ticket] = await store.getTickets();
  return ticket!;
}

test("pathStyle 'absolute' gives Logbook's hash of the test vector, and its file:line location", async (t) => {
  t.is(
    logbookHash({ level: 14, channel: 'myapp', filename: '/srv/app/views.py', lineno: 42, salt: 'apphash-generic' }),
    VECTOR,
  );
  const ticket = await ticketOf({ pathStyle: 'absolute' });
  t.is(ticket.hash, VECTOR);
  t.is(ticket.location, '/srv/app/views.py:42');
});

test('the default names the file relative to the project root: another hash', async (t) => {
  for (const options of [{}, { pathStyle: 'relative' } as const]) {
    const ticket = await ticketOf(options);
    t.is(ticket.location, 'views.py:42');
    t.is(
      ticket.hash,
      logbookHash({ level: 14, channel: 'myapp', filename: 'views.py', lineno: 42, salt: 'apphash-generic' }),
    );
    t.not(ticket.hash, VECTOR);
  }
});

test('a config file sets it; a bad value is named by its JSON path', async (t) => {
  t.is(loadConfig({ handler: { pathStyle: 'absolute' } }, { env: {} }).config.handler?.pathStyle, 'absolute');
  for (const value of ['Absolute', 1, null]) {
    const error = t.throws(() => loadConfig({ handler: { pathStyle: value } }, { env: {} }), {
      instanceOf: ConfigError,
    });
    t.deepEqual(error.problems, ['handler.pathStyle: invalid option: expected one of "relative"|"absolute"']);
  }
});

test('a bad value in the handler options is an INVALID_ARGUMENT error', (t) => {
  const error = t.throws(
    () => new TicketingHandler(new MemoryBackend(), { pathStyle: 'full' as never, exitFlushMs: 0 }),
    { instanceOf: LogticketsError },
  );
  t.is(error.code, 'INVALID_ARGUMENT');
  t.is(error.message, 'options.pathStyle must be one of relative, absolute, got "full"');
});
