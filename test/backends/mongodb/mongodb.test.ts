import test from 'ava';
import { randomBytes } from 'node:crypto';
import { MongoDBBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';
import { collectionsOf } from '../store-inspection.js';
import { serverAvailable } from '../../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../../services/mongodb/mongo-server.js';

let server: Promise<MongoServer> | undefined;
export const mongo = () => (server ??= startMongo());
test.after.always(async () => {
  if (server !== undefined) await (await server).stop();
});

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  // One server for the file; each test gets a database of its own.
  backendSuite(
    test,
    async () => {
      const { url } = await mongo();
      const database = `t${randomBytes(5).toString('hex')}`;
      const absentDatabase = `a${randomBytes(5).toString('hex')}`;
      const siblings: TicketBackend[] = [];
      const another = (backend: TicketBackend) => {
        siblings.push(backend);
        return backend;
      };
      return {
        backend: new MongoDBBackend(url, { database }),
        sibling: () => another(new MongoDBBackend(url, { database })),
        reader: () => another(new MongoDBBackend(url, { database, readOnly: true })),
        child: { uri: `${url.replace(/\/?$/, '/')}${database}` },
        absent: {
          open: (options) => another(new MongoDBBackend(url, { database: absentDatabase, ...options })),
          leftovers: () => collectionsOf(url, absentDatabase),
        },
        cleanup: async () => {
          await Promise.all(siblings.map((s) => s.close()));
        },
      };
    },
    { nul: 'kept', batches: 'per-ticket' },
  );
}
