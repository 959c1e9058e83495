/**
 * A real, throwaway PostgreSQL server for the tests.
 *
 * `startPostgres()` creates a fresh cluster in a temp directory with trust
 * authentication, starts it on a free port of 127.0.0.1, and returns its URL.
 * When LOGTICKETS_TEST_POSTGRES_URL is set, that server is used instead.
 * Running this file (`node --import tsx test/services/postgres.ts check`)
 * starts and stops one server: `.ci/run` uses it to prove the server works
 * before the suite runs.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PostgresServer {
  readonly url: string;
  readonly port: number;
  /** Stop the server (fast shutdown) and remove its files. */
  stop(): Promise<void>;
  /** Stop without removing files (the URL stops answering). */
  pause(): Promise<void>;
  /** Start again after pause, on the same port. */
  resume(): Promise<void>;
}

/** The directory of PostgreSQL's server programs, or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(root, versions[0], 'bin');
}

/** Why no server can be had here, or null when one can. */
export function postgresUnavailableReason(): string | null {
  if (process.env.LOGTICKETS_TEST_POSTGRES_URL) return null;
  if (postgresBinDir() === null) {
    return 'PostgreSQL server programs not found under /usr/lib/postgresql (apt-get install postgresql-15), and LOGTICKETS_TEST_POSTGRES_URL is not set';
  }
  return null;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.LOGTICKETS_TEST_POSTGRES_URL;
  if (external) {
    return {
      url: external,
      port: Number(new URL(external).port || 5432),
      stop: async () => {},
      pause: unsupported,
      resume: unsupported,
    };
  }
  const bin = postgresBinDir();
  if (bin === null) throw new Error(postgresUnavailableReason() ?? 'PostgreSQL is not available');
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-pg-'));
  const data = join(dir, 'data');
  // initdb refuses to run as root: run the server programs as the postgres user then.
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const as = (program: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, program), ...args]) : run(join(bin, program), args);

  await as('initdb', [
    '-D',
    data,
    '--auth=trust',
    '--username=postgres',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`;
  const start = async () => {
    try {
      await as('pg_ctl', ['-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', options, 'start']);
    } catch (error) {
      const log = await run('tail', ['-n', '20', join(dir, 'server.log')]).then(
        (r) => r.stdout,
        () => '',
      );
      throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`);
    }
  };
  const stopServer = () =>
    as('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop']).then(
      () => undefined,
      () => undefined,
    );
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      await stopServer();
      rmSync(dir, { recursive: true, force: true });
    },
    pause: stopServer,
    resume: start,
  };
}

async function unsupported(): Promise<void> {
  throw new Error('pausing an external PostgreSQL (LOGTICKETS_TEST_POSTGRES_URL) is not supported');
}

// `node --import tsx test/services/postgres.ts check`: start, query, stop.
if (process.argv[1]?.endsWith('postgres.ts') && process.argv[2] === 'check') {
  const server = await startPostgres();
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  const { rows } = await client.query<{ version: string }>('select version()');
  await client.end();
  await server.stop();
  console.log(`postgres ok: ${rows[0]?.version.split(',')[0]}`);
}
