/**
 * init(): one call builds the handler, pushes it application-wide, records
 * crashes and flushes before signals end the process. Each case runs a real
 * service process (test/fixtures/init-service.ts) against a real SQLite file.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, Logger, LogticketsError, MemoryBackend, SqlBackend } from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/init-service.ts', import.meta.url));

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ended> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', fixture, ...args], { env }, (_e, _out, stderr) =>
      resolve({ code: child.exitCode, signal: child.signalCode, stderr }),
    );
  });
}

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-init-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function onlyTicket(uri: string) {
  const store = new SqlBackend(uri);
  try {
    const tickets = await store.getTickets();
    return tickets;
  } finally {
    await store.close();
  }
}

test('SIGTERM: what waits is written, then the process ends by the signal', async (t) => {
  const uri = `sqlite:${join(tempDir(t), 'tickets.db')}`;
  const ended = await run(['signal', uri]);
  t.is(ended.signal, 'SIGTERM');
  const tickets = await onlyTicket(uri);
  t.is(tickets.length, 1);
  t.is(tickets[0]!.title, 'an error before the signal');
  t.is(tickets[0]!.firstRelease, '2.0.0');
  t.deepEqual(tickets[0]!.environments, ['staging']);
});

test('SIGTERM with a listener of the application: the flush runs and ending is left to it', async (t) => {
  const uri = `sqlite:${join(tempDir(t), 'tickets.db')}`;
  const ended = await run(['own-signal', uri]);
  t.is(ended.code, 0);
  t.is((await onlyTicket(uri)).length, 1);
});

test('an uncaught exception becomes a CRITICAL ticket and the process exits with code 1', async (t) => {
  const uri = `sqlite:${join(tempDir(t), 'tickets.db')}`;
  const ended = await run(['crash', uri]);
  t.is(ended.code, 1);
  t.regex(ended.stderr, /the service crashed/);
  const [ticket] = await onlyTicket(uri);
  t.is(ticket!.level, 15);
  t.regex(ticket!.title, /the service crashed/);
});

test('init() with nothing reads LOGTICKETS_CONFIG', async (t) => {
  const dir = tempDir(t);
  const uri = `sqlite:${join(dir, 'configured.db')}`;
  const config = join(dir, 'logtickets.json');
  writeFileSync(config, JSON.stringify({ store: { uri }, handler: { appId: 'from-config', release: 'r-7' } }));
  const ended = await run(['config', 'unused'], { ...process.env, LOGTICKETS_CONFIG: config });
  t.is(ended.code, 0, ended.stderr);
  const [ticket] = await onlyTicket(uri);
  t.is(ticket!.appId, 'from-config');
  t.is(ticket!.lastRelease, 'r-7');
});

test('one init at a time; options win over nothing; close() undoes it', async (t) => {
  const store = new MemoryBackend();
  const tickets = init({ target: store, appId: 'one', captureUncaught: false, signals: false, release: null });
  const again = t.throws(() => init({ target: new MemoryBackend() }), { instanceOf: LogticketsError });
  t.regex(again!.message, /already called/);
  new Logger('init.test').error('recorded by the pushed handler');
  t.true(await tickets.close());
  const [ticket] = await store.getTickets();
  t.is(ticket!.appId, 'one');
  t.is(ticket!.firstRelease, null);
  // Closed: the handler is no longer pushed, and init may be called again.
  new Logger('init.test').error('not recorded');
  t.is((await store.getTickets()).length, 1);
  const second = init({ target: store, captureUncaught: false, signals: false });
  await second.close();
});

test('bad arguments are typed errors naming what was wrong', (t) => {
  t.throws(() => init({ config: {}, target: 'memory:' }), { message: /either config or target/ });
  t.throws(() => init({ target: 'memory:', breadcrumbs: -1 }), { message: /options\.breadcrumbs/ });
  t.throws(() => init({ target: 'memory:', release: 'two\nlines' }), { message: /options\.release/ });
  t.throws(() => init({ config: { handler: { release: '' } } }), { message: /handler\.release/ });
});
