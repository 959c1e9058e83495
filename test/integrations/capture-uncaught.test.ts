import test from 'ava';
import { join } from 'node:path';
import { TicketingHandler } from '../../src/index.js';
import { captureUncaught } from '../../src/integrations/capture-uncaught.js';
import { byTitle, readStore, runFixture, workdir } from './helpers.js';

// Each test reads a child process's stderr: serial, so their output never interleaves.

test.serial('an uncaught exception: recorded at CRITICAL, printed as Node prints it, exit code 1', async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'throw']);
  t.is(result.code, 1);
  t.regex(result.stderr, /^TypeError: card declined\n\s+at Timeout\.chargeCard \(.*crash\.ts:\d+:\d+\)\n/);
  t.regex(result.stderr, /\n\nNode\.js v\d+\.\d+\.\d+\n$/);
  const [ticket, ...others] = await readStore(work.store);
  t.is(others.length, 0);
  t.like(ticket, { level: 15, channel: 'process', title: 'Uncaught TypeError: card declined', occurrenceCount: 1 });
  t.regex(ticket!.location, /^test\/fixtures\/crash\.ts:\d+$/);
  const data = ticket!.occurrences[0]!.data;
  t.like(data.error, { name: 'TypeError', message: 'card declined' });
  t.regex(data.error.stack, /at Timeout\.chargeCard \(/);
  t.deepEqual(data.extra, { origin: 'uncaughtException' });
});

test.serial('the same crash twice is one ticket with 2 occurrences; another crash is another ticket', async (t) => {
  const work = workdir(t);
  for (const mode of ['throw', 'throw', 'throw-other']) {
    const result = await runFixture('crash.ts', [work.store, mode]);
    t.is(result.code, 1, mode);
  }
  const tickets = await readStore(work.store);
  t.is(tickets.length, 2);
  t.like(byTitle(tickets, 'Uncaught TypeError: card declined'), { occurrenceCount: 2 });
  t.like(byTitle(tickets, 'Uncaught RangeError: stock index out of range'), { occurrenceCount: 1 });
});

test.serial('an exception thrown while an ES module runs (Node reports it from a promise)', async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'throw-top']);
  t.is(result.code, 1);
  t.regex(result.stderr, /TypeError: card declined\n\s+at chargeCard \(/);
  const [ticket] = await readStore(work.store);
  t.like(ticket, { level: 15, title: 'Uncaught TypeError: card declined' });
  t.deepEqual(ticket!.occurrences[0]!.data.extra, { origin: 'unhandledRejection' });
});

test.serial('an unhandled rejection: recorded, then Node reports it and exits with code 1 as usual', async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'reject']);
  t.is(result.code, 1);
  t.regex(result.stderr, /Error: orders table missing\n\s+at loadOrders \(/);
  t.regex(result.stderr, /\n\nNode\.js v\d+\.\d+\.\d+\n$/);
  const [ticket] = await readStore(work.store);
  t.like(ticket, { level: 15, channel: 'process', title: 'Unhandled rejection: Error: orders table missing' });
  t.like(ticket!.occurrences[0]!.data.error, { name: 'Error', message: 'orders table missing' });
});

test.serial('a rejection with a reason that is not an Error is recorded too', async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'reject-string']);
  t.is(result.code, 1);
  t.regex(result.stderr, /UnhandledPromiseRejection: .*The promise rejected with the reason "quota exceeded"/);
  t.regex(result.stderr, /code: 'ERR_UNHANDLED_REJECTION'/);
  const [ticket] = await readStore(work.store);
  t.like(ticket, { level: 15, title: 'Unhandled rejection: quota exceeded' });
  t.deepEqual(ticket!.occurrences[0]!.data.extra, { origin: 'unhandledRejection', reason: 'quota exceeded' });
});

test.serial('a second crash while the first is flushed ends the process at once', async (t) => {
  const work = workdir(t);
  // A store in a folder that is not there: the flush would wait its whole 60 s timeout.
  const unreachable = `sqlite:${join(work.dir, 'missing', 'tickets.db')}`;
  const result = await runFixture('crash.ts', [unreachable, 'second-crash'], { timeoutMs: 30_000 });
  t.is(result.signal, null, 'the process was not left hanging');
  t.is(result.code, 1);
  t.regex(result.stderr, /^TypeError: card declined\n/);
  t.regex(result.stderr, /another crash while the first was being recorded: RangeError: stock index out of range/);
});

test.serial('exit: false only records: the service goes on', async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'record-only']);
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, '');
  t.regex(result.stdout, /still running after the crash/);
  t.like((await readStore(work.store))[0], { title: 'Uncaught TypeError: card declined', occurrenceCount: 1 });
});

test.serial("the application's own uncaughtException listener decides, as without logtickets", async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'own-listener']);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /the application handled: card declined/);
  t.like((await readStore(work.store))[0], { title: 'Uncaught TypeError: card declined' });
});

test.serial("a rejection goes on to the application's uncaughtException listener, as Node would send it", async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'reject-own-listener']);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /the application handled: unhandledRejection: orders table missing/);
  t.regex(result.stdout, /the application handled: unhandledRejection: second rejection/);
  const titles = (await readStore(work.store)).map((x) => x.title).sort();
  t.deepEqual(titles, [
    'Unhandled rejection: Error: orders table missing',
    'Unhandled rejection: RangeError: second rejection',
  ]);
});

test.serial('installed twice, with two handlers: both record, the process ends once', async (t) => {
  const work = workdir(t);
  const result = await runFixture('crash.ts', [work.store, 'two-handlers']);
  t.is(result.code, 1);
  t.is(result.stderr.match(/Node\.js v/g)?.length, 1, result.stderr);
  t.like((await readStore(work.store))[0], { channel: 'process', title: 'Uncaught TypeError: card declined' });
  const second = work.store.replace(/\.db$/, '-second.db');
  t.like((await readStore(second))[0], { channel: 'second', title: 'Uncaught TypeError: card declined' });
});

test.serial('the returned function removes the listeners; bad arguments are refused', (t) => {
  const handler = new TicketingHandler('memory:', { onError: () => {}, exitFlushMs: 0 });
  t.teardown(() => handler.close());
  const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
  const uninstall = captureUncaught(handler);
  const uninstallAnother = captureUncaught(handler, { exit: false });
  t.deepEqual(
    [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')],
    [before[0]! + 1, before[1]! + 1],
  );
  uninstall();
  uninstall();
  t.is(process.listenerCount('uncaughtException'), before[0]! + 1);
  uninstallAnother();
  t.deepEqual([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')], before);
  t.throws(() => captureUncaught({} as never), { code: 'INVALID_ARGUMENT' } as never);
  t.throws(() => captureUncaught(handler, { timeout: 5 } as never), {
    code: 'INVALID_ARGUMENT',
    message: /timeout/,
  } as never);
});
