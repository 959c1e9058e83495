/**
 * A test PostgreSQL server that checks passwords. The harness's server trusts
 * every local connection; its authentication file is rewritten (through SQL,
 * as its superuser) so that everybody but the superuser must give a password
 * over TCP, and a role is made whose password the tests never use: a
 * connection with a planted password is then refused as on a production
 * server. A server given by LOGTICKETS_TEST_POSTGRES_URL is left as it is.
 */

import { Client } from 'pg';
import { startPostgres, type PostgresServer } from '../services/postgres.js';

export const PLANTED_ROLE = 'planted_user';

export async function startPostgresWithPasswords(): Promise<PostgresServer> {
  const server = await startPostgres();
  if (process.env.LOGTICKETS_TEST_POSTGRES_URL) return server;
  const client = new Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ hba_file: string }>('show hba_file');
    const lines = ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 password'];
    const array = `{${lines.map((l) => `"${l}"`).join(',')}}`;
    await client.query(`copy (select unnest($$${array}$$::text[])) to '${rows[0]!.hba_file.replace(/'/g, "''")}'`);
    await client.query('select pg_reload_conf()');
    await client.query(`create role ${PLANTED_ROLE} login password $$not-the-planted-one$$`);
  } finally {
    await client.end();
  }
  return server;
}

/** `url` with `user:password` put in (URL-encoded), and another port if given. */
export function withCredentials(url: string, user: string, password: string, port?: number): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = encodeURIComponent(password);
  if (port !== undefined) parsed.port = String(port);
  return parsed.toString();
}
