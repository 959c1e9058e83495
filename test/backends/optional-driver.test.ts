/**
 * A store whose driver is not installed (`pg`, `mongodb` are optional peer
 * dependencies) fails with DRIVER_MISSING, saying what to install, and the
 * pipeline gives its batches up as it does any permanent error. The
 * application is a child process in an installation made here: the
 * project's node_modules linked package by package, less the drivers, and
 * logtickets itself as built (dist/).
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { LogticketsError } from '../../src/errors.js';
import { loadDriver } from '../../src/backends/optional-driver.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const notBuilt = 'dist/ is not built: run `npm run build` first (npm test does)';

/** A folder where `logtickets` is installed with all its dependencies but `missing`. */
function installationWithout(missing: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-no-driver-'));
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry.startsWith('.') || missing.includes(entry)) continue;
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
  }
  // Copied, not linked: a link would be followed back here, where the drivers are.
  const own = join(modules, 'logtickets');
  cpSync(join(root, 'dist'), join(own, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(own, 'package.json'));
  return dir;
}

interface Outcome {
  readonly code?: string;
  readonly message?: string;
  readonly retryable?: boolean;
  readonly isLogticketsError?: boolean;
}

interface Report {
  readonly postgres: Outcome;
  readonly mongodb: Outcome;
  readonly pipeline: { readonly rejected: number; readonly written: number; readonly errors: string[] };
}

/** Open one store of each kind, then log through a handler into the MongoDB one; what came of it. */
const APPLICATION = `
  import { Logger, LogticketsError, MongoDBBackend, SqlBackend, TicketingHandler } from 'logtickets';

  async function open(store) {
    try {
      await store.open();
      return {};
    } catch (error) {
      const { code, message, retryable } = error;
      return { code, message, retryable, isLogticketsError: error instanceof LogticketsError };
    } finally {
      await store.close();
    }
  }

  const postgres = await open(new SqlBackend('postgres://127.0.0.1:1/x', { connectTimeoutMs: 1000 }));
  const mongodb = await open(new MongoDBBackend('mongodb://127.0.0.1:1/x', { serverSelectionTimeoutMs: 1000 }));

  const errors = [];
  const handler = new TicketingHandler('mongodb://127.0.0.1:1/x', {
    maxRejectedAttempts: 2,
    retry: { initialMs: 1, maxMs: 5 },
    exitFlushMs: 0,
    onError: (error, info) => errors.push(error.code + (info.willRetry ? ' (will retry)' : '')),
  });
  handler.run(() => new Logger('svc').error('no driver'));
  await handler.flush({ timeoutMs: 10000 });
  const { dropped, written } = handler.stats();
  await handler.close({ timeoutMs: 1000 });
  console.log(JSON.stringify({ postgres, mongodb, pipeline: { rejected: dropped.rejected, written, errors } }));
`;

test('a store whose driver is not installed: DRIVER_MISSING, naming the package to install, never retried', async (t) => {
  if (!existsSync(join(root, 'dist', 'index.js'))) return t.fail(notBuilt);
  const dir = installationWithout(['pg', 'mongodb']);
  try {
    const { stdout } = await exec(process.execPath, ['--input-type=module', '--eval', APPLICATION], {
      cwd: dir,
      timeout: 60_000,
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;
    t.deepEqual(report.postgres, {
      code: 'DRIVER_MISSING',
      message: 'postgres:// stores need the "pg" package: npm install pg',
      retryable: false,
      isLogticketsError: true,
    });
    t.deepEqual(report.mongodb, {
      code: 'DRIVER_MISSING',
      message: 'mongodb:// stores need the "mongodb" package: npm install mongodb',
      retryable: false,
      isLogticketsError: true,
    });
    // A permanent error: the batch is tried maxRejectedAttempts times, then given up; no backing off for ever.
    t.deepEqual(report.pipeline, {
      rejected: 1,
      written: 0,
      errors: ['DRIVER_MISSING (will retry)', 'DRIVER_MISSING'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadDriver gives the module of an installed package', async (t) => {
  const path = await loadDriver<typeof import('node:path')>('node:path', 'tests');
  t.is(path.join('a', 'b'), join('a', 'b'));
});

test('loadDriver: a package that is not there is DRIVER_MISSING', async (t) => {
  const error = await t.throwsAsync(loadDriver('logtickets-no-such-driver', 'tests'), { instanceOf: LogticketsError });
  t.like(error, {
    code: 'DRIVER_MISSING',
    message: 'tests need the "logtickets-no-such-driver" package: npm install logtickets-no-such-driver',
    retryable: false,
  });
});

test('loadDriver: a driver that is there but lacks a dependency of its own fails with its own error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-broken-driver-'));
  try {
    const driver = join(dir, 'driver.mjs');
    writeFileSync(driver, "import 'logtickets-no-such-dependency';\n");
    // `any`: under the test's TypeScript loader, Node's loader errors come from its hooks thread, not of this realm's Error.
    const error = await t.throwsAsync(loadDriver(pathToFileURL(driver).href, 'tests'), { any: true });
    t.false(error instanceof LogticketsError);
    t.like(error, { code: 'ERR_MODULE_NOT_FOUND' });
    t.regex(String((error as { message?: unknown }).message), /logtickets-no-such-dependency/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
