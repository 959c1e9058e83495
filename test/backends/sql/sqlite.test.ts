import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';

backendSuite(
  test,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logtickets-sqlite-'));
    const uri = `sqlite:${join(dir, 'tickets.db')}`;
    const siblings: TicketBackend[] = [];
    return {
      backend: new SqlBackend(uri),
      sibling: () => {
        const sibling = new SqlBackend(uri);
        siblings.push(sibling);
        return sibling;
      },
      child: { uri },
      cleanup: async () => {
        await Promise.all(siblings.map((s) => s.close()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { nul: 'kept' },
);
