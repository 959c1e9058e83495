import test from 'ava';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
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

  test('analytics count in UTC whatever the time zone of the session', async (t) => {
    const { url } = await postgres();
    // A session 5:30 ahead of UTC: a bucket cut in its time zone would start at :30, or on the wrong day.
    const zoned = `${url}?options=${encodeURIComponent('-c TimeZone=Asia/Kolkata')}`;
    const client = new pg.Client({ connectionString: zoned });
    await client.connect();
    t.teardown(() => client.end());
    t.is((await client.query<{ TimeZone: string }>('show timezone')).rows[0]!.TimeZone, 'Asia/Kolkata');
    const store = new SqlBackend(zoned, { prefix: `z${randomBytes(5).toString('hex')}_` });
    t.teardown(() => store.close());
    const occurrence = (hash: string, time: string) => ({
      hash,
      appId: 'app',
      level: 14,
      channel: 'c',
      location: 'src/a.ts:1',
      function: null,
      title: 'late',
      time,
      data: {},
    });
    const [a, b] = [randomBytes(20).toString('hex'), randomBytes(20).toString('hex')];
    const [first] = await store.recordBatch([occurrence(a, '2025-03-01T23:10:00.000Z')]);
    await store.recordBatch([occurrence(b, '2025-03-02T01:10:00.000Z'), occurrence(a, '2025-03-02T01:20:00.000Z')]);
    const window = { from: '2025-03-01T00:00:00.000Z', to: '2025-03-03T00:00:00.000Z' };
    const days = [
      { start: '2025-03-01T00:00:00.000Z', count: 1 },
      { start: '2025-03-02T00:00:00.000Z', count: 1 },
    ];
    t.deepEqual(await store.newTickets({ ...window, bucket: 'day' }), days);
    t.deepEqual(await store.newTickets({ ...window, bucket: 'hour' }), [
      { start: '2025-03-01T23:00:00.000Z', count: 1 },
      { start: '2025-03-02T01:00:00.000Z', count: 1 },
    ]);
    t.deepEqual(await store.histogram(first!.ticketId, { ...window, bucket: 'day' }), days);
    t.deepEqual(await store.histogram(null, { ...window, bucket: 'hour' }), [
      { start: '2025-03-01T23:00:00.000Z', count: 1 },
      { start: '2025-03-02T01:00:00.000Z', count: 2 },
    ]);
  });
}
