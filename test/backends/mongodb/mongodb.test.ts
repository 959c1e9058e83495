import test from 'ava';
import { randomBytes } from 'node:crypto';
import { MongoDBBackend, type TicketBackend } from '../../../src/index.js';
import { backendSuite } from '../../conformance/backend-suite.js';
import { outboxMergeSuite } from '../../conformance/outbox-merge-suite.js';
import { trackerStateSuite } from '../../conformance/tracker-state-suite.js';
import type { TrackerFactory } from '../../conformance/tracker-subject.js';
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

  const mongoTrackers: TrackerFactory = async (now) => {
    const { url } = await mongo();
    const database = `t${randomBytes(5).toString('hex')}`;
    const others: MongoDBBackend[] = [];
    const another = (options: { readOnly?: boolean } = {}) => {
      const backend = new MongoDBBackend(url, { database, now, ...options });
      others.push(backend);
      return backend;
    };
    return {
      store: new MongoDBBackend(url, { database, now }),
      another: () => another(),
      reader: () => another({ readOnly: true }),
      child: { uri: `${url.replace(/\/?$/, '/')}${database}` },
      cleanup: async () => {
        await Promise.all(others.map((o) => o.close()));
      },
    };
  };
  trackerStateSuite(test, mongoTrackers);
  outboxMergeSuite(test, mongoTrackers);
}
