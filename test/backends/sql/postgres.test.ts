import test from 'ava';
import { randomBytes } from 'node:crypto';
import { SqlBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';
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
}
