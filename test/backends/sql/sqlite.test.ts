import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';
import { outboxMergeSuite } from '../../conformance/outbox-merge-suite.js';
import { trackerStateSuite } from '../../conformance/tracker-state-suite.js';
import type { TrackerFactory } from '../../conformance/tracker-subject.js';

backendSuite(
  test,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logtickets-sqlite-'));
    const uri = `sqlite:${join(dir, 'tickets.db')}`;
    const absentDir = join(dir, 'absent');
    const absentUri = `sqlite:${join(absentDir, 'tickets.db')}`;
    const siblings: TicketBackend[] = [];
    const another = (backend: TicketBackend) => {
      siblings.push(backend);
      return backend;
    };
    return {
      backend: new SqlBackend(uri),
      sibling: () => another(new SqlBackend(uri)),
      reader: () => another(new SqlBackend(uri, { readOnly: true })),
      child: { uri },
      absent: {
        open: (options) => {
          // The directory exists: only the file is missing.
          mkdirSync(absentDir, { recursive: true });
          return another(new SqlBackend(absentUri, options));
        },
        leftovers: async () => (existsSync(absentDir) ? readdirSync(absentDir) : []),
      },
      cleanup: async () => {
        await Promise.all(siblings.map((s) => s.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { nul: 'kept', batches: 'atomic' },
);

const sqliteTrackers: TrackerFactory = async (now) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-sqlite-'));
  const uri = `sqlite:${join(dir, 'tickets.db')}`;
  const others: SqlBackend[] = [];
  const another = (options: { readOnly?: boolean } = {}) => {
    const backend = new SqlBackend(uri, { now, ...options });
    others.push(backend);
    return backend;
  };
  return {
    store: new SqlBackend(uri, { now }),
    another: () => another(),
    reader: () => another({ readOnly: true }),
    child: { uri },
    cleanup: async () => {
      await Promise.all(others.map((o) => o.close()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
trackerStateSuite(test, sqliteTrackers);
outboxMergeSuite(test, sqliteTrackers);
