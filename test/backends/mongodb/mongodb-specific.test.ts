import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { Logger, LogticketsError, MongoDBBackend, TicketingHandler } from '../../../src/index.js';
import { hash, occurrence } from '../../conformance/backend-suite.js';
import { until } from '../../conformance/fleet-replicas.js';
import { serverAvailable } from '../../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../../services/mongodb/mongo-server.js';

const exec = promisify(execFile);
const flood = fileURLToPath(new URL('../../fixtures/flood.ts', import.meta.url));
const main = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

let shared: Promise<MongoServer> | undefined;
const mongo = () => (shared ??= startMongo());
test.after.always(async () => {
  if (shared !== undefined) await (await shared).stop();
});
/** A server given by LOGTICKETS_TEST_MONGODB_URL cannot be killed by the tests: say so in one line. */
function externalServer(t: { log(...values: unknown[]): void; pass(): void }, server: MongoServer): boolean {
  if (server.kind !== 'external') return false;
  t.log('needs a server the test harness controls (not LOGTICKETS_TEST_MONGODB_URL): the crash part did not run');
  t.pass();
  return true;
}

const database = () => `t${randomBytes(5).toString('hex')}`;
const dbUrl = (url: string, db: string) => `${url.replace(/\/?$/, '/')}${db}`;

test('a malformed URI is a clear error at construction', (t) => {
  for (const [uri, message] of [
    ['mongodb://', /not a valid MongoDB URI/],
    ['mongodb://host:99999/db', /not a valid MongoDB URI/],
    ['mongodb://user:hunter2@a b/db', /not a valid MongoDB URI/],
  ] as const) {
    const error = t.throws(() => new MongoDBBackend(uri), { instanceOf: LogticketsError, message });
    t.is(error!.code, 'INVALID_URI');
    t.false(error!.message.includes('hunter2'));
  }
  t.throws(() => new MongoDBBackend('mongodb://localhost/db', { retention: 0 }), { message: /retention/ });
  t.throws(() => new MongoDBBackend('mongodb://localhost/db', { prefix: 'a$b' }), { message: /prefix/ });
  t.throws(() => new TicketingHandler('mongodb+srv://'), { message: /not a valid MongoDB URI/ });
});

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  test('four OS processes logging the same brand-new error: one ticket, exact count', async (t) => {
    const { url } = await mongo();
    const uri = dbUrl(url, database());
    const runs = await Promise.all(
      [1, 2, 3, 4].map(() => exec(process.execPath, ['--import', 'tsx', flood, uri, '500'], { timeout: 120_000 })),
    );
    for (const { stdout } of runs) t.is(JSON.parse(stdout).written, 500);
    const backend = new MongoDBBackend(uri);
    t.teardown(() => backend.close());
    const tickets = await backend.getTickets();
    t.is(tickets.length, 1);
    t.is(tickets[0]!.occurrenceCount, 2_000);
    t.is((await backend.getOccurrences(tickets[0]!.id, { limit: 5_000 })).length, 2_000);
  });

  test('a retried batch is counted once, even after a partial write', async (t) => {
    const { url } = await mongo();
    const backend = new MongoDBBackend(url, { database: database() });
    t.teardown(() => backend.close());
    const [h1, h2] = [hash(), hash()];
    const batch = [occurrence({ hash: h1 }), occurrence({ hash: h1 }), occurrence({ hash: h2 })];
    await backend.recordBatch(batch, { batchId: 'batch-1' });
    const again = await backend.recordBatch(batch, { batchId: 'batch-1' });
    const byHash = new Map(again.map((o) => [o.hash, o]));
    t.like(byHash.get(h1), { occurrenceCount: 2, created: false });
    t.like(byHash.get(h2), { occurrenceCount: 1, created: false });
    const tickets = await backend.getTickets({ orderBy: '-occurrenceCount' });
    t.deepEqual(
      tickets.map((x) => x.occurrenceCount),
      [2, 1],
    );
    t.is((await backend.getOccurrences(tickets[0]!.id)).length, 2, 'no occurrence stored twice');
    await backend.recordBatch(batch, { batchId: 'batch-2' });
    t.is((await backend.getTicket(tickets[0]!.id))!.occurrenceCount, 4, 'a new batch counts again');
  });

  test('killing the store mid-flood loses nothing and counts nothing twice', async (t) => {
    const server = await startMongo();
    t.teardown(() => server.stop());
    if (externalServer(t, server)) return;
    const uri = dbUrl(server.url, database());
    const handler = new TicketingHandler(uri, {
      retry: { initialMs: 20, maxMs: 200 },
      onError: () => {},
      batchSize: 100,
    });
    t.teardown(() => handler.close({ timeoutMs: 1_000 }));
    const log = new Logger('flood');
    let logged = 0;
    const fire = () => log.error('under fire %d', logged++);
    const logFor = async (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        handler.run(() => {
          for (let i = 0; i < 50; i++) fire();
        });
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    // Let the store be created first: FerretDB cannot start again after a kill
    // that lands while it is still creating a database's metadata.
    handler.run(fire);
    t.true(await handler.flush({ timeoutMs: 30_000 }));
    await logFor(400);
    await server.restart(); // kill -9, then start on the same port and data
    await logFor(400);
    await server.kill();
    await logFor(200);
    await server.start();
    t.true(await handler.flush({ timeoutMs: 60_000 }));
    const stats = handler.stats();
    t.is(stats.written, logged);
    t.is(
      Object.values(stats.dropped).reduce((a, b) => a + b, 0),
      0,
    );
    const backend = new MongoDBBackend(uri);
    t.teardown(() => backend.close());
    const tickets = await backend.getTickets();
    t.is(tickets.length, 1);
    t.is(tickets[0]!.occurrenceCount, logged, 'exact: no loss, no double count');
    t.is((await backend.getOccurrences(tickets[0]!.id, { limit: 100_000 })).length, logged);
  });

  test('a server that is not there at start-up: records wait and are written when it comes', async (t) => {
    const server = await startMongo();
    t.teardown(() => server.stop());
    if (externalServer(t, server)) return;
    await server.stop();
    const uri = dbUrl(server.url, database());
    const handler = new TicketingHandler(new MongoDBBackend(uri, { serverSelectionTimeoutMs: 300 }), {
      retry: { initialMs: 50, maxMs: 300 },
      onError: () => {},
    });
    const log = new Logger('early');
    const started = process.hrtime.bigint();
    handler.run(() => {
      for (let i = 0; i < 100; i++) log.error('before the database is up');
    });
    t.true(Number(process.hrtime.bigint() - started) / 1e6 < 1_000, 'logging did not wait for the server');
    // Until the writer has tried and failed at least once (a loaded machine may take a while to get there).
    await until(() => handler.stats().retried >= 1, 'a failed attempt while the server is down');
    t.is(handler.stats().queued, 100);
    t.true(handler.stats().retried >= 1);
    await server.start();
    t.true(await handler.flush({ timeoutMs: 30_000 }));
    t.is(handler.stats().written, 100);
    await handler.close();
    await handler.backends[0]!.close();
  });

  test('retention keeps the newest occurrences; counts stay exact', async (t) => {
    const { url } = await mongo();
    const backend = new MongoDBBackend(url, { database: database(), retention: 5 });
    t.teardown(() => backend.close());
    const h = hash();
    for (let round = 0; round < 3; round++) {
      await backend.recordBatch(
        Array.from({ length: 4 }, (_, i) =>
          occurrence({
            hash: h,
            time: new Date(Date.UTC(2025, 0, 1, 0, 0, round * 4 + i)).toISOString(),
            data: { n: round * 4 + i },
          }),
        ),
      );
    }
    const [ticket] = await backend.getTickets();
    t.is(ticket!.occurrenceCount, 12);
    const kept = await backend.getOccurrences(ticket!.id, { limit: 100 });
    t.deepEqual(
      kept.map((o) => (o.data as { n: number }).n),
      [11, 10, 9, 8, 7],
    );
  });

  test('occurrences are queryable BSON; hostile keys are escaped and come back intact; solve touches only its fields', async (t) => {
    const { url } = await mongo();
    const db = database();
    const backend = new MongoDBBackend(url, { database: db });
    t.teardown(() => backend.close());
    const data = { extra: { orderId: 42, $where: 'sleep(1000)', 'a.b': 1, '%2E': 'literal', nested: [{ $gt: 1 }] } };
    const [outcome] = await backend.recordBatch([occurrence({ hash: hash(), data })]);
    const [stored] = await backend.getOccurrences(outcome!.ticketId);
    t.deepEqual(stored!.data, data);

    const client = new MongoClient(url);
    t.teardown(() => client.close());
    const raw = client.db(db);
    const found = await raw.collection('logtickets_occurrences').findOne({ 'data.extra.orderId': 42 });
    t.truthy(found, 'record data is a real sub-document');
    t.false(Object.keys(found!.data.extra).some((k) => k.startsWith('$') || k.includes('.')));

    const before = await raw.collection('logtickets_tickets').findOne({ _id: outcome!.ticketId as never });
    await backend.solveTicket(outcome!.ticketId);
    const after = await raw.collection('logtickets_tickets').findOne({ _id: outcome!.ticketId as never });
    // A field that is missing reads as null (FerretDB leaves null fields out of an upsert).
    const changed = Object.keys(after!).filter(
      (k) => JSON.stringify(after![k] ?? null) !== JSON.stringify(before![k] ?? null),
    );
    t.deepEqual(changed.sort(), ['solved', 'solvedAt', 'state', 'stateAt']);
  });

  test('an application MongoClient can be passed in and stays open', async (t) => {
    const { url } = await mongo();
    const client = new MongoClient(url);
    t.teardown(() => client.close());
    const backend = new MongoDBBackend(client, { database: database() });
    const handler = new TicketingHandler(backend);
    handler.run(() => new Logger('svc').warn('through the app client'));
    t.true(await handler.flush({ timeoutMs: 10_000 }));
    await handler.close();
    await backend.close();
    t.is(
      await client
        .db('admin')
        .command({ ping: 1 })
        .then((r) => r.ok),
      1,
      'the client is still usable',
    );
  });

  // Serial: the CLI's child processes must not wait for a server busy with this file's floods.
  test.serial('the CLI lists, solves and shows a recurrence on MongoDB', async (t) => {
    const { url } = await mongo();
    const uri = dbUrl(url, database());
    await exec(process.execPath, ['--import', 'tsx', flood, uri, '30']);
    const cli = async (...args: string[]) =>
      (await exec(process.execPath, ['--import', 'tsx', main, ...args, '--db', uri])).stdout;
    const [ticket] = JSON.parse(await cli('list', '--json'));
    t.like(ticket, { level: 'ERROR', channel: 'flood', occurrenceCount: 30, solved: false });
    await cli('solve', String(ticket.id));
    // Solved two minutes ago and in no release, as far as the store knows:
    // occurrences within the grace window after a solve would leave it
    // solved, and so would occurrences of the release it was solved in.
    const client = new MongoClient(uri);
    t.teardown(() => client.close());
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await client
      .db()
      .collection('logtickets_tickets')
      .updateOne(
        { _id: ticket.id },
        { $set: { solvedAt: twoMinutesAgo, stateAt: twoMinutesAgo, solvedInRelease: null } },
      );
    await exec(process.execPath, ['--import', 'tsx', flood, uri, '5']);
    t.like(JSON.parse(await cli('show', String(ticket.id), '--json')), {
      solved: false,
      regressionCount: 1,
      occurrenceCount: 35,
    });
  });
}
