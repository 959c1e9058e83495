// Dates from Trac carry no zone: they must be read as UTC whatever the process's zone.
process.env.TZ = 'America/New_York';

import test from 'ava';
import { LogticketsError } from '../../../src/index.js';
import { parseTracDate, XmlRpcClient } from '../../../src/backends/trac/xmlrpc-client.js';
import { serverAvailable } from '../../services/availability.js';
import { startFaultProxy } from '../../services/trac/fault-proxy.js';
import { startTrac, tracCall, tracUnavailableReason, type TracServer } from '../../services/trac/trac-server.js';

let shared: Promise<TracServer> | undefined;
const trac = () => (shared ??= startTrac());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});

const client = (server: TracServer, over: Partial<ConstructorParameters<typeof XmlRpcClient>[0]> = {}) =>
  new XmlRpcClient({
    url: server.url,
    username: server.username,
    password: server.password,
    name: 'trac-test',
    ...over,
  });

test('Trac dates without a zone are UTC, in any process time zone', (t) => {
  t.is(new Date(2024, 0, 15, 12).getTimezoneOffset(), 300, 'the test runs in New York time');
  t.is(parseTracDate('20240115T12:00:00').toISOString(), '2024-01-15T12:00:00.000Z');
  t.is(parseTracDate('2024-01-15T12:00:00.250Z').toISOString(), '2024-01-15T12:00:00.250Z');
  t.is(parseTracDate('20240115T12:00:00+0200').toISOString(), '2024-01-15T10:00:00.000Z');
  t.throws(() => parseTracDate('yesterday'));
});

test('a bad url is a clear error at construction', (t) => {
  t.throws(() => new XmlRpcClient({ url: 'not a url', name: 'x' }), {
    instanceOf: LogticketsError,
    message: /url: not a valid URL/,
  });
  t.throws(() => new XmlRpcClient({ url: 'ftp://trac/rpc', name: 'x' }), { message: /url: must be http/ });
});

if (serverAvailable(test, 'Trac', tracUnavailableReason())) {
  test('calls, structs, and dates in UTC against a real Trac', async (t) => {
    const server = await trac();
    const rpc = client(server);
    t.deepEqual(await rpc.call('system.getAPIVersion'), [1, 2, 0]);
    const before = Date.now();
    const id = await rpc.call<number>('ticket.create', ['dates', 'checking dates', { type: 'defect' }, false]);
    const [, created] = await rpc.call<[number, Date, Date, Record<string, unknown>]>('ticket.get', [id]);
    t.true(created instanceof Date);
    t.true(Math.abs(created.getTime() - before) < 60_000, `${created.toISOString()} is about now`);
  });

  test('dates sent are UTC in any process time zone: recent changes since a time', async (t) => {
    const server = await trac();
    const rpc = client(server);
    const id = await rpc.call<number>('ticket.create', ['recent', 'a change to list', {}, false]);
    const [, , changed] = await rpc.call<[number, Date, Date, Record<string, unknown>]>('ticket.get', [id]);
    t.true((await rpc.call<number[]>('ticket.getRecentChanges', [new Date(changed.getTime() - 1_000)])).includes(id));
    // Sent as local time, this would reach Trac five hours early and list the ticket.
    const later = new Date(changed.getTime() + 60_000);
    t.false((await rpc.call<number[]>('ticket.getRecentChanges', [later])).includes(id));
  });

  test('multicall: many calls in one request, each with its value or its own fault', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    const rpc = client(server, { url: proxy.url });
    const first = await rpc.call<number>('ticket.create', ['multicall one', 'first', {}, false]);
    const second = await rpc.call<number>('ticket.create', ['multicall two', 'second', {}, false]);
    const before = proxy.totalCalls();
    const results = await rpc.multicall<[number, Date, Date, Record<string, string>]>([
      { method: 'ticket.get', params: [first] },
      { method: 'ticket.get', params: [987_654] },
      { method: 'ticket.get', params: [second] },
      { method: 'ticket.frobnicate', params: [] },
    ]);
    t.is(proxy.totalCalls() - before, 1, 'one request');
    t.is(proxy.calls.get('system.multicall'), 1);
    t.is(results.length, 4);
    const [one, missing, two, unknown] = results;
    t.true(one!.ok && one!.value[0] === first && one!.value[3].summary === 'multicall one');
    t.true(one!.ok && one!.value[1] instanceof Date, 'dates decoded inside a multicall');
    t.true(two!.ok && two!.value[3].summary === 'multicall two');
    // Trac's plugin answers a failed call with the exception's attributes, which carry no fault code.
    t.false(missing!.ok);
    t.like(!missing!.ok && missing!.fault, { code: 'TRACKER_FAULT', retryable: false });
    t.regex(!missing!.ok ? missing!.fault.message : '', /^ticket\.get: Trac fault.*987654 does not exist/);
    t.false(unknown!.ok);
    t.regex(!unknown!.ok ? unknown!.fault.message : '', /^ticket\.frobnicate: Trac fault.*not found/);
    t.deepEqual(await rpc.multicall([]), [], 'nothing to call: no request');
    t.is(proxy.totalCalls() - before, 1);
  });

  test('multicall: a failure of the whole request is thrown as a call would throw it', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    const rpc = client(server, { url: proxy.url });
    proxy.mode = { status: 503 };
    t.like(await t.throwsAsync(rpc.multicall([{ method: 'ticket.get', params: [1] }])), {
      code: 'BACKEND_UNAVAILABLE',
      status: 503,
      retryable: true,
    });
    proxy.mode = 'pass';
    const denied = client(server, { password: 'wrong-hunter2' });
    t.like(await t.throwsAsync(denied.multicall([{ method: 'ticket.get', params: [1] }])), { code: 'AUTH_FAILED' });
  });

  test('control characters and terminal escapes do not break a call', async (t) => {
    const server = await trac();
    const rpc = client(server);
    const hostile = 'boom \u001b[31mred\u001b[0m NUL\u0000 bell\u0007 lone\uD800 ok: ü 💳';
    const id = await rpc.call<number>('ticket.create', [hostile, `desc ${hostile}`, {}, false]);
    const [, , , attrs] = (await tracCall(server, 'ticket.get', [id])) as [number, Date, Date, Record<string, string>];
    t.is(attrs.summary, 'boom \uFFFD[31mred\uFFFD[0m NUL\uFFFD bell\uFFFD lone\uFFFD ok: ü 💳');
  });

  test('a wrong password is AUTH_FAILED, named, not retryable, without the password', async (t) => {
    const server = await trac();
    const error = await t.throwsAsync(client(server, { password: 'wrong-hunter2' }).call('system.getAPIVersion'), {
      instanceOf: LogticketsError,
    });
    t.like(error, { code: 'AUTH_FAILED', status: 401, retryable: false });
    t.regex(error!.message, /logtickets-bot/);
    t.false(error!.message.includes('hunter2'));
  });

  test('faults keep their code: not found, permission denied, unknown method', async (t) => {
    const server = await trac();
    const rpc = client(server);
    const missing = await t.throwsAsync(rpc.call('ticket.get', [987_654]), { instanceOf: LogticketsError });
    t.like(missing, { code: 'TRACKER_FAULT', faultCode: 404, retryable: false });
    t.regex(missing!.message, /does not exist/);
    const id = await rpc.call<number>('ticket.create', ['to delete', '', {}, false]);
    const denied = await t.throwsAsync(rpc.call('ticket.delete', [id]), { instanceOf: LogticketsError });
    t.like(denied, { code: 'PERMISSION_DENIED', faultCode: 403 });
    const unknown = await t.throwsAsync(rpc.call('ticket.frobnicate', []), { instanceOf: LogticketsError });
    t.like(unknown, { code: 'TRACKER_FAULT', faultCode: -32601 });
  });

  test('outages are retryable errors: refused, stalled (timeout), HTTP 500; a wrong path says what to check', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    // Under load tracd may take more than the short stall limit to answer: the pass-through call gets a normal one.
    t.deepEqual(await client(server, { url: proxy.url }).call('system.getAPIVersion'), [1, 2, 0], 'passes through');
    const rpc = client(server, { url: proxy.url, timeoutMs: 500 });
    proxy.mode = 'refuse';
    t.like(await t.throwsAsync(rpc.call('system.getAPIVersion')), { code: 'BACKEND_UNAVAILABLE', retryable: true });
    proxy.mode = 'stall';
    const started = Date.now();
    t.like(await t.throwsAsync(rpc.call('system.getAPIVersion')), { code: 'TIMEOUT', retryable: true });
    t.true(Date.now() - started < 5_000);
    proxy.mode = { status: 500 };
    t.like(await t.throwsAsync(rpc.call('system.getAPIVersion')), {
      code: 'BACKEND_UNAVAILABLE',
      status: 500,
      retryable: true,
    });
    proxy.mode = 'pass';
    const wrongPath = client(server, { url: server.url.replace('/login/rpc', '/login/nothing-here') });
    const notFound = await t.throwsAsync(wrongPath.call('system.getAPIVersion'));
    t.like(notFound, { code: 'PROTOCOL_ERROR', status: 404, retryable: false });
    t.regex(notFound!.message, /RPC endpoint/);
  });

  test('a write is sent once: a held answer cut off is a retryable error, and Trac did the write', async (t) => {
    const server = await trac();
    const proxy = await startFaultProxy(server.url);
    t.teardown(() => proxy.close());
    const rpc = client(server, { url: proxy.url });
    const summary = `held ${Math.random().toString(36).slice(2)}`;
    proxy.fault('hold-answer', { methods: /^ticket\.create$/, times: 1 });
    const pending = rpc.call<number>('ticket.create', [summary, 'held answer', {}, false]);
    // Reads pass while the create waits.
    t.deepEqual(await rpc.call('system.getAPIVersion'), [1, 2, 0]);
    await proxy.untilFaulted();
    await proxy.settled();
    proxy.cutHeld();
    t.like(await t.throwsAsync(pending), { code: 'BACKEND_UNAVAILABLE', retryable: true });
    t.is(proxy.calls.get('ticket.create'), 1, 'not sent again');
    const made = (await tracCall(server, 'ticket.query', [`summary=${summary}&max=0`])) as number[];
    t.is(made.length, 1, 'Trac made the ticket');
  });
}
