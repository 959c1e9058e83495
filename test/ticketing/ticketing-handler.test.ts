import test from 'ava';
import { execFile } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  Logger,
  LogticketsError,
  MemoryBackend,
  SqlBackend,
  TicketingHandler,
  type TicketingHandlerOptions,
} from '../../src/index.js';
import { serverAvailable } from '../services/availability.js';
import { freePort, postgresUnavailableReason, startPostgres } from '../services/postgres.js';

const exec = promisify(execFile);
const quiet: TicketingHandlerOptions = { onError: () => {} };

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function tempStore(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-pipeline-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'tickets.db')}`;
}

test('a log call becomes a ticket with its record as JSON', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, {
    appId: 'shop',
    projectRoot: fileURLToPath(new URL('../..', import.meta.url)),
  });
  const log = new Logger('shop.checkout');
  function checkout() {
    log.error({ extra: { orderId: 42 }, error: new TypeError('card expired') }, 'payment for %s failed', 'ann');
  }
  handler.run(checkout);
  t.true(await handler.flush());
  const [ticket] = await backend.getTickets();
  t.like(ticket, {
    appId: 'shop',
    level: 14,
    channel: 'shop.checkout',
    function: 'checkout',
    // The error's message follows the message (occurrence.ts: ticketTitle).
    title: 'payment for ann failed: card expired',
    occurrenceCount: 1,
  });
  t.regex(ticket!.location, /^test\/ticketing\/ticketing-handler\.test\.ts:\d+$/);
  const [occurrence] = await backend.getOccurrences(ticket!.id);
  const data = occurrence!.data as Record<string, any>;
  t.like(data, {
    channel: 'shop.checkout',
    level: 14,
    levelName: 'ERROR',
    msg: 'payment for %s failed',
    args: ['ann'],
    message: 'payment for ann failed',
    extra: { orderId: 42 },
    appId: 'shop',
    process: { pid: process.pid },
  });
  t.like(data.error, { name: 'TypeError', message: 'card expired' });
  t.regex(data.error.stack, /TypeError: card expired/);
  t.is(data.location.function, 'checkout');
  t.is(data.time, occurrence!.time);
});

test('only WARNING and above by default; the same call site is one ticket whatever the message', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend);
  const log = new Logger('svc');
  handler.run(() => {
    for (const user of ['ann', 'bob', 'cy']) log.warn('user %s locked out', user);
    log.notice('not a ticket');
    log.info('not a ticket');
  });
  await handler.flush();
  const tickets = await backend.getTickets();
  t.is(tickets.length, 1);
  t.like(tickets[0], { occurrenceCount: 3, title: 'user ann locked out' });
});

test('regressionGraceMs: a recurrence a second after a solve only counts by default; with 0 it reopens', async (t) => {
  for (const [options, expected] of [
    [{}, { state: 'solved', regressionCount: 0 }],
    [{ regressionGraceMs: 0 }, { state: 'regressed', regressionCount: 1 }],
  ] as const) {
    const backend = new MemoryBackend();
    const handler = new TicketingHandler(backend, { ...quiet, ...options });
    const log = new Logger('svc');
    const fail = () => log.error('payment failed');
    handler.run(fail);
    t.true(await handler.flush());
    const [ticket] = await backend.getTickets();
    // Solved a second ago, in no release (so the grace window decides): the next call is a second after the solve.
    await backend.solveTicket(ticket!.id, { at: new Date(Date.now() - 1_000).toISOString(), release: null });
    handler.run(fail);
    t.true(await handler.flush());
    t.like(await backend.getTicket(ticket!.id), { ...expected, occurrenceCount: 2 });
    await handler.close();
  }
  t.throws(() => new TicketingHandler(new MemoryBackend(), { regressionGraceMs: -1 }), {
    message: /regressionGraceMs/,
  });
});

test('a per-call fingerprint groups calls from different places', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend);
  const log = new Logger('svc');
  handler.run(() => {
    log.error({ fingerprint: ['db', 'timeout'] }, 'read timed out');
    log.warn({ fingerprint: ['db', 'timeout'] }, 'write timed out');
    log.error('elsewhere');
  });
  await handler.flush();
  const tickets = await backend.getTickets();
  t.is(tickets.length, 2);
  t.is(tickets.find((x) => x.title === 'read timed out')?.occurrenceCount, 2);
});

test('records are snapshotted at the call: later mutation changes nothing', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend);
  const extra = { cart: ['apple'] };
  const arg = { id: 1 };
  handler.run(() => new Logger('svc').error({ extra }, 'cart %j', arg));
  extra.cart.push('pear');
  arg.id = 2;
  await handler.flush();
  const [ticket] = await backend.getTickets();
  const [occurrence] = await backend.getOccurrences(ticket!.id);
  t.deepEqual((occurrence!.data as any).extra, { cart: ['apple'] });
  t.deepEqual((occurrence!.data as any).args, [{ id: 1 }]);
  t.is(ticket!.title, 'cart {"id":1}');
});

test('hostile content is neutralised: control characters, cycles, throwing getters, huge values', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend, { limits: { maxStringLength: 1000 } });
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const extra = {
    cyclic,
    huge: 'z'.repeat(100_000),
    get broken(): string {
      throw new Error('getter exploded');
    },
    big: 2n ** 70n,
  };
  handler.run(() =>
    new Logger('evil\u001b[31m').error({ extra }, 'line1\nline2\u001b[2J\u0007\u0000 %s', '\u202Eevil'),
  );
  await handler.flush();
  const [ticket] = await backend.getTickets();
  t.false(/[\u0000-\u001f\u007f\u202e]/.test(ticket!.title), ticket!.title);
  t.false(/[\u0000-\u001f]/.test(ticket!.channel));
  t.true(ticket!.title.startsWith('line1 line2'));
  const data = (await backend.getOccurrences(ticket!.id))[0]!.data as any;
  t.is(data.extra.cyclic.self, '[Circular: $.cyclic]');
  t.true(data.extra.huge.length < 1100);
  t.regex(data.extra.huge, /truncated 99000 chars/);
  t.regex(data.extra.broken, /getter exploded/);
  t.is(data.extra.big, `${2n ** 70n}n`);
});

test('fan-out: every backend gets every occurrence', async (t) => {
  const a = new MemoryBackend();
  const b = new SqlBackend(tempStore(t));
  t.teardown(() => b.close());
  const handler = new TicketingHandler([a, b]);
  handler.run(() => {
    for (let i = 0; i < 30; i++) new Logger('svc').error('fan %d', i % 3);
  });
  t.true(await handler.flush());
  for (const backend of [a, b]) {
    const [ticket] = await backend.getTickets();
    t.is(ticket!.occurrenceCount, 30, backend.name);
  }
  t.is(handler.stats().written, 60);
});

test('no target means ./logtickets.db in the working directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-default-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fixture = fileURLToPath(new URL('../fixtures/log-and-exit.ts', import.meta.url));
  await exec(process.execPath, ['--import', import.meta.resolve('tsx'), fixture, 'default'], { cwd: dir });
  const backend = new SqlBackend(`sqlite:${join(dir, 'logtickets.db')}`);
  t.teardown(() => backend.close());
  t.is(await backend.countTickets(), 1);
});

test('queued occurrences are written when a process ends without close()', async (t) => {
  const store = tempStore(t);
  const fixture = fileURLToPath(new URL('../fixtures/log-and-exit.ts', import.meta.url));
  await exec(process.execPath, ['--import', 'tsx', fixture, store]);
  const backend = new SqlBackend(store);
  t.teardown(() => backend.close());
  const [ticket] = await backend.getTickets();
  t.is(ticket!.occurrenceCount, 25);
});

test('bad options are typed errors naming the option', (t) => {
  const cases: Array<[() => unknown, RegExp]> = [
    [() => new TicketingHandler('memory:', { appId: '' }), /appId/],
    [() => new TicketingHandler('memory:', { appID: 'x' } as never), /options\.appID is not an option/],
    [
      () => new TicketingHandler('memory:', { retry: { initialMs: 'fast' } } as never),
      /options\.retry\.initialMs must be a number/,
    ],
    [() => new TicketingHandler('memory:', { exitFlushMs: 'x' } as never), /options\.exitFlushMs must be an integer/],
    [() => new TicketingHandler('memory:', { bubble: 'no' } as never), /options\.bubble must be a boolean/],
    [() => new TicketingHandler('memory:', { projectRoot: 42 } as never), /options\.projectRoot must be a string/],
    [() => new SqlBackend('sqlite::memory:', { prefx: 'x' } as never), /SqlBackend options\.prefx is not an option/],
    [() => new Logger('x', { wrappers: 'fn' } as never), /Logger options\.wrappers must be an array/],
    [() => new TicketingHandler('memory:', { maxQueue: 0 }), /maxQueue/],
    [() => new TicketingHandler('memory:', { batchSize: 1.5 }), /batchSize/],
    [() => new TicketingHandler('memory:', { level: 'SHOUT' }), /level/],
    [() => new TicketingHandler('mysql://x'), /no backend for mysql:\/\/x/],
    [() => new TicketingHandler('postgres://u:hunter2@'), /not a valid postgres:\/\/ URL/],
    [() => new TicketingHandler([]), /empty list/],
    [() => new TicketingHandler([{} as never]), /target\[0\]/],
    [() => new TicketingHandler('sqlite:'), /names no file/],
  ];
  for (const [make, message] of cases) {
    const error = t.throws(make, { instanceOf: LogticketsError, message });
    t.false(error!.message.includes('hunter2'), 'secrets are masked');
  }
});

if (serverAvailable(test, 'PostgreSQL', postgresUnavailableReason())) {
  test.serial('an unreachable PostgreSQL never slows or breaks the logging call', async (t) => {
    const port = await freePort();
    const errors: LogticketsError[] = [];
    const memory = new MemoryBackend();
    const handler = new TicketingHandler([`postgres://app:secret-pw@127.0.0.1:${port}/app`, memory], {
      onError: (e) => errors.push(e),
      retry: { initialMs: 20, maxMs: 100 },
    });
    const log = new Logger('svc');
    const started = process.hrtime.bigint();
    handler.run(() => {
      for (let i = 0; i < 2_000; i++) log.error('while the database is away %d', i);
    });
    const perCallUs = Number(process.hrtime.bigint() - started) / 2_000 / 1_000;
    t.true(perCallUs < 1_000, `a call stayed in-process (${perCallUs.toFixed(1)} µs each)`);
    await until(() => errors.length >= 2, 20_000);
    t.false(await handler.flush({ timeoutMs: 300 }), 'flush reports it could not finish');
    const [, memoryStats] = handler.stats().backends;
    t.is(memoryStats!.written, 2_000, 'the healthy backend was not held up');
    const pgStats = handler.stats().backends[0]!;
    t.is(pgStats.queued, 2_000);
    t.true(pgStats.retried >= 1);
    t.true(errors.length >= 1);
    t.is(errors[0]!.code, 'BACKEND_UNAVAILABLE');
    t.true(errors[0]!.retryable);
    t.false(JSON.stringify(errors.map((e) => [e.message, e.backend])).includes('secret-pw'));
    t.false(await handler.close({ timeoutMs: 200 }));
    t.is(handler.stats().dropped.shutdown, 2_000, 'what could not be written is counted');
  });

  test.serial('records wait while PostgreSQL is down and are all written when it returns', async (t) => {
    const server = await startPostgres();
    t.teardown(() => server.stop());
    const handler = new TicketingHandler(server.url, { ...quiet, retry: { initialMs: 20, maxMs: 200 } });
    const log = new Logger('svc');
    handler.run(() => log.error('first'));
    t.true(await handler.flush({ timeoutMs: 10_000 }));
    await server.pause();
    handler.run(() => {
      for (let i = 0; i < 300; i++) log.error('during the outage');
    });
    await new Promise((r) => setTimeout(r, 300));
    t.is(handler.stats().queued, 300);
    await server.resume();
    t.true(await handler.flush({ timeoutMs: 20_000 }));
    const backend = new SqlBackend(server.url);
    t.teardown(() => backend.close());
    const tickets = await backend.getTickets();
    t.is(
      tickets.reduce((n, x) => n + x.occurrenceCount, 0),
      301,
    );
    t.is(handler.stats().written, 301);
    t.true(handler.stats().retried >= 1);
    await handler.close();
  });

  test.serial('a full queue folds occurrences into exact counts; past that, drops are counted', async (t) => {
    const server = await startPostgres();
    t.teardown(() => server.stop());
    await server.pause();
    const handler = new TicketingHandler(server.url, {
      ...quiet,
      maxQueue: 10,
      maxFolded: 2,
      retry: { initialMs: 20, maxMs: 100 },
    });
    const log = new Logger('svc');
    handler.run(() => {
      for (let i = 0; i < 100; i++) log.error('hot path A');
      for (let i = 0; i < 50; i++) log.error('hot path B');
      for (let i = 0; i < 5; i++) log.error('a third problem finds the fold table full');
    });
    const stats = handler.stats();
    t.is(stats.queued, 150);
    t.is(stats.dropped.queue_full, 5);
    await server.resume();
    // Five occurrences were given up, so flush() cannot say that nothing was lost.
    t.false(await handler.flush({ timeoutMs: 20_000 }));
    t.is(handler.stats().queued, 0);
    const backend = new SqlBackend(server.url);
    t.teardown(() => backend.close());
    const counts = (await backend.getTickets({ orderBy: '-occurrenceCount' })).map((x) => x.occurrenceCount);
    t.deepEqual(counts, [100, 50]);
    t.is(handler.stats().coalesced, 140);
    await handler.close();
  });
}

test('a store that refuses for good: the record is dropped after a few attempts, counted and reported', async (t) => {
  // A store written by a newer logtickets: every open fails with SCHEMA_TOO_NEW, a permanent error.
  const store = tempStore(t);
  const setup = new SqlBackend(store);
  await setup.open();
  await setup.close();
  const db = new Database(store.slice('sqlite:'.length));
  db.prepare("update logtickets_meta set value = '99' where key = 'schema_version'").run();
  db.close();
  const errors: Array<[string, boolean]> = [];
  const handler = new TicketingHandler(store, {
    maxRejectedAttempts: 3,
    retry: { initialMs: 1, maxMs: 5 },
    onError: (e, info) => errors.push([e.code, info.willRetry]),
  });
  handler.run(() => new Logger('svc').error('doomed'));
  await handler.flush({ timeoutMs: 5_000 });
  t.is(handler.stats().dropped.rejected, 1);
  t.deepEqual(errors, [
    ['SCHEMA_TOO_NEW', true],
    ['SCHEMA_TOO_NEW', true],
    ['SCHEMA_TOO_NEW', false],
  ]);
});

test('one entry a store refuses is isolated: the rest of its batch is written', async (t) => {
  const store = tempStore(t);
  const setup = new SqlBackend(store);
  await setup.open();
  await setup.close();
  // A real constraint of the real database refuses one record.
  const db = new Database(store.slice('sqlite:'.length));
  db.exec(`create trigger refuse_poison before insert on logtickets_occurrences
    when new.data like '%poison%' begin select raise(abort, 'poisoned record'); end`);
  db.close();
  const errors: string[] = [];
  const handler = new TicketingHandler(store, {
    maxRejectedAttempts: 2,
    retry: { initialMs: 1, maxMs: 5 },
    onError: (e) => errors.push(e.message),
  });
  const log = new Logger('svc');
  handler.run(() => {
    for (let i = 0; i < 50; i++) log.error('fine %d', i);
    log.error({ extra: { note: 'poison' } }, 'the bad one');
    for (let i = 0; i < 50; i++) log.error('fine %d', i);
  });
  t.false(await handler.flush({ timeoutMs: 10_000 }), 'one entry was given up');
  t.like(handler.stats(), { queued: 0, written: 100, dropped: { rejected: 1, queue_full: 0, closed: 0, shutdown: 0 } });
  t.true(errors.some((m) => /poisoned record/.test(m)));
  await handler.close();
});

test('close() while a write is in flight keeps the stats true', async (t) => {
  const store = tempStore(t);
  const setup = new SqlBackend(store);
  await setup.open();
  await setup.close();
  // Another connection holds the write lock: our write waits (asynchronously) for it.
  const blocker = new Database(store.slice('sqlite:'.length));
  blocker.exec('begin immediate');
  const handler = new TicketingHandler(store, { onError: () => {}, batchSize: 10 });
  handler.run(() => {
    for (let i = 0; i < 25; i++) new Logger('svc').error('in flight %d', i);
  });
  await new Promise((r) => setTimeout(r, 100));
  t.false(await handler.close({ timeoutMs: 200 }));
  blocker.exec('commit');
  blocker.close();
  await new Promise((r) => setTimeout(r, 300));
  const stats = handler.stats();
  t.is(stats.queued, 0);
  t.is(stats.written + stats.dropped.shutdown, 25, JSON.stringify(stats));
  const backend = new SqlBackend(store);
  t.teardown(() => backend.close());
  t.is((await backend.countTickets()) > 0 ? (await backend.getTickets())[0]!.occurrenceCount : 0, stats.written);
});

test('a store that is not there yet is waited for, not given up', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-later-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const later = join(dir, 'created-later');
  const handler = new TicketingHandler(`sqlite:${join(later, 'tickets.db')}`, {
    retry: { initialMs: 20, maxMs: 100 },
    onError: () => {},
  });
  handler.run(() => new Logger('svc').error('before the directory exists'));
  await new Promise((r) => setTimeout(r, 1_000));
  t.is(handler.stats().dropped.rejected, 0);
  mkdirSync(later);
  t.true(await handler.flush({ timeoutMs: 5_000 }));
  t.is(handler.stats().written, 1);
  await handler.close();
});

// Serial: it captures stderr, which a test running beside it would share.
test.serial('the default error hook writes one line per problem, not one per record', async (t) => {
  const lines: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (lines.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const handler = new TicketingHandler('sqlite:/nonexistent-dir/y/tickets.db', {
      maxRejectedAttempts: 50,
      retry: { initialMs: 1, maxMs: 2 },
    });
    handler.run(() => {
      for (let i = 0; i < 20; i++) new Logger('svc').error('doomed %d', i);
    });
    await handler.flush({ timeoutMs: 3_000 });
    await handler.close({ timeoutMs: 10 });
  } finally {
    process.stderr.write = original;
  }
  const ours = lines.filter((l) => l.includes('nonexistent-dir/y'));
  t.is(ours.length, 1, ours.join(''));
  t.regex(ours[0]!, /^logtickets: sqlite:\/nonexistent-dir\/y\/tickets\.db: BACKEND_UNAVAILABLE: .+ \(will retry\)\n$/);
});

test('after close, records are counted as dropped, not queued', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend);
  t.true(await handler.close());
  handler.run(() => new Logger('svc').error('too late'));
  t.is(handler.stats().dropped.closed, 1);
  t.is(await backend.countTickets(), 0);
});
