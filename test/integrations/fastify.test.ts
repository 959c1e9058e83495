import test, { type ExecutionContext } from 'ava';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Logger } from '../../src/index.js';
import logticketsPlugin, { logticketsPlugin as named } from '../../src/integrations/fastify.js';
import {
  barrier,
  browserHeaders,
  noSecrets,
  occurrences,
  QUERY_SECRET,
  sendConcurrentJobs,
  ticketsStore,
} from './web-helpers.js';

// The handler is active for the whole process (pushApplication): one test at a time.

const log = new Logger('shop');

/** A fastify app that closes when the test ends. */
function newApp(t: ExecutionContext): FastifyInstance {
  const app = Fastify();
  t.teardown(() => app.close());
  return app;
}

/** Listen on 127.0.0.1; the base URL. */
async function serve(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

const crumbs = (data: Record<string, any>): string[] =>
  ((data.breadcrumbs ?? []) as { message: string }[]).map((crumb) => crumb.message);

test.serial('a failed request: method, route, path without query, status, user and allowlisted headers', async (t) => {
  const store = ticketsStore(t);
  const app = newApp(t);
  await app.register(logticketsPlugin, {
    user: (request) => (request as FastifyRequest & { user?: { id: number } }).user?.id,
    headers: ['user-agent', 'accept', 'referer', 'x-request-id'],
  });
  // Authentication comes after: the user hook is asked when a record needs the id.
  app.addHook('preHandler', async (request) => {
    Object.assign(request, { user: { id: 7 } });
  });
  app.setErrorHandler((error: Error, _request, reply) => {
    void reply.status(500).send({ answeredBy: 'the application', error: error.message });
  });
  // Routes in an encapsulated plugin of their own, under a prefix: the plugin applies there too.
  await app.register(
    async (shop) => {
      shop.get('/orders/:id', async (request) => {
        const { id } = request.params as { id: string };
        log.info('loading order %s', id);
        throw new TypeError(`card declined for order ${id}`);
      });
    },
    { prefix: '/shop' },
  );
  const base = await serve(app);

  const response = await fetch(`${base}/shop/orders/42?token=${QUERY_SECRET}`, {
    headers: browserHeaders({ 'x-request-id': 'req-1' }),
  });
  t.is(response.status, 500);
  t.deepEqual(await response.json(), { answeredBy: 'the application', error: 'card declined for order 42' });

  const tickets = await store.tickets();
  t.is(tickets.length, 1);
  const [ticket] = tickets;
  t.like(ticket, { level: 14, channel: 'fastify', title: 'TypeError: card declined for order 42' });
  t.regex(ticket!.location, /^test\/integrations\/fastify\.test\.ts:\d+$/, 'grouped by where the error was thrown');
  const data = ticket!.occurrences[0]!.data;
  t.deepEqual(data.request, {
    method: 'GET',
    route: '/shop/orders/:id',
    path: '/shop/orders/42',
    status: 500,
    userId: '7',
    headers: {
      'user-agent': 'test-agent/1.0',
      accept: 'application/json',
      referer: 'http://shop.example/cart',
      'x-request-id': 'req-1',
    },
  });
  t.like(data.error, { name: 'TypeError', message: 'card declined for order 42' });
  t.deepEqual(crumbs(data), ['loading order 42']);
  noSecrets(t, tickets);
});

test.serial('cookies and credentials: refused in the allowlist, never stored', async (t) => {
  for (const name of ['cookie', 'Authorization', 'proxy-authorization', 'x-session-id', 'x-csrf-token']) {
    const app = newApp(t);
    await t.throwsAsync(app.register(logticketsPlugin, { headers: ['accept', name] }), {
      code: 'INVALID_ARGUMENT',
      message: new RegExp(`headers\\[1\\]: "${name.toLowerCase()}" is never recorded`),
    } as never);
  }
  const store = ticketsStore(t);
  const app = newApp(t);
  await app.register(logticketsPlugin);
  app.get('/account', async (_request, reply) => {
    log.warning('account page failed');
    return reply.status(404).send('no account');
  });
  const base = await serve(app);
  t.is((await fetch(`${base}/account?session=${QUERY_SECRET}`, { headers: browserHeaders() })).status, 404);
  const tickets = await store.tickets();
  t.is(tickets.length, 1);
  // The default allowlist: accept, content-type, user-agent, x-request-id.
  t.deepEqual(tickets[0]!.occurrences[0]!.data.request.headers, {
    accept: 'application/json',
    'user-agent': 'test-agent/1.0',
  });
  noSecrets(t, tickets);
});

test.serial('a user hook that throws: the request is served, the user id is a marker', async (t) => {
  const store = ticketsStore(t);
  const app = newApp(t);
  await app.register(named, {
    user: () => {
      throw new Error('no session yet');
    },
  });
  app.get('/cart', async () => {
    log.error('cart total mismatch');
    return { total: 3 };
  });
  const base = await serve(app);
  const response = await fetch(`${base}/cart`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { total: 3 });
  const [ticket] = await store.tickets();
  t.like(ticket!.occurrences[0]!.data.request, { route: '/cart', userId: '[Thrown: no session yet]', status: null });
});

test.serial('errors thrown, rejected and sent: each its own ticket; fastify answers as usual', async (t) => {
  const store = ticketsStore(t);
  const app = newApp(t);
  await app.register(logticketsPlugin, { channel: 'web' });
  app.get('/sync/:id', () => {
    throw new RangeError('stock index out of range');
  });
  app.post('/async/:id', async (request) => {
    await nextTurn();
    log.info('order body %s', JSON.stringify(request.body));
    await nextTurn();
    throw new Error('orders table missing');
  });
  app.get('/callback', (_request, reply) => {
    setTimeout(() => {
      log.info('in a timer');
      void reply.send(new SyntaxError('bad feed line'));
    }, 1);
  });
  const base = await serve(app);

  const sync = await fetch(`${base}/sync/1?x=${QUERY_SECRET}`);
  t.is(sync.status, 500);
  t.like(await sync.json(), { statusCode: 500, message: 'stock index out of range' });
  const posted = await fetch(`${base}/async/2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ item: 'book' }),
  });
  t.is(posted.status, 500);
  t.is((await fetch(`${base}/callback`)).status, 500);

  const tickets = await store.tickets();
  t.deepEqual(tickets.map((x) => x.title).sort(), [
    'Error: orders table missing',
    'RangeError: stock index out of range',
    'SyntaxError: bad feed line',
  ]);
  for (const ticket of tickets) t.like(ticket, { level: 14, channel: 'web' });
  const byTitle = Object.fromEntries(occurrences(tickets).map((o) => [o.title, o.data]));
  t.like(byTitle['RangeError: stock index out of range']!.request, {
    method: 'GET',
    route: '/sync/:id',
    path: '/sync/1',
  });
  const rejected = byTitle['Error: orders table missing']!;
  t.like(rejected.request, { method: 'POST', route: '/async/:id', path: '/async/2', status: 500 });
  t.deepEqual(crumbs(rejected), ['order body {"item":"book"}'], 'the scope survived the body parser and the awaits');
  t.deepEqual(crumbs(byTitle['SyntaxError: bad feed line']!), ['in a timer']);
  noSecrets(t, tickets);
});

test.serial('4xx errors are not logged by default; minStatus 400 logs them', async (t) => {
  const store = ticketsStore(t);
  for (const minStatus of [undefined, 400]) {
    const app = newApp(t);
    await app.register(logticketsPlugin, minStatus === undefined ? {} : { minStatus, channel: 'client-errors' });
    app.get('/missing', async () => {
      throw Object.assign(new Error('no such order'), { statusCode: 404 });
    });
    app.post('/orders', { schema: { body: { type: 'object', required: ['item'] } } }, async () => 'ok');
    const base = await serve(app);
    t.is((await fetch(`${base}/missing`)).status, 404);
    const invalid = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    t.is(invalid.status, 400);
  }
  const tickets = await store.tickets();
  t.deepEqual(
    tickets.map((x) => x.channel),
    ['client-errors', 'client-errors'],
  );
  const statuses = occurrences(tickets).map((o) => [o.data.request.route, o.data.request.status]);
  t.deepEqual(statuses.sort(), [
    ['/missing', 404],
    ['/orders', 400],
  ]);
});

test.serial('the status once the response is sent, for records logged after it', async (t) => {
  const store = ticketsStore(t);
  const app = newApp(t);
  await app.register(logticketsPlugin);
  let logged!: () => void;
  const loggedAfter = new Promise<void>((resolve) => (logged = resolve));
  app.get('/report', async (_request, reply) => {
    // Listening before sending: 'finish' may come at once. onResponse runs from fastify's own
    // 'finish' listener, added when the request came in: before this one.
    const finished = once(reply.raw, 'finish');
    await reply.status(202).send('accepted');
    await finished;
    log.warning('report generation is slow');
    logged();
  });
  const base = await serve(app);
  t.is((await fetch(`${base}/report`)).status, 202);
  await loggedAfter;
  const [ticket] = await store.tickets();
  t.like(ticket!.occurrences[0]!.data.request, { route: '/report', status: 202 });
});

test.serial('20 concurrent requests never see each other’s breadcrumbs or request', async (t) => {
  const store = ticketsStore(t);
  const count = 20;
  const allArrived = barrier(count);
  const app = newApp(t);
  await app.register(logticketsPlugin, {
    user: (request) => request.headers['x-user'] as string,
    headers: ['x-request-id'],
  });
  app.addHook('preHandler', async (request) => {
    log.info('request %s: received', (request.body as { id: string }).id);
    // Every request waits here until all have arrived: their awaits interleave.
    await allArrived();
  });
  app.post('/jobs/:id', async (request) => {
    const { id } = request.body as { id: string };
    log.info('request %s: working', id);
    await nextTurn();
    log.debug('request %s: failing', id);
    throw new Error('job failed');
  });
  const base = await serve(app);

  await sendConcurrentJobs(t, base, store, count, crumbs);
});

test.serial('bad options fail the registration, naming the option', async (t) => {
  const cases: [object, RegExp][] = [
    [{ header: ['accept'] }, /logtickets fastify plugin options\.header is not an option \(known: user, headers, /],
    [{ minStatus: 'high' }, /minStatus must be an integer/],
    [{ logger: new Logger('a'), channel: 'b' }, /either logger or channel/],
    [{ logger: { name: 'not a Logger' } }, /logger must be a logtickets Logger/],
  ];
  for (const [options, message] of cases) {
    const app = newApp(t);
    await t.throwsAsync(app.register(logticketsPlugin, options as never), {
      code: 'INVALID_ARGUMENT',
      message,
    } as never);
  }
});
