/**
 * A process that ends while its store cannot be written exits once the exit
 * flush runs out, and says on stderr how many occurrences it could not write:
 * a loss is never silent.
 */

import test from 'ava';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { lockedStore } from './locked-store.js';

const fixture = fileURLToPath(new URL('../fixtures/log-into-locked-store.ts', import.meta.url));

test('a store locked by another process: the exit flush is bounded and the loss is reported', async (t) => {
  // The lock is held until the test ends (teardown).
  const { path } = await lockedStore(t);
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Far beyond the 1 s exit flush: reaching it means the process was kept alive, which fails the test.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (c, s) => resolve([c, s])),
  );
  clearTimeout(killer);
  t.is(signal, null, 'the process ended on its own');
  t.is(code, 0);
  t.regex(stderr, /the process is ending with 1 occurrence not written \(exitFlushMs 1000 ran out\)/);
});
