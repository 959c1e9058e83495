/**
 * The same rule through real OS processes: a service (fixtures/failing-service.ts)
 * reports to a Trac tracker and/or a PostgreSQL store with planted wrong
 * passwords, prints the errors it gets the ways applications do, and dies of
 * the last one uncaught. Nothing it writes on stdout or stderr may carry a
 * password, while what it writes must show the failure.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverAvailable } from '../services/availability.js';
import { freePort, postgresUnavailableReason, type PostgresServer } from '../services/postgres.js';
import { startTrac, tracUnavailableReason, type TracServer } from '../services/trac/trac-server.js';
import { assertNoSecrets, forms, plant } from './leak-check.js';
import { PLANTED_ROLE, startPostgresWithPasswords, withCredentials } from './postgres-passwords.js';

const service = fileURLToPath(new URL('./fixtures/failing-service.ts', import.meta.url));

let trac: Promise<TracServer> | undefined;
let pg: Promise<PostgresServer> | undefined;
test.after.always(async () => {
  if (trac !== undefined) await (await trac).stop();
  if (pg !== undefined) await (await pg).stop();
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runService(args: object): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', service, JSON.stringify(args)],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number | null), stdout, stderr }),
    );
  });
}

interface Case {
  readonly mode: 'trac' | 'postgres' | 'trac+postgres';
  /** The Trac it reports to: the real one (which refuses the password), or a closed port. */
  readonly trac: 'server' | 'closed';
  /** What the output must say: the failure really happened and was reported. */
  readonly says: readonly RegExp[];
}

const CASES: readonly Case[] = [
  { mode: 'trac', trac: 'server', says: [/AUTH_FAILED/, /LogticketsError/, /Trac refused the credentials/] },
  { mode: 'trac', trac: 'closed', says: [/BACKEND_UNAVAILABLE/, /ECONNREFUSED/, /SanitizedError/] },
  { mode: 'postgres', trac: 'server', says: [/LogticketsError/, /password authentication failed/] },
  { mode: 'trac+postgres', trac: 'server', says: [/LogticketsError/, /password authentication failed/] },
];

const available =
  serverAvailable(test, 'Trac', tracUnavailableReason()) &&
  serverAvailable(test, 'PostgreSQL', postgresUnavailableReason());

if (available) {
  for (const c of CASES) {
    test(`a service process (${c.mode}, Trac: ${c.trac}) never prints a password`, async (t) => {
      const [server, postgres] = await Promise.all([(trac ??= startTrac()), (pg ??= startPostgresWithPasswords())]);
      const dir = mkdtempSync(join(tmpdir(), 'logtickets-security-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const tracPassword = plant('TracPw');
      const pgPassword = plant('PgPw');
      const run = await runService({
        mode: c.mode,
        tracUrl: c.trac === 'server' ? server.url : `http://127.0.0.1:${await freePort()}/x/login/rpc`,
        tracUser: server.username,
        tracPassword,
        postgresUri: withCredentials(postgres.url, PLANTED_ROLE, pgPassword),
        dir,
      });
      t.is(run.code, 1, 'the service died of the error it threw');
      const secrets = [...forms(tracPassword, server.username), ...forms(pgPassword, PLANTED_ROLE)];
      assertNoSecrets(t, { stdout: run.stdout, stderr: run.stderr }, secrets, `${c.mode} output`);
      const output = `${run.stdout}\n${run.stderr}`;
      for (const says of c.says) t.regex(output, says);
      t.regex(run.stderr, /^logtickets: /m, "logtickets' own report is on stderr");
      // Nor in the files it stored (the SQLite store of the Trac tracker).
      const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));
      assertNoSecrets(t, files, secrets, `${c.mode} store files`);
    });
  }
}
