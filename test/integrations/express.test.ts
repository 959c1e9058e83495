import test, { type ExecutionContext } from 'ava';
import express, { type Express } from 'express';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Logger } from '../../src/index.js';
import { errorHandler, requestScope } from '../../src/integrations/express.js';
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

type Http = Error & { status?: number; statusCode?: number };

function httpError(message: string, status: number): Http {
  return Object.assign(new Error(message), { status });
}

/** Serve `app` on 127.0.0.1 until the test ends; its base URL. */
async function serve(t: ExecutionContext, app: Express): Promise<string> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The application's own last error handler: answers with JSON. */
function ownErrorHandler(app: Express): void {
  app.use((err: Http, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status ?? 500).json({ answeredBy: 'the application', error: err.message });
  });
}

test.serial('a failed request: method, route, path without query, status, user and allowlisted headers', async (t) => {
  const store = ticketsStore(t);
  const app = express();
  const options = {
    user: (req: express.Request) => (req as express.Request & { user?: { id: number } }).user?.id,
    headers: ['user-agent', 'accept', 'referer', 'x-request-id'],
  };
  app.use(requestScope(options));
  // Authentication runs after the scope: the user hook is asked when a record needs the id.
  app.use((req, _res, next) => {
    Object.assign(req, { user: { id: 7 } });
    next();
  });
  const shop = express.Router();
  shop.get('/orders/:id', (req) => {
    log.info('loading order %s', req.params.id);
    throw new TypeError(`card declined for order ${req.params.id}`);
  });
  app.use('/shop', shop);
  app.use(errorHandler(options));
  ownErrorHandler(app);
  const base = await serve(t, app);

  const response = await fetch(`${base}/shop/orders/42?token=${QUERY_SECRET}`, {
    headers: browserHeaders({ 'x-request-id': 'req-1' }),
  });
  t.is(response.status, 500);
  t.deepEqual(await response.json(), { answeredBy: 'the application', error: 'card declined for order 42' });

  const tickets = await store.tickets();
  t.is(tickets.length, 1);
  const [ticket] = tickets;
  t.like(ticket, { level: 14, channel: 'express', title: 'TypeError: card declined for order 42' });
  t.regex(ticket!.location, /^test\/integrations\/express\.test\.ts:\d+$/, 'grouped by where the error was thrown');
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
  t.deepEqual(
    data.breadcrumbs.map((crumb: { message: string }) => crumb.message),
    ['loading order 42'],
  );
  noSecrets(t, tickets);
});

test.serial('cookies and credentials: refused in the allowlist, never stored', async (t) => {
  for (const name of ['cookie', 'Authorization', 'proxy-authorization', 'set-cookie', 'x-api-key', 'x-auth-token']) {
    t.throws(() => requestScope({ headers: ['user-agent', name] }), {
      code: 'INVALID_ARGUMENT',
      message: new RegExp(`headers\\[1\\]: "${name.toLowerCase()}" is never recorded`),
    } as never);
    t.throws(() => errorHandler({ headers: [name] }), { code: 'INVALID_ARGUMENT' } as never);
  }
  const store = ticketsStore(t);
  const app = express();
  app.use(requestScope());
  app.get('/account', (_req, res) => {
    log.warning('account page failed');
    res.status(404).send('no account');
  });
  const base = await serve(t, app);
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
  const app = express();
  const options = {
    user: (): string => {
      throw new Error('no session yet');
    },
  };
  app.use(requestScope(options));
  app.get('/cart', (_req, res) => {
    log.error('cart total mismatch');
    res.json({ total: 3 });
  });
  const base = await serve(t, app);
  const response = await fetch(`${base}/cart`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { total: 3 });
  const [ticket] = await store.tickets();
  t.like(ticket!.occurrences[0]!.data.request, { route: '/cart', userId: '[Thrown: no session yet]', status: null });
});

test.serial('errors thrown and rejected: each its own ticket; the app’s error handler answers', async (t) => {
  const store = ticketsStore(t);
  const app = express();
  app.use(requestScope());
  app.get('/sync/:id', () => {
    throw new RangeError('stock index out of range');
  });
  app.post('/async/:id', express.json(), async (req) => {
    await nextTurn();
    log.info('order body %s', JSON.stringify(req.body));
    await nextTurn();
    throw new Error('orders table missing');
  });
  app.get('/plain', () => {
    throw 'a thrown string';
  });
  app.use(errorHandler({ channel: 'web' }));
  ownErrorHandler(app);
  const base = await serve(t, app);

  t.is((await fetch(`${base}/sync/1?x=${QUERY_SECRET}`)).status, 500);
  const posted = await fetch(`${base}/async/2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ item: 'book' }),
  });
  t.is(posted.status, 500);
  t.like(await posted.json(), { answeredBy: 'the application', error: 'orders table missing' });
  t.is((await fetch(`${base}/plain`)).status, 500);

  const tickets = await store.tickets();
  t.deepEqual(tickets.map((x) => x.title).sort(), [
    'Error: orders table missing',
    'RangeError: stock index out of range',
    'a thrown string',
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
  t.deepEqual(
    rejected.breadcrumbs.map((crumb: { message: string }) => crumb.message),
    ['order body {"item":"book"}'],
    'the scope survived the body parser and the awaits',
  );
  t.deepEqual(byTitle['a thrown string']!.extra, { thrown: 'a thrown string' });
  noSecrets(t, tickets);
});

test.serial('4xx errors are not logged by default; minStatus 400 logs them', async (t) => {
  const store = ticketsStore(t);
  const app = express();
  app.use(requestScope());
  app.get('/missing', () => {
    throw httpError('no such order', 404);
  });
  app.get('/conflict', () => {
    throw Object.assign(new Error('order already paid'), { statusCode: 409 });
  });
  app.use(errorHandler());
  app.use(errorHandler({ minStatus: 400, channel: 'client-errors' }));
  // No error handler of the application's own: express's answers.
  const base = await serve(t, app);
  const missing = await fetch(`${base}/missing`);
  t.is(missing.status, 404);
  t.is((await fetch(`${base}/conflict`)).status, 409);

  const tickets = await store.tickets();
  t.deepEqual(tickets.map((x) => [x.title, x.channel]).sort(), [
    ['Error: no such order', 'client-errors'],
    ['Error: order already paid', 'client-errors'],
  ]);
  const statuses = occurrences(tickets).map((o) => o.data.request.status);
  t.deepEqual(statuses.sort(), [404, 409]);
});

test.serial('an error seen by two error handlers is logged once; the same error in two requests twice', async (t) => {
  const store = ticketsStore(t);
  const notReady = new Error('warehouse not ready');
  const app = express();
  app.use(requestScope());
  const stock = express.Router();
  stock.get('/:sku', () => {
    throw notReady;
  });
  stock.use(errorHandler());
  app.use('/stock', stock);
  app.use(errorHandler());
  app.use((err: Http, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    log.warning('answered %s with an error', req.path);
    res.status(503).send(err.message);
  });
  const base = await serve(t, app);
  t.is((await fetch(`${base}/stock/a1`)).status, 503);
  t.is((await fetch(`${base}/stock/b2`)).status, 503);
  const tickets = await store.tickets();
  t.deepEqual(tickets.map((x) => x.title).sort(), ['Error: warehouse not ready', 'answered /stock/a1 with an error']);
  const errors = occurrences(tickets).filter((o) => o.title === 'Error: warehouse not ready');
  t.deepEqual(
    errors.map((o) => [o.data.request.route, o.data.request.path, o.data.request.status]),
    [
      ['/stock/:sku', '/stock/a1', 500],
      ['/stock/:sku', '/stock/b2', 500],
    ],
  );
  // The error is a breadcrumb of what the request logged after it, once.
  for (const o of occurrences(tickets).filter((x) => x.title !== 'Error: warehouse not ready')) {
    t.deepEqual(
      o.data.breadcrumbs.map((crumb: { level: string; channel: string; message: string }) => [
        crumb.level,
        crumb.channel,
        crumb.message,
      ]),
      [['ERROR', 'express', 'Error: warehouse not ready']],
    );
  }
});

test.serial('the status once the response is sent, for records logged after it', async (t) => {
  const store = ticketsStore(t);
  const app = express();
  app.use(requestScope());
  let logged!: () => void;
  const loggedAfter = new Promise<void>((resolve) => (logged = resolve));
  app.get('/report', async (_req, res) => {
    // Listening before sending: 'finish' may come at once. The scope's own listener came first.
    const finished = once(res, 'finish');
    res.status(202).send('accepted');
    await finished;
    log.warning('report generation is slow');
    logged();
  });
  const base = await serve(t, app);
  t.is((await fetch(`${base}/report`)).status, 202);
  await loggedAfter;
  const [ticket] = await store.tickets();
  t.like(ticket!.occurrences[0]!.data.request, { route: '/report', status: 202 });
});

test.serial('the error handler alone (no requestScope) still records the request', async (t) => {
  const store = ticketsStore(t);
  const app = express();
  const api = express.Router();
  api.get('/items/:id', () => {
    throw new Error('item store offline');
  });
  app.use('/api', api);
  app.use(errorHandler({ logger: new Logger('api'), headers: ['x-request-id'] }));
  const base = await serve(t, app);
  t.is((await fetch(`${base}/api/items/9?q=${QUERY_SECRET}`, { headers: { 'x-request-id': 'r9' } })).status, 500);
  const tickets = await store.tickets();
  t.like(tickets[0], { channel: 'api', title: 'Error: item store offline' });
  t.deepEqual(tickets[0]!.occurrences[0]!.data.request, {
    method: 'GET',
    // What express says once the error has left the router: its mount path is no longer known.
    route: '/items/:id',
    path: '/api/items/9',
    status: 500,
    userId: null,
    headers: { 'x-request-id': 'r9' },
  });
  noSecrets(t, tickets);
});

test.serial('20 concurrent requests never see each other’s breadcrumbs or request', async (t) => {
  const store = ticketsStore(t);
  const count = 20;
  const allArrived = barrier(count);
  const app = express();
  app.use(requestScope({ user: (req) => req.get('x-user'), headers: ['x-request-id'] }));
  app.use(express.json());
  app.post('/jobs/:id', async (req) => {
    const id = String(req.body.id);
    log.info('request %s: received', id);
    // Every request waits here until all have arrived: their awaits interleave.
    await allArrived();
    log.info('request %s: working', id);
    await nextTurn();
    log.debug('request %s: failing', id);
    throw new Error('job failed');
  });
  app.use(errorHandler());
  const base = await serve(t, app);

  await sendConcurrentJobs(t, base, store, count, (data) =>
    data.breadcrumbs.map((crumb: { message: string }) => crumb.message),
  );
});

test.serial('bad options are refused, naming the option', (t) => {
  t.throws(() => requestScope({ header: ['accept'] } as never), {
    code: 'INVALID_ARGUMENT',
    message:
      /express requestScope options\.header is not an option \(known: user, headers, logger, channel, minStatus\)/,
  } as never);
  t.throws(() => errorHandler({ minStatus: 'high' } as never), { message: /minStatus must be an integer/ } as never);
  t.throws(() => errorHandler({ logger: new Logger('a'), channel: 'b' }), {
    message: /either logger or channel/,
  } as never);
  t.throws(() => errorHandler({ user: 'id' } as never), { message: /user must be a function/ } as never);
  t.throws(() => requestScope({ headers: ['bad header'] }), { message: /headers\[0\] must be a header name/ } as never);
});
