import test from 'ava';
import { randomBytes } from 'node:crypto';
import { SqlBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';
import { outboxMergeSuite } from '../../conformance/outbox-merge-suite.js';
import { trackerStateSuite } from '../../conformance/tracker-state-suite.js';
import type { TrackerFactory } from '../../conformance/tracker-subject.js';
import { relationsWithPrefix } from '../store-inspection.js';
import { serverAvailable } from '../../services/availability.js';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../../services/postgres.js';

let server: Promise<PostgresServer> | undefined;
const postgres = () => (server ??= startPostgres());
test.after.always(async () => {
  if (server !== undefined) await (await server).stop();
});

if (serverAvailable(test, 'PostgreSQL', postgresUnavailableReason())) {
  // One server for the file; each test gets tables of its own through a random prefix.
  backendSuite(
    test,
    async () => {
      const { url } = await postgres();
      const prefix = `t${randomBytes(5).toString('hex')}_`;
      const absentPrefix = `a${randomBytes(5).toString('hex')}_`;
      const siblings: TicketBackend[] = [];
      const another = (backend: TicketBackend) => {
        siblings.push(backend);
        return backend;
      };
      return {
        backend: new SqlBackend(url, { prefix }),
        sibling: () => another(new SqlBackend(url, { prefix })),
        reader: () => another(new SqlBackend(url, { prefix, readOnly: true })),
        child: { uri: url, prefix },
        absent: {
          open: (options) => another(new SqlBackend(url, { prefix: absentPrefix, ...options })),
          leftovers: () => relationsWithPrefix(url, absentPrefix),
        },
        cleanup: async () => {
          await Promise.all(siblings.map((s) => s.close()));
        },
      };
    },
    { nul: 'replaced', batches: 'atomic' },
  );

  const postgresTrackers: TrackerFactory = async (now) => {
    const { url } = await postgres();
    const prefix = `t${randomBytes(5).toString('hex')}_`;
    const others: SqlBackend[] = [];
    const another = (options: { readOnly?: boolean } = {}) => {
      const backend = new SqlBackend(url, { prefix, now, ...options });
      others.push(backend);
      return backend;
    };
    return {
      store: new SqlBackend(url, { prefix, now }),
      another: () => another(),
      reader: () => another({ readOnly: true }),
      child: { uri: url, prefix },
      cleanup: async () => {
        await Promise.all(others.map((o) => o.close()));
      },
    };
  };
  trackerStateSuite(test, postgresTrackers);
  outboxMergeSuite(test, postgresTrackers);
}
