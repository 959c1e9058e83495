/**
 * No store password in any error: each case makes the real PostgreSQL or
 * MongoDB-wire server (or a closed port) refuse a connection made with a
 * password planted in the store URI, then looks for the password, also
 * URL-encoded, in every view of the error (see leak-check.ts).
 */

import test from 'ava';
import { MongoDBBackend, SqlBackend } from '../../src/index.js';
import { serverAvailable } from '../services/availability.js';
import { mongoUnavailableReason, startMongo, type MongoServer } from '../services/mongodb/mongo-server.js';
import { freePort, postgresUnavailableReason, type PostgresServer } from '../services/postgres.js';
import { PLANTED_ROLE, startPostgresWithPasswords, withCredentials } from './postgres-passwords.js';
import { expectSafeFailure, forms, plant } from './leak-check.js';

let pg: Promise<PostgresServer> | undefined;
let mongo: Promise<MongoServer> | undefined;
test.after.always(async () => {
  if (pg !== undefined) await (await pg).stop();
  if (mongo !== undefined) await (await mongo).stop();
});

const postgres = () => (pg ??= startPostgresWithPasswords());

interface StoreCase {
  readonly name: string;
  readonly uri: (secret: string) => Promise<string>;
  readonly codes: readonly string[];
  /** What the message says: the failure is the one the case means. */
  readonly message: RegExp;
}

const PG_CASES: readonly StoreCase[] = [
  {
    name: 'a wrong password, refused by the real server',
    uri: async (secret) => withCredentials((await postgres()).url, PLANTED_ROLE, secret),
    codes: ['BACKEND_REJECTED', 'BACKEND_UNAVAILABLE', 'AUTH_FAILED'],
    message: /password authentication failed/,
  },
  {
    name: 'a wrong password with characters that need encoding (@ : / %)',
    uri: async (secret) => withCredentials((await postgres()).url, PLANTED_ROLE, `${secret}@:/%x`),
    codes: ['BACKEND_REJECTED', 'BACKEND_UNAVAILABLE', 'AUTH_FAILED'],
    message: /password authentication failed/,
  },
  {
    name: 'a user that does not exist',
    uri: async (secret) => withCredentials((await postgres()).url, 'nobody_here', secret),
    codes: ['BACKEND_REJECTED', 'BACKEND_UNAVAILABLE', 'AUTH_FAILED'],
    message: /password authentication failed/,
  },
  {
    name: 'connection refused: nothing listens on the port',
    uri: async (secret) => withCredentials((await postgres()).url, PLANTED_ROLE, secret, await freePort()),
    codes: ['BACKEND_UNAVAILABLE'],
    message: /ECONNREFUSED/,
  },
  {
    name: 'a CA file that does not exist (sslrootcert)',
    uri: async (secret) =>
      `${withCredentials((await postgres()).url, PLANTED_ROLE, secret)}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem`,
    codes: ['BACKEND_REJECTED', 'BACKEND_UNAVAILABLE'],
    message: /ENOENT|no such file/,
  },
];

if (serverAvailable(test, 'PostgreSQL', postgresUnavailableReason())) {
  for (const c of PG_CASES) {
    test.serial(`PostgreSQL: ${c.name}`, async (t) => {
      const secret = plant();
      const uri = await c.uri(secret);
      const password = decodeURIComponent(new URL(uri).password);
      let store: SqlBackend | undefined;
      t.teardown(() => store?.close());
      const open = async () => {
        store = new SqlBackend(uri, { connectTimeoutMs: 10_000 });
        await store.open();
      };
      const error = await expectSafeFailure(t, c.name, open, [...forms(secret), ...forms(password)], c.codes);
      t.regex(error?.message ?? '', c.message);
      t.false(store?.name.includes(secret), 'the store name carries no password');
    });
  }
}

const mongoUri = (url: string, user: string, secret: string, port?: number, query = '') =>
  `${withCredentials(url, user, secret, port).replace(/\/?$/, '/')}logtickets_security${query}`;

const MONGO_CASES: readonly StoreCase[] = [
  {
    name: 'unreachable: nothing listens on the port',
    uri: async (secret) => mongoUri('mongodb://127.0.0.1/', 'planted', secret, await freePort()),
    codes: ['BACKEND_UNAVAILABLE'],
    message: /ECONNREFUSED/,
  },
  {
    name: 'authentication refused by the server (SCRAM-SHA-256)',
    uri: async (secret) =>
      mongoUri((await (mongo ??= startMongo())).url, 'planted', secret, undefined, '?authMechanism=SCRAM-SHA-256'),
    codes: ['BACKEND_UNAVAILABLE', 'BACKEND_REJECTED', 'AUTH_FAILED'],
    message: /authentication/i,
  },
  {
    name: 'authentication refused by the server (default mechanism, authSource)',
    uri: async (secret) =>
      mongoUri((await (mongo ??= startMongo())).url, 'planted', `${secret}@:/`, undefined, '?authSource=admin'),
    codes: ['BACKEND_UNAVAILABLE', 'BACKEND_REJECTED', 'AUTH_FAILED'],
    message: /authentication/i,
  },
];

if (serverAvailable(test, 'MongoDB', mongoUnavailableReason())) {
  for (const c of MONGO_CASES) {
    test.serial(`MongoDB: ${c.name}`, async (t) => {
      const secret = plant();
      const uri = await c.uri(secret);
      const password = decodeURIComponent(new URL(uri).password);
      let store: MongoDBBackend | undefined;
      t.teardown(() => store?.close());
      const open = async () => {
        store = new MongoDBBackend(uri, { serverSelectionTimeoutMs: 1_000 });
        await store.open();
      };
      const error = await expectSafeFailure(t, c.name, open, [...forms(secret), ...forms(password)], c.codes);
      t.regex(error?.message ?? '', c.message);
      t.false(store?.name.includes(secret), 'the store name carries no password');
    });
  }
}
