/**
 * The package as people get it: `npm pack` of a clean checkout (its prepack
 * builds dist/), installed from the tarball into a new project that has
 * nothing else, its runtime dependencies fetched from the registry. There:
 * the README's Quick start, as TypeScript, type-checks (strict, nodenext,
 * library checks on) and makes a ticket; `require('logtickets')` works from
 * CommonJS; `npx logtickets --version` tells the version; and the install
 * says nothing about unsupported engines on this Node.
 *
 * The checkout is a copy of this work tree's files as git sees them (tracked
 * and new, less ignored ones: no dist/, no .cache/) with this repository's
 * node_modules linked in for the build, so packing never touches the dist/
 * other tests run. The install uses the user's npm cache, the one the
 * repository's own install filled. Slow (better-sqlite3 is compiled for the
 * new project): minutes, not seconds.
 */

import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const repoPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  readonly version: string;
  readonly exports: Record<string, unknown>;
  readonly bin: Record<string, string>;
  readonly main: string;
  readonly types: string;
  readonly devDependencies: Record<string, string>;
};

const MINUTE = 60_000;
/**
 * npx running the installed bin, never one fetched (a missing one is an
 * error, not a registry look-up). The `--` keeps npm from taking the
 * command's own flags: `npx logtickets --version` prints npm's version.
 */
const NPX = ['--offline', '--no', '--'];

interface Run {
  /** null: ended by `signal`. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment of every command here: this one's, less what would point
 * them elsewhere (an npm script's package and lifecycle variables, a
 * logtickets config or store of the caller's).
 */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_package_|npm_lifecycle_|LOGTICKETS_)/i.test(key)) continue;
    if (/^(npm_config_local_prefix|INIT_CWD)$/i.test(key)) continue;
    env[key] = value;
  }
  // better-sqlite3 is compiled when no prebuilt binary can be had: against the headers Debian's nodejs installs.
  if (env.npm_config_nodedir === undefined && existsSync('/usr/include/node/node.h')) env.npm_config_nodedir = '/usr';
  return env;
}

/** Run a command to its end; its exit code and output, whatever they are. */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: childEnv(), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) return resolve({ code: 0, signal: null, stdout, stderr });
      const signal = error.signal ?? null;
      // A string code: the command could not be started at all.
      if (typeof error.code !== 'number' && signal === null) return reject(error);
      resolve({ code: typeof error.code === 'number' ? error.code : null, signal, stdout, stderr });
    });
  });
}

function describe(what: string, result: Run): string {
  return `${what} exited with ${result.signal ?? String(result.code)}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

/** The files a clean checkout would have: git's tracked and new files that are still there, less ignored ones. */
async function copyCheckout(to: string): Promise<void> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root);
  if (listed.code !== 0) throw new Error(describe('git ls-files', listed));
  for (const file of listed.stdout.split('\0')) {
    if (file === '' || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
  symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'), 'dir');
}

/**
 * better-sqlite3's binary for this Node, which the repository's install built,
 * offered to the consumer's install the way its own install script takes a
 * prebuilt binary (a `NAME-vVERSION-node-vABI-PLATFORM-ARCH.tar.gz` in a local
 * folder), in place of the download it cannot make here. Users get a download;
 * compiling SQLite again would only add minutes (once per Node in CI).
 */
async function localPrebuild(into: string): Promise<string> {
  const addon = join(root, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(addon, 'package.json'), 'utf8')) as { version: string };
  const dir = join(into, 'prebuilds');
  mkdirSync(dir, { recursive: true });
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  const packed = await run('tar', ['-czf', join(dir, name), '-C', addon, 'build/Release/better_sqlite3.node'], root);
  if (packed.code !== 0) throw new Error(describe('tar of better-sqlite3', packed));
  return dir;
}

/** Every path a `package.json` field points at (exports' targets, bin, main, types), without its `./`. */
function pointedAt(pkg: typeof repoPackage): string[] {
  const targets: string[] = [pkg.main, pkg.types, ...Object.values(pkg.bin)];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(pkg.exports);
  return [...new Set(targets.map((target) => target.replace(/^\.\//, '')))];
}

/** The README's Quick start: the first ```ts block after its heading, as it is. */
function quickStart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const heading = readme.search(/^## Quick start$/m);
  if (heading < 0) throw new Error('README.md has no "## Quick start" section');
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(readme.slice(heading));
  if (block === null) throw new Error('README.md\'s "## Quick start" has no ```ts block');
  return block[1]!;
}

/** What the snippet takes as given (a cart, an order, a payment call that fails), defined so that it runs. */
const PLACEHOLDERS = `export const cart = { id: 'C-41' };
export const order = { id: 'A-1' };
export async function chargeCard(charged: { readonly id: string }): Promise<void> {
  throw new Error(\`card declined for order \${charged.id}\`);
}
`;

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    target: 'es2022',
    strict: true,
    // Checked as an application sees it: logtickets' .d.ts too, without the optional drivers' types.
    skipLibCheck: false,
    outDir: 'out',
  },
  files: ['quickstart.ts'],
};

/** Loads each entry point with require() and tells what came of it. */
const CJS_CHECK = `'use strict';
const pkg = require('logtickets/package.json');
const report = {};
for (const key of Object.keys(pkg.exports)) {
  const id = 'logtickets' + key.slice(1);
  try {
    const loaded = require(id);
    report[id] = { ok: true, exports: Object.keys(loaded) };
  } catch (error) {
    report[id] = { ok: false, error: String(error) };
  }
}
const { Logger } = require('logtickets');
report.logger = typeof Logger === 'function' ? new Logger('cjs.consumer').name : null;
process.stdout.write(JSON.stringify(report));
`;

let work: string | undefined;
let consumer = '';
let packed: { readonly filename: string; readonly files: readonly string[] } | undefined;
let install: Run | undefined;

test.before('npm pack of a clean checkout, installed into a new project', async (t) => {
  t.timeout(20 * MINUTE, 'packing and installing took more than 20 minutes');
  work = mkdtempSync(join(tmpdir(), 'logtickets-pack-'));
  const checkout = join(work, 'checkout');
  const tarballs = join(work, 'tarballs');
  consumer = join(work, 'consumer');
  mkdirSync(tarballs);
  mkdirSync(consumer);

  await copyCheckout(checkout);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', tarballs], checkout);
  if (pack.code !== 0) throw new Error(describe('npm pack', pack));
  const [info] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }];
  packed = { filename: join(tarballs, info.filename), files: info.files.map((file) => file.path) };

  writeFileSync(
    join(consumer, 'package.json'),
    // As the README's Install says: npm 11 asks a project to approve the install scripts it runs.
    JSON.stringify(
      { name: 'consumer', version: '1.0.0', private: true, type: 'module', allowScripts: { 'better-sqlite3': true } },
      null,
      2,
    ),
  );
  // A TypeScript application has Node's types; the version this repository builds against.
  const nodeTypes = `@types/node@${repoPackage.devDependencies['@types/node']}`;
  // Read by better-sqlite3's install script (prebuild-install), found from its folder upwards.
  writeFileSync(join(consumer, '.prebuild-installrc'), `local-prebuilds=${await localPrebuild(work)}\n`);
  install = await run('npm', ['install', '--no-audit', '--no-fund', packed.filename, nodeTypes], consumer);
  if (install.code !== 0) throw new Error(describe('npm install', install));
  t.log(`${packed.files.length} files packed; install said:\n${(install.stdout + install.stderr).trim()}`);
});

test.after.always('remove the temporary folders', () => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

test('the tarball has what users need and nothing else', (t) => {
  const files = new Set(packed!.files);
  for (const target of pointedAt(repoPackage)) t.true(files.has(target), `${target} (named in package.json) is packed`);
  for (const needed of [
    'LICENSE',
    'README.md',
    'config.example.json',
    'dist/web/assets/app.js',
    'dist/web/assets/app.css',
  ]) {
    t.true(files.has(needed), `${needed} is packed`);
  }
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  for (const [, image] of readme.matchAll(/!\[[^\]]*\]\((?![a-z]+:)([^)\s]+)\)/g)) {
    t.true(files.has(image!), `${image} (an image in README.md) is packed`);
  }
  // The README's links into docs/ work where the package is installed (npm's page and node_modules alike).
  for (const [, target] of readme.matchAll(/\]\((?![a-z]+:|#)([^)\s#]+)(?:#[^)\s]*)?\)/g)) {
    const packedHere = target!.endsWith('/') ? [...files].some((file) => file.startsWith(target!)) : files.has(target!);
    t.true(packedHere, `${target} (linked from README.md) is packed`);
  }
  const stray = [...files].filter(
    (file) => file.endsWith('.map') || file.endsWith('.tsbuildinfo') || /^(src|test|bench|scripts|\.ci)\//.test(file),
  );
  t.deepEqual(stray, [], 'no source maps, sources or tests');
});

test("the README's Quick start type-checks as strict TypeScript and makes a ticket", async (t) => {
  t.timeout(5 * MINUTE);
  writeFileSync(join(consumer, 'placeholders.ts'), PLACEHOLDERS);
  writeFileSync(
    join(consumer, 'quickstart.ts'),
    `import { cart, chargeCard, order } from './placeholders.js';\n${quickStart()}`,
  );
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG, null, 2));

  const compiled = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], consumer);
  t.is(compiled.code, 0, describe('tsc', compiled));
  if (compiled.code !== 0) return;

  const ran = await run(process.execPath, ['out/quickstart.js'], consumer);
  t.is(ran.code, 0, describe('node out/quickstart.js', ran));

  const listed = await run('npx', [...NPX, 'logtickets', 'list', '--json'], consumer);
  t.is(listed.code, 0, describe('npx logtickets list --json', listed));
  const tickets = JSON.parse(listed.stdout) as { level: string; location: string; appId: string; title: string }[];
  // The breadcrumb (INFO) is no ticket; the failed payment is one, placed at the application's line.
  t.is(tickets.length, 1, listed.stdout);
  t.like(tickets[0], { level: 'ERROR', appId: 'shop' });
  t.regex(tickets[0]!.location, /^out\/quickstart\.js:\d+$/);
});

test("require('logtickets') from CommonJS loads every entry point", async (t) => {
  writeFileSync(join(consumer, 'check.cjs'), CJS_CHECK);
  const ran = await run(process.execPath, ['check.cjs'], consumer);
  t.is(ran.code, 0, describe('node check.cjs', ran));
  t.is(ran.stderr, '', 'no warning');
  const report = JSON.parse(ran.stdout) as Record<string, { ok: boolean; error?: string }> & { logger: unknown };
  t.is(report.logger, 'cjs.consumer');
  for (const key of Object.keys(repoPackage.exports)) {
    const id = `logtickets${key.slice(1)}`;
    t.true(report[id]?.ok, `${id}: ${report[id]?.error ?? 'not reported'}`);
  }
});

test('npx logtickets --version prints the version', async (t) => {
  const ran = await run('npx', [...NPX, 'logtickets', '--version'], consumer);
  t.is(ran.code, 0, describe('npx logtickets --version', ran));
  t.regex(ran.stdout.trim(), new RegExp(`^(logtickets )?v?${repoPackage.version.replaceAll('.', '\\.')}$`));
});

/**
 * Packages whose `engines` leave this Node out by policy, not by need, that
 * the install may warn about, and why they are let be. Anything else named
 * in an EBADENGINE warning fails the test; each one here is loaded and used
 * below, on this Node, to show that it works.
 *
 * content-type@3 says node >=22 and came with @octokit/request 10.0.15 (a
 * release that only bumped its dependencies), which every octokit package
 * logtickets uses now asks for (`^10.0.16`): no range of ours can keep it
 * out of an application's install, and npm's `overrides` apply only to the
 * project that declares them, not to its dependents.
 */
const TOLERATED: Record<string, string> = {
  'content-type': `import('content-type').then((m) => {
    const { type, parameters } = m.parse('application/json; charset=utf-8');
    process.stdout.write(JSON.stringify({ type, charset: parameters.charset }));
  })`,
};
const TOLERATED_OUTPUT: Record<string, unknown> = {
  'content-type': { type: 'application/json', charset: 'utf-8' },
};

test('the install warns of nothing but engines', (t) => {
  const warnings = `${install!.stdout}\n${install!.stderr}`
    .split('\n')
    .filter((line) => /^npm warn/i.test(line) && !/EBADENGINE/.test(line));
  t.deepEqual(warnings, [], 'npm warned at install');
});

test('the install warns of no unsupported engine: none on Node 22+, on Node 20 only the tolerated ones, which work there', async (t) => {
  const output = `${install!.stdout}\n${install!.stderr}`;
  const warned = [...output.matchAll(/EBADENGINE\s+package: '((?:@[^/']+\/)?[^@']+)@([^']+)'/g)].map(
    ([, name, version]) => ({ name: name!, version: version! }),
  );
  t.is(
    warned.length,
    output.split('\n').filter((line) => /EBADENGINE Unsupported engine/.test(line)).length,
    `every EBADENGINE warning is read:\n${output}`,
  );
  // On Node 22 and later (the versions users run) nothing at all may warn.
  const tolerated = Number(process.versions.node.split('.')[0]) < 22 ? TOLERATED : {};
  t.deepEqual(
    warned.filter(({ name }) => !(name in tolerated)),
    [],
    `Node ${process.version}: no unsupported engine but ${Object.keys(tolerated).join(', ') || 'none'}`,
  );
  for (const name of new Set(warned.map((w) => w.name))) {
    const used = await run(process.execPath, ['--input-type=module', '--eval', TOLERATED[name]!], consumer);
    t.is(used.code, 0, describe(`using ${name}`, used));
    t.deepEqual(JSON.parse(used.stdout || 'null'), TOLERATED_OUTPUT[name], `${name} works on Node ${process.version}`);
  }
});
