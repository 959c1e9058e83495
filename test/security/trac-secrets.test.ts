/**
 * No Trac password in any error: each case makes the real Trac (or the fault
 * proxy in front of it, or a closed port) fail a call made with a planted
 * password, then looks for the password, `user:password` and its base64 form
 * in every view of the error (see leak-check.ts).
 */

import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, LogticketsError, TicketingHandler, TrackedStore, TracTracker } from '../../src/index.js';
import { XmlRpcClient, type XmlRpcClientOptions } from '../../src/backends/trac/xmlrpc-client.js';
import { serverAvailable } from '../services/availability.js';
import { freePort } from '../services/postgres.js';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../services/trac/fault-proxy.js';
import { startTrac, tracUnavailableReason, type TracServer } from '../services/trac/trac-server.js';
import { assertNoSecrets, assertNoTransportObjects, expectSafeFailure, forms, plant } from './leak-check.js';

let shared: Promise<{ trac: TracServer; proxy: FaultProxy }> | undefined;
const servers = () => (shared ??= startTrac().then(async (trac) => ({ trac, proxy: await startFaultProxy(trac.url) })));
test.after.always(async () => {
  if (shared === undefined) return;
  const { trac, proxy } = await shared;
  await proxy.close();
  await trac.stop();
});

const USER = 'logtickets-bot';

/** The bytes of every file in `dir` (an SQLite store with its journal), as text. */
const storeFiles = (dir: string) => readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));

interface Case {
  readonly name: string;
  /** The client's options (the planted password goes in here), given the servers and a closed port. */
  readonly options: (s: { trac: TracServer; proxy: FaultProxy; closed: number; secret: string }) => XmlRpcClientOptions;
  readonly proxyMode?: FaultMode;
  readonly method?: [string, unknown[]];
  readonly codes: readonly string[];
  /** Secrets besides the planted one (e.g. the server's real password). */
  readonly alsoSecret?: (trac: TracServer) => string[];
}

const CASES: readonly Case[] = [
  {
    name: 'connection refused: nothing listens on the port',
    options: ({ closed, secret }) => ({
      url: `http://127.0.0.1:${closed}/x/login/rpc`,
      username: USER,
      password: secret,
      name: 't',
    }),
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'credentials written into the URL, connection refused',
    options: ({ closed, secret }) => ({
      url: `http://${USER}:${encodeURIComponent(secret)}@127.0.0.1:${closed}/x/login/rpc`,
      name: 't',
    }),
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'a wrong password: HTTP 401 from the real Trac',
    options: ({ trac, secret }) => ({ url: trac.url, username: USER, password: secret, name: 't' }),
    codes: ['AUTH_FAILED'],
  },
  {
    name: 'HTTP 500 from the fault proxy',
    options: ({ proxy, secret }) => ({ url: proxy.url, username: USER, password: secret, name: 't' }),
    proxyMode: { status: 500 },
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'HTTP 502 with a body from the fault proxy',
    options: ({ proxy, secret }) => ({ url: proxy.url, username: USER, password: secret, name: 't' }),
    proxyMode: { status: 502 },
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'the connection reset by the fault proxy',
    options: ({ proxy, secret }) => ({ url: proxy.url, username: USER, password: secret, name: 't' }),
    proxyMode: 'refuse',
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'a timeout: the fault proxy never answers',
    options: ({ proxy, secret }) => ({ url: proxy.url, username: USER, password: secret, name: 't', timeoutMs: 300 }),
    proxyMode: 'stall',
    codes: ['TIMEOUT'],
  },
  {
    name: 'proxy credentials, the proxy refuses connections',
    options: ({ trac, closed, secret }) => ({
      url: trac.url,
      username: USER,
      password: plant('Other'),
      name: 't',
      proxy: { protocol: 'http', host: '127.0.0.1', port: closed, auth: { username: 'proxy-user', password: secret } },
    }),
    codes: ['BACKEND_UNAVAILABLE'],
  },
  {
    name: 'an XML-RPC fault with the right password',
    options: ({ trac }) => ({ url: trac.url, username: trac.username, password: trac.password, name: 't' }),
    method: ['ticket.get', [987654]],
    codes: ['TRACKER_FAULT'],
    alsoSecret: (trac) => [...forms(trac.password, trac.username)],
  },
  {
    name: 'HTTP 404: a URL that is not the RPC endpoint, right password',
    options: ({ trac }) => ({
      url: `${trac.baseUrl}/no-such-rpc`,
      username: trac.username,
      password: trac.password,
      name: 't',
    }),
    codes: ['PROTOCOL_ERROR'],
    alsoSecret: (trac) => [...forms(trac.password, trac.username)],
  },
];

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  // Serial: the cases share the fault proxy and switch its mode.
  for (const c of CASES) {
    test.serial(`Trac: ${c.name}`, async (t) => {
      const { trac, proxy } = await servers();
      const secret = plant();
      const closed = await freePort();
      proxy.mode = c.proxyMode ?? 'pass';
      try {
        const rpc = new XmlRpcClient(c.options({ trac, proxy, closed, secret }));
        const [method, params] = c.method ?? ['system.getAPIVersion', []];
        const secrets = [...forms(secret, USER), ...forms(secret, 'proxy-user'), ...(c.alsoSecret?.(trac) ?? [])];
        await expectSafeFailure(t, c.name, () => rpc.call(method, params), secrets, c.codes);
        // The client object itself does not show the password to util.inspect either.
        assertNoSecrets(t, rpc, secrets, `${c.name} (the client)`);
      } finally {
        proxy.mode = 'pass';
      }
    });
  }

  test.serial('Trac: a very short password is masked where it stands alone', async (t) => {
    const { trac } = await servers();
    const closed = await freePort();
    const secret = 'Zq9';
    const rpc = new XmlRpcClient({
      url: `http://127.0.0.1:${closed}/rpc`,
      username: USER,
      password: secret,
      name: 't',
    });
    await expectSafeFailure(t, 'short, refused', () => rpc.call('system.getAPIVersion'), forms(secret, USER), [
      'BACKEND_UNAVAILABLE',
    ]);
    const wrong = new XmlRpcClient({ url: trac.url, username: USER, password: secret, name: 't' });
    await expectSafeFailure(t, 'short, 401', () => wrong.call('system.getAPIVersion'), forms(secret, USER), [
      'AUTH_FAILED',
    ]);
  });

  test.serial('Trac tracker: requests, set-up checks and deliveries with a wrong password', async (t) => {
    const { trac, proxy } = await servers();
    const secret = plant();
    const dir = mkdtempSync(join(tmpdir(), 'logtickets-security-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const errors: LogticketsError[] = [];
    const tracker = new TracTracker({ url: trac.url, username: USER, password: secret });
    const backend = new TrackedStore({
      store: `sqlite:${join(dir, 'store.db')}`,
      trackers: [tracker],
      retry: { initialMs: 20, maxMs: 50 },
      onError: (e) => errors.push(e),
    });
    const handler = new TicketingHandler(backend, { onError: () => {} });
    t.teardown(async () => {
      await handler.close();
      await backend.close();
    });
    const secrets = forms(secret, USER);

    const problem = { appId: 'shop', hash: 'a'.repeat(40) };
    await expectSafeFailure(t, 'find', () => tracker.find(problem), secrets, ['AUTH_FAILED']);
    await expectSafeFailure(t, 'changedSince', () => tracker.changedSince(new Date(0)), secrets, ['AUTH_FAILED']);
    const checks = await tracker.checkSetup();
    t.false(checks[1]!.ok, 'not authenticated');
    assertNoSecrets(t, checks, secrets, 'set-up checks');

    handler.run(() => new Logger('shop.checkout').error('cannot be delivered'));
    await handler.flush();
    t.false(await backend.deliverPending({ timeoutMs: 500 }));
    t.true(errors.length >= 1, 'the failed delivery was reported');
    for (const [i, error] of errors.entries()) {
      t.is(error.code, 'AUTH_FAILED');
      assertNoSecrets(t, error, secrets, `delivery error ${i}`);
      assertNoTransportObjects(t, error, `delivery error ${i}`);
    }
    // The outbox keeps why the delivery failed: the store's files hold no password.
    t.is(await backend.store.countOutbox(), 1);
    assertNoSecrets(t, storeFiles(dir), secrets, 'the store files');

    // The same through the proxy failing with 500: another error shape, the same rule.
    const behind = new TracTracker({ url: proxy.url, username: USER, password: secret });
    t.teardown(() => behind.close());
    proxy.mode = { status: 503 };
    try {
      await expectSafeFailure(t, 'getTicket behind a 503', () => behind.find(problem), secrets, [
        'BACKEND_UNAVAILABLE',
      ]);
    } finally {
      proxy.mode = 'pass';
    }
  });
}
