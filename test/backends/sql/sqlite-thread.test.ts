/**
 * The SQLite worker thread that runs a writer's statements (sqlite-thread.ts,
 * sqlite-worker.ts), on real database files: answers and errors come back as
 * the driver gives them on the application's thread, a worker that stops is
 * replaced, and an idle worker never keeps a process alive. The store's own
 * behaviour on top of it is the shared conformance suite (sqlite.test.ts).
 */

import test from 'ava';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { SqliteThread } from '../../../src/backends/sql/sqlite-thread.js';
import { SqlBackend } from '../../../src/index.js';

const exec = promisify(execFile);

function tempFile(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-thread-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'store.db');
}

function thread(t: { teardown(fn: () => Promise<void>): void }, path: string): SqliteThread {
  const made = new SqliteThread({ path, create: true, busyTimeoutMs: 1_000 });
  t.teardown(() => made.close());
  return made;
}

test('statements run in the worker: rows, changes, bulk inserts, in the order sent', async (t) => {
  const path = tempFile(t);
  const sqlite = thread(t, path);
  await sqlite.request({ op: 'query', sql: 'create table t (id integer primary key, v text)', params: [] });
  const inserted = await sqlite.request({ op: 'query', sql: 'insert into t (v) values (?)', params: ['one'] });
  t.like(inserted, { changes: 1, lastInsertRowid: 1 });
  await sqlite.request({ op: 'many', sql: 'insert into t (v) values (?)', rows: [['two'], ['three']] });
  const read = await sqlite.request({ op: 'query', sql: 'select v from t order by id', params: [] });
  t.deepEqual('rows' in read ? read.rows : null, [{ v: 'one' }, { v: 'two' }, { v: 'three' }]);
  // A new store is switched to write-ahead logging by its creator, as on the application's thread.
  const check = new Database(path, { readonly: true });
  t.is(check.pragma('journal_mode', { simple: true }), 'wal');
  check.close();
  t.true(isMainThread, 'the test itself runs on the main thread');
});

test('errors come back with their SQLite code: a constraint, and busy while another connection writes', async (t) => {
  const path = tempFile(t);
  const sqlite = thread(t, path);
  await sqlite.request({ op: 'query', sql: 'create table t (id integer primary key)', params: [] });
  await sqlite.request({ op: 'query', sql: 'insert into t (id) values (1)', params: [] });
  const duplicate = await t.throwsAsync(
    sqlite.request({ op: 'query', sql: 'insert into t (id) values (1)', params: [] }),
  );
  t.is((duplicate as Error & { code?: string }).code, 'SQLITE_CONSTRAINT_PRIMARYKEY');
  const blocker = new Database(path);
  blocker.exec('begin immediate');
  const busy = await t.throwsAsync(sqlite.request({ op: 'query', sql: 'begin immediate', params: [] }));
  t.is((busy as Error & { code?: string }).code, 'SQLITE_BUSY');
  blocker.exec('commit');
  blocker.close();
  t.like(await sqlite.request({ op: 'query', sql: 'insert into t (id) values (2)', params: [] }), { changes: 1 });
});

test('a store that cannot be opened fails the first statement, and the next one tries again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-thread-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const sqlite = thread(t, join(dir, 'missing-directory', 'store.db'));
  const error = await t.throwsAsync(sqlite.request({ op: 'query', sql: 'select 1 as one', params: [] }));
  t.regex(error!.message, /directory does not exist|unable to open/i);
  // Its operator makes the directory: the next statement opens the store.
  mkdirSync(join(dir, 'missing-directory'));
  const read = await sqlite.request({ op: 'query', sql: 'select 1 as one', params: [] });
  t.deepEqual('rows' in read ? read.rows : null, [{ one: 1 }]);
});

test('a worker that stops fails what waits as retryable, and the next statement starts a new one', async (t) => {
  const path = tempFile(t);
  const sqlite = thread(t, path);
  await sqlite.request({ op: 'query', sql: 'create table t (v)', params: [] });
  const worker = await sqlite.start();
  const waiting = sqlite.request({ op: 'query', sql: 'select count(*) as n from t', params: [] });
  await worker.terminate();
  const stopped = await waiting.then(
    () => null,
    (error: unknown) => error as Error & { code?: string },
  );
  // Either it was answered before the worker ended, or it failed as an I/O error, which the pipeline retries.
  if (stopped !== null) t.is(stopped.code, 'SQLITE_IOERR');
  const read = await sqlite.request({ op: 'query', sql: 'select count(*) as n from t', params: [] });
  t.deepEqual('rows' in read ? read.rows : null, [{ n: 0 }]);
  t.not(await sqlite.start(), worker);
});

test('a store left open does not keep a process alive: the worker idles unreferenced', async (t) => {
  const path = tempFile(t);
  const script = `
    import { SqlBackend } from ${JSON.stringify(new URL('../../../src/index.js', import.meta.url).href)};
    const store = new SqlBackend(${JSON.stringify(`sqlite:${path}`)});
    await store.recordBatch([{ hash: 'a'.repeat(40), appId: 'a', level: 14, channel: 'c', location: 'f.ts:1', function: null,
      title: 'left open', time: new Date().toISOString(), data: { message: 'left open' } }]);
    console.log('written');
  `;
  // exec resolves only when the child process ends by itself.
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    timeout: 60_000,
  });
  t.is(stdout.trim(), 'written');
  const store = new SqlBackend(`sqlite:${path}`, { readOnly: true });
  t.teardown(() => store.close());
  t.is((await store.getTickets())[0]!.title, 'left open');
});
