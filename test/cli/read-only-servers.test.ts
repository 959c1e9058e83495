/**
 * Reading never writes, on PostgreSQL and MongoDB, through the built command:
 * pointed at a database without a logtickets store, list, show, occurrences
 * and stats (and solve, reopen, delete) say what is missing and create no
 * table, index or collection; check-config warns that the store is not there
 * yet, and creates nothing either. On a store that is there they read it and
 * leave its tables and collections as they were.
 */

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MongoDBBackend, SqlBackend, type TicketBackend } from '../../src/index.js';
import { collectionsOf, relationsWithPrefix } from '../backends/store-inspection.js';
import { hash, occurrence } from '../conformance/backend-suite.js';
import { serverAvailable } from '../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../services/mongodb/mongo-server.js';
import { postgresUnavailableReason, startPostgres, type PostgresServer } from '../services/postgres.js';
import { cli, workdir } from './run-cli.js';

let pgServer: Promise<PostgresServer> | undefined;
let mongoServer: Promise<MongoServer> | undefined;
test.after.always(async () => {
  if (pgServer !== undefined) await (await pgServer).stop();
  if (mongoServer !== undefined) await (await mongoServer).stop();
});

const COMMANDS: ReadonlyArray<readonly string[]> = [
  ['list'],
  ['list', '--json'],
  ['stats'],
  ['stats', '--json'],
  ['show', '1'],
  ['occurrences', '1', '--json'],
  ['solve', '1'],
  ['reopen', '1'],
  ['delete', '1'],
];
const READS = COMMANDS.filter(([command]) => !['solve', 'reopen', 'delete'].includes(command!));

interface Server {
  readonly name: string;
  /** A store that is not there: the CLI arguments naming it, its config block, and what exists of it. */
  absent(): Promise<{ args: string[]; store: object; missing: RegExp; leftovers(): Promise<string[]> }>;
  /** A store with one ticket, and what exists of it. */
  present(): Promise<{ args: string[]; leftovers(): Promise<string[]> }>;
}

async function withTicket(backend: TicketBackend): Promise<void> {
  const h = hash();
  await backend.recordBatch([occurrence({ hash: h }), occurrence({ hash: h })]);
  await backend.close();
}

const SERVERS: ReadonlyArray<readonly [string, string | null, Server]> = [
  [
    'PostgreSQL',
    postgresUnavailableReason(),
    {
      name: 'PostgreSQL',
      absent: async () => {
        const { url } = await (pgServer ??= startPostgres());
        const prefix = `a${randomBytes(5).toString('hex')}_`;
        return {
          args: ['--db', url, '--prefix', prefix],
          store: { uri: url, prefix },
          missing: new RegExp(
            `no table ${prefix}tickets in postgres://127\\.0\\.0\\.1:\\d+/postgres: not a logtickets store`,
          ),
          leftovers: () => relationsWithPrefix(url, prefix),
        };
      },
      present: async () => {
        const { url } = await (pgServer ??= startPostgres());
        const prefix = `p${randomBytes(5).toString('hex')}_`;
        await withTicket(new SqlBackend(url, { prefix }));
        return { args: ['--db', url, '--prefix', prefix], leftovers: () => relationsWithPrefix(url, prefix) };
      },
    },
  ],
  [
    'MongoDB',
    mongoUnavailableReason(),
    {
      name: 'MongoDB',
      absent: async () => {
        const { url } = await (mongoServer ??= startMongo());
        const database = `a${randomBytes(5).toString('hex')}`;
        const uri = `${url.replace(/\/?$/, '/')}${database}`;
        return {
          args: ['--db', uri],
          store: { uri },
          missing: new RegExp(`no collection logtickets_tickets in mongodb://.*/${database}: not a logtickets store`),
          leftovers: () => collectionsOf(url, database),
        };
      },
      present: async () => {
        const { url } = await (mongoServer ??= startMongo());
        const database = `p${randomBytes(5).toString('hex')}`;
        await withTicket(new MongoDBBackend(url, { database }));
        return {
          args: ['--db', `${url.replace(/\/?$/, '/')}${database}`],
          leftovers: () => collectionsOf(url, database),
        };
      },
    },
  ],
];

for (const [name, unavailable, server] of SERVERS) {
  if (!serverAvailable(test, name, unavailable)) continue;

  test(`${name}: no store there — every command says what is missing and creates nothing`, async (t) => {
    const absent = await server.absent();
    for (const args of COMMANDS) {
      const r = await cli([...args, ...absent.args], { built: true });
      t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      t.regex(r.stderr, absent.missing, args.join(' '));
      t.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      t.deepEqual(await absent.leftovers(), [], `${args.join(' ')} created nothing`);
    }
  });

  test(`${name}: check-config on a database without a store warns, exits 0, creates nothing`, async (t) => {
    const absent = await server.absent();
    const config = join(workdir(t), 'logtickets.json');
    writeFileSync(config, JSON.stringify({ store: absent.store }));
    const r = await cli(['check-config', '--config', config], { built: true });
    t.is(r.code, 0, r.stdout + r.stderr);
    const storeLine = r.stdout.split('\n')[1] ?? '';
    t.regex(storeLine, /^warn\s+\S+: store reachable — /);
    t.regex(storeLine, absent.missing);
    t.regex(storeLine, /the first process that logs creates it$/);
    t.deepEqual(await absent.leftovers(), []);
  });

  test(`${name}: reading a store leaves its tables and collections as they were`, async (t) => {
    const present = await server.present();
    const before = await present.leftovers();
    t.true(before.length > 0);
    for (const args of READS) {
      const r = await cli([...args, ...present.args], { built: true });
      t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    t.regex((await cli(['list', ...present.args], { built: true })).stdout, /^ {1}1\s+ERROR\s+2\s+open/m);
    t.deepEqual(await present.leftovers(), before);
  });
}
