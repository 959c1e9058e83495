/**
 * A SQLite store (tables made) whose write lock another connection holds, so
 * a handler's writes wait (SQLITE_BUSY, retried) until `unlock()`: how the
 * queue, folding and exit tests keep records waiting without a fake store.
 */

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlBackend } from '../../src/index.js';

export async function lockedStore(t: { teardown(fn: () => void): void }): Promise<{ path: string; unlock(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-locked-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'tickets.db');
  const setup = new SqlBackend(`sqlite:${path}`);
  await setup.open();
  await setup.close();
  const blocker = new Database(path);
  blocker.exec('begin exclusive');
  let locked = true;
  const unlock = () => {
    if (!locked) return;
    locked = false;
    blocker.exec('commit');
    blocker.close();
  };
  t.teardown(unlock);
  return { path, unlock };
}
