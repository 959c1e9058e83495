/**
 * What importing logtickets loads: its own modules, and none of the drivers,
 * tracker clients, query builder or config schema, which load only when a
 * store or tracker is used (or a config read). Checked by the files a child
 * process loads (fixtures/module-recorder.mjs), never by timing.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const index = new URL('../dist/index.js', import.meta.url);
const recorder = new URL('fixtures/module-recorder.mjs', import.meta.url);
const notBuilt = 'dist/ is not built: run `npm run build` first (npm test does)';

/** The packages each of these costs, and nothing an application that only logs needs. */
const HEAVY = [
  'kysely',
  'better-sqlite3',
  'pg',
  'mongodb',
  'mongodb-connection-string-url',
  'axios',
  'xmlrpc',
  'octokit',
  '@octokit/core',
  '@octokit/auth-app',
  'bottleneck',
  'zod',
  'jsonc-parser',
  'uuid',
];

type Steps = Record<'imported' | 'constructed' | 'opened' | 'configured', string[]>;

/** The package a loaded file belongs to (the innermost node_modules), or undefined for the project's own files. */
function packageOf(file: string): string | undefined {
  const found = /.*[/\\]node_modules[/\\](@[^/\\]+[/\\][^/\\]+|[^/\\]+)/.exec(file);
  return found?.[1]?.replace(/\\/g, '/');
}

function packages(files: readonly string[]): string[] {
  return [...new Set(files.map(packageOf).filter((p): p is string => p !== undefined))].sort();
}

/**
 * In a child process: import dist/index.js, make a SQLite store and one
 * tracker of each kind, open the store, read a config; the files loaded
 * after each step.
 */
async function loadedAtEachStep(): Promise<Steps> {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-imports-'));
  try {
    const script = `
      import { loadedFiles } from ${JSON.stringify(recorder.href)};
      const logtickets = await import(${JSON.stringify(index.href)});
      const steps = { imported: loadedFiles() };
      const store = new logtickets.SqlBackend('sqlite::memory:');
      new logtickets.TracTracker({ url: 'http://127.0.0.1:1/login/rpc', username: 'u', password: 'p' });
      new logtickets.GitHubTracker({ owner: 'o', repo: 'r', auth: 'a-token' });
      steps.constructed = loadedFiles();
      await store.open();
      await store.close();
      steps.opened = loadedFiles();
      logtickets.loadConfig({ store: 'memory:' });
      steps.configured = loadedFiles();
      console.log(JSON.stringify(steps));
    `;
    const { stdout } = await exec(
      process.execPath,
      ['--import', recorder.href, '--input-type=module', '--eval', script],
      { env: { ...process.env, MODULE_RECORDER_LOG: join(dir, 'loaded.txt') }, timeout: 60_000 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Steps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('importing logtickets loads no driver, tracker client, query builder nor config schema', async (t) => {
  if (!existsSync(index)) return t.fail(notBuilt);
  const steps = await loadedAtEachStep();

  // The recording works: the package's own entry point and the one package logging needs are seen.
  t.true(
    steps.imported.some((file) => file.endsWith(join('dist', 'index.js'))),
    'dist/index.js is among the loaded files',
  );
  t.true(packages(steps.imported).includes('lru-cache'), packages(steps.imported).join(', '));

  const heavy = (files: readonly string[]) => packages(files).filter((p) => HEAVY.includes(p));
  t.deepEqual(heavy(steps.imported), [], 'loaded by the import');
  // Making a store and trackers reads their options and URLs, without loading what they run on.
  t.deepEqual(heavy(steps.constructed), [], 'loaded by making a store and trackers');
  // Used, each loads what it needs: the store its query builder, a config its schema.
  t.true(heavy(steps.opened).includes('kysely'), `after open: ${heavy(steps.opened).join(', ')}`);
  t.false(heavy(steps.opened).includes('zod'));
  t.true(heavy(steps.configured).includes('zod'), `after loadConfig: ${heavy(steps.configured).join(', ')}`);
  for (const unused of ['pg', 'mongodb', 'axios', 'octokit']) t.false(heavy(steps.configured).includes(unused), unused);
});
