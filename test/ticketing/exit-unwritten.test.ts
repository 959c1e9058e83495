/**
 * A process that ends while its store cannot be written exits once the exit
 * flush runs out, and says on stderr how many occurrences it could not write:
 * a loss is never silent.
 */

import test from 'ava';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqlBackend } from '../../src/index.js';

const fixture = fileURLToPath(new URL('../fixtures/log-into-locked-store.ts', import.meta.url));

test('a store locked by another process: the exit flush is bounded and the loss is reported', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-exit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'tickets.db');
  const setup = new SqlBackend(`sqlite:${path}`);
  await setup.open();
  await setup.close();
  const blocker = new Database(path);
  blocker.exec('begin exclusive');
  t.teardown(() => blocker.close());
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Far beyond the 1 s exit flush: reaching it means the process was kept alive, which fails the test.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  clearTimeout(killer);
  t.is(signal, null, 'the process ended on its own');
  t.is(code, 0);
  t.regex(stderr, /the process is ending with 1 occurrence not written \(exitFlushMs 1000 ran out\)/);
});
