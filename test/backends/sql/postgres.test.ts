import test from 'ava';
import { randomBytes } from 'node:crypto';
import { SqlBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';
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
      const siblings: TicketBackend[] = [];
      return {
        backend: new SqlBackend(url, { prefix }),
        sibling: () => {
          const sibling = new SqlBackend(url, { prefix });
          siblings.push(sibling);
          return sibling;
        },
        child: { uri: url, prefix },
        cleanup: async () => {
          await Promise.all(siblings.map((s) => s.close()));
        },
      };
    },
    { nul: 'replaced' },
  );
}
