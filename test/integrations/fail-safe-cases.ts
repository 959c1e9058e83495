/**
 * Shared by the fail-safe tests of the pino and winston transports: configs
 * with planted secrets, the config problems both transports must survive,
 * running one service per case, and the checks every case makes: the
 * service exits 0, stderr has exactly one `logtickets:` line naming the
 * problem, and no secret reaches stderr or stdout.
 */

import type { ExecutionContext } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFixture, workdir, type RunResult } from './helpers.js';

// Planted in the configs; none has the shape of a known token, so only keeping them out works.
const TRAC_PASSWORD = 'Tr4cPw-planted-71c3e0';
const GITHUB_TOKEN = 'GhTok-planted-4e9a55';
const PG_PASSWORD = 'PgPw-planted-0b7d21';
const SECRETS = [TRAC_PASSWORD, GITHUB_TOKEN, PG_PASSWORD];

const trac = { type: 'trac', url: 'https://trac.example.org/login/rpc', username: 'bot', password: TRAC_PASSWORD };
const github = { type: 'github', owner: 'example', repo: 'shop', token: GITHUB_TOKEN };
const json = (value: unknown) => JSON.stringify(value, null, 2);

export interface Shape {
  readonly title: string;
  /** The transport's options, given the service's folder and a valid config file (holding secrets) in it. */
  readonly options: (dir: string, config: string) => unknown;
  /** Files written in the folder first (name → content). */
  readonly files?: Readonly<Record<string, string>>;
  /** The one stderr line, after `logtickets: <transport> is off, its records are dropped: `. */
  readonly line: RegExp;
  /** The transport started: the problem is its store, reported by the handler as it retries. */
  readonly started?: boolean;
  /** How many of the 8 records the winston transport is given and drops, if not all. */
  readonly winstonDrops?: number;
  /** Run with pino in the same thread too (the same code as in the worker, but for where lines go). */
  readonly sameThread?: boolean;
}

/** Problems with the config, the same for both transports. */
export const configShapes: readonly Shape[] = [
  {
    title: 'a config file that does not exist',
    sameThread: true,
    options: (dir) => ({ config: join(dir, 'missing.json') }),
    line: /^no config file at \/.*\/missing\.json$/,
  },
  {
    title: 'a config file that is not JSON: a comma missing after the Trac password',
    files: {
      'comma.json': [
        '{',
        '  "trackers": [',
        '    {',
        '      "type": "trac",',
        '      "url": "https://trac.example.org/login/rpc",',
        `      "password": "${TRAC_PASSWORD}"`,
        '      "username": "bot"',
        '    }',
        '  ]',
        '}',
      ].join('\n'),
    },
    options: (dir) => ({ config: join(dir, 'comma.json') }),
    line: /^config file \/.*\/comma\.json:7:7 is not valid JSON: /,
  },
  {
    title: 'a config file that is not JSON: the Trac password without quotes',
    sameThread: true,
    files: { 'unquoted.json': `{ "trackers": [{ "type": "trac", "password": ${TRAC_PASSWORD} }] }` },
    options: (dir) => ({ config: join(dir, 'unquoted.json') }),
    line: /^config file \/.*\/unquoted\.json(:1:\d+)? is not valid JSON: /,
  },
  {
    title: 'a misspelt key holding the Trac password',
    sameThread: true,
    files: {
      'typo.json': json({
        store: 'sqlite:tickets.db',
        trackers: [{ ...trac, password: undefined, pasword: TRAC_PASSWORD }],
      }),
    },
    options: (dir) => ({ config: join(dir, 'typo.json') }),
    line: /^invalid config \/.*\/typo\.json: 1 problem; trackers\[0\]\.pasword: unknown key/,
  },
  {
    title: 'a GitHub token of the wrong kind',
    files: { 'token.json': json({ trackers: [trac, { ...github, token: { value: GITHUB_TOKEN } }] }) },
    options: (dir) => ({ config: join(dir, 'token.json') }),
    line: /^invalid config \/.*\/token\.json: 1 problem; trackers\[1\]\.token: /,
  },
  {
    title: 'two problems at once, each with its JSON path',
    files: {
      'two.json': json({
        store: { uri: 'sqlite:t.db', prefix: 'no-dashes' },
        handler: { level: 'LOUD' },
        trackers: [github],
      }),
    },
    options: (dir) => ({ config: join(dir, 'two.json') }),
    line: /^invalid config \/.*\/two\.json: 2 problems; (?=.*handler\.level: )(?=.*store\.prefix: )/,
  },
  {
    title: 'a store URI of no supported kind, with a password in it',
    files: { 'redis.json': json({ store: `redis://admin:${PG_PASSWORD}@cache:6379/0`, trackers: [trac] }) },
    options: (dir) => ({ config: join(dir, 'redis.json') }),
    line: /^invalid config \/.*\/redis\.json: 1 problem; store\.uri: /,
  },
  {
    title: 'a password from an environment variable that is not set',
    files: { 'env.json': json({ trackers: [{ ...trac, password: '${LOGTICKETS_TEST_UNSET_PASSWORD}' }, github] }) },
    options: (dir) => ({ config: join(dir, 'env.json') }),
    line: /^invalid config .*; trackers\[0\]\.password: environment variable LOGTICKETS_TEST_UNSET_PASSWORD\b/,
  },
  {
    title: 'a password file that cannot be read',
    files: {
      'file.json': json({ trackers: [{ ...trac, password: undefined, password_file: 'no-secret.txt' }, github] }),
    },
    options: (dir) => ({ config: join(dir, 'file.json') }),
    line: /^invalid config .*; trackers\[0\]\.password_file: .*\/no-secret\.txt\b/,
  },
  {
    title: 'a config file holding a list',
    files: { 'list.json': json([{ store: 'sqlite:tickets.db' }]) },
    options: (dir) => ({ config: join(dir, 'list.json') }),
    line: /^invalid config \/.*\/list\.json: 1 problem; \(top level\): /,
  },
  {
    title: 'a config object (not a file) with a misspelt key',
    options: () => ({ config: { handler: { appId: 'shop', levle: 'ERROR' }, trackers: [trac, github] } }),
    line: /^invalid config \(object\): 1 problem; handler\.levle: unknown key/,
  },
  {
    title: 'a SQLite store in a folder that does not exist',
    sameThread: true,
    // The service ends at once: its close waits for the first write attempt to fail and say why. The store's
    // code loads, and SQLite's worker thread starts, on that attempt: a loaded machine takes more than 1 s.
    options: (dir) => ({ config: { store: `sqlite:${dir}/no-such-folder/tickets.db` }, closeTimeoutMs: 5000 }),
    line: /^sqlite:\/.*\/no-such-folder\/tickets\.db: BACKEND_UNAVAILABLE: .*directory does not exist \(will retry\)$/,
    started: true,
  },
  {
    title: 'a PostgreSQL store nobody listens on, its password in the URI',
    options: () => ({ config: { store: `postgres://app:${PG_PASSWORD}@127.0.0.1:1/tickets` }, closeTimeoutMs: 5000 }),
    line: /^postgres:\/\/127\.0\.0\.1:1\/tickets: BACKEND_UNAVAILABLE: .*ECONNREFUSED.* \(will retry\)$/,
    started: true,
  },
];

/** A valid config next to a bad option: the option is named, the config never read. */
export const withConfig = (extra: Record<string, unknown>) => (_dir: string, config: string) => ({ config, ...extra });

// One service at a time per test file (AVA runs the pino and winston files side by side).
const slot = limiter(1);

function limiter(size: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (fn) => {
    if (active < size) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next in line, or is given back.
      const next = waiting.shift();
      if (next === undefined) active--;
      else next();
    }
  };
}

/** Write the shape's files and a valid config with secrets; run the fixture with the shape's options. */
export async function serve(
  t: ExecutionContext,
  shape: Shape,
  fixture: string,
  args: (options: string, dir: string) => string[],
) {
  const work = workdir(t, 'logtickets-fail-safe-');
  for (const [name, content] of Object.entries(shape.files ?? {})) writeFileSync(join(work.dir, name), content);
  const config = join(work.dir, 'logtickets.json');
  writeFileSync(config, json({ store: work.store, handler: { appId: 'shop' }, trackers: [trac, github] }));
  const options = JSON.stringify(shape.options(work.dir, config));
  const result = await slot(() => runFixture(fixture, args(options, work.dir), { timeoutMs: 120_000 }));
  return { dir: work.dir, result };
}

/** Exit 0, one stderr line naming the problem, no secret anywhere in the output. */
export function checkOutput(t: ExecutionContext, result: RunResult, shape: Shape, transport: string): void {
  t.is(result.code, 0, result.stderr);
  t.is(result.signal, null);
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  t.is(lines.length, 1, result.stderr);
  const prefix = shape.started === true ? 'logtickets: ' : `logtickets: ${transport} is off, its records are dropped: `;
  t.true(lines[0]!.startsWith(prefix), lines[0]);
  t.regex(lines[0]!.slice(prefix.length), shape.line);
  t.false(/\n\s+at /.test(result.stderr), 'no stack trace');
  for (const secret of SECRETS) {
    // The start of each is enough: a parser's quote of the file may cut a secret short.
    t.false(result.stderr.includes(secret.slice(0, 6)), `stderr has ${secret}`);
    t.false(result.stdout.includes(secret.slice(0, 6)), `stdout has ${secret}`);
  }
}

export function fileLines(path: string): unknown[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** The fixture's last line: what the transport says about itself. */
export const summary = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

/** The code of the transport's `failure`: a config problem, or an option problem; none when only the store fails. */
export function failureCode(shape: Shape): string | null {
  if (shape.started === true) return null;
  return configShapes.includes(shape) ? 'INVALID_CONFIG' : 'INVALID_ARGUMENT';
}
