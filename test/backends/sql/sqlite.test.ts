import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';

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
