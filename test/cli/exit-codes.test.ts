/**
 * One convention for every command: a mistake in the config file or the
 * command line exits 2 (check-config included), a live check or operation
 * that fails exits 1. Run through the built command, as users run it.
 */

import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlBackend } from '../../src/index.js';
import { cli, workdir } from './run-cli.js';

/** A work folder holding an empty logtickets store `s.db`, and where its config file goes. */
async function storeAndConfigPath(t: Parameters<typeof workdir>[0]): Promise<{ dir: string; path: string }> {
  const dir = workdir(t);
  const writer = new SqlBackend(`sqlite:${join(dir, 's.db')}`);
  await writer.open();
  await writer.close();
  return { dir, path: join(dir, 'logtickets.json') };
}

const SECRET = 'Pl4nted-Secret-Value';

/** Each broken config, as file text, with what stderr or stdout must say about it. */
const mistakes: Array<[string, (dir: string) => string, RegExp]> = [
  [
    'JSON syntax',
    () => `{\n  "store": "sqlite:./s.db",\n  "trackers": [{ "password": ${SECRET} }]\n}`,
    /:3:\d+ is not valid JSON/,
  ],
  [
    'a wrong type',
    () => JSON.stringify({ handler: { level: true } }),
    /handler\.level: expected a level name or number, got a boolean/,
  ],
  ['an unknown key', () => JSON.stringify({ handler: { levle: 'ERROR' } }), /handler\.levle: unknown key/],
  [
    'a missing environment variable',
    () => JSON.stringify({ store: 'postgres://u:${EXIT_CODES_UNSET_VAR}@127.0.0.1:9/x' }),
    /store: environment variable EXIT_CODES_UNSET_VAR is not set/,
  ],
  [
    'a missing _file',
    () => JSON.stringify({ store: { uri_file: './absent-uri' } }),
    /store\.uri_file: cannot read .*absent-uri \(no such file\)/,
  ],
  [
    'a bad store URI',
    () => JSON.stringify({ store: `postgres://u:${SECRET}@db:99999/x` }),
    /store\.uri: .*not a valid postgres/,
  ],
  [
    'a tracker listed twice',
    () =>
      JSON.stringify({
        store: 'sqlite:./s.db',
        trackers: [
          { type: 'trac', url: 'http://127.0.0.1:9' },
          { type: 'trac', url: 'http://127.0.0.1:9/' },
        ],
      }),
    /trackers\[1\]: the same tracker as trackers\[0\]/,
  ],
];

const commands: string[][] = [
  ['list'],
  ['show', '1'],
  ['occurrences', '1'],
  ['stats'],
  ['solve', '1'],
  ['check-config'],
  ['sync'],
  ['test-ticket'],
];

for (const [name, text, says] of mistakes) {
  test(`a config with ${name} exits 2 from every command, and names the problem`, async (t) => {
    const { dir, path } = await storeAndConfigPath(t);
    writeFileSync(path, text(dir));
    for (const command of commands) {
      const r = await cli([...command, '--config', path], { built: true, cwd: dir });
      t.is(r.code, 2, `${command.join(' ')}: ${r.stdout}${r.stderr}`);
      t.regex(`${r.stdout}${r.stderr}`, says, command.join(' '));
      t.false(`${r.stdout}${r.stderr}`.includes(SECRET), command.join(' '));
    }
  });
}

test('a live check that fails exits 1: check-config with a tracker nobody answers for', async (t) => {
  const { dir, path } = await storeAndConfigPath(t);
  writeFileSync(
    path,
    JSON.stringify({
      store: 'sqlite:./s.db',
      trackers: [{ type: 'trac', url: 'http://127.0.0.1:9/login/rpc', timeoutMs: 2000 }],
    }),
  );
  const r = await cli(['check-config', '--config', path], { built: true, cwd: dir });
  t.is(r.code, 1, r.stdout + r.stderr);
  t.regex(r.stdout, /^ok\s+config: valid/m);
  t.regex(r.stdout, /^FAIL\s+trac/m);
});

test('a missing SQLite store exits 2 from every command, and no file is created', async (t) => {
  const dir = workdir(t);
  const path = join(dir, 'logtickets.json');
  writeFileSync(path, JSON.stringify({ store: 'sqlite:./absent.db' }));
  for (const command of commands) {
    const r = await cli([...command, '--config', path], { built: true, cwd: dir });
    t.not(r.code, 0, command.join(' '));
    t.regex(`${r.stdout}${r.stderr}`, /absent\.db/, command.join(' '));
  }
  t.false(existsSync(join(dir, 'absent.db')));
});

test('tracker secrets are read only by the commands that use trackers; their mistakes still exit 2 there', async (t) => {
  const { dir, path } = await storeAndConfigPath(t);
  writeFileSync(
    path,
    JSON.stringify({
      store: 'sqlite:./s.db',
      trackers: [
        { type: 'trac', url: 'http://127.0.0.1:9', password_file: './absent' },
        { type: 'trac', url: 'https://${EXIT_CODES_UNSET_HOST}/login/rpc', name: 'second' },
        { type: 'github', owner: 'o', repo: 'r', token: '${EXIT_CODES_UNSET_TOKEN}' },
      ],
    }),
  );
  for (const command of [['list'], ['stats']]) {
    const r = await cli([...command, '--config', path], { built: true, cwd: dir });
    t.is(r.code, 0, `${command.join(' ')}: ${r.stderr}`);
  }
  for (const command of [['check-config'], ['sync'], ['test-ticket']]) {
    const r = await cli([...command, '--config', path], { built: true, cwd: dir });
    t.is(r.code, 2, command.join(' '));
    t.regex(`${r.stdout}${r.stderr}`, /trackers\[0\]\.password_file: cannot read .*absent \(no such file\)/);
    t.regex(`${r.stdout}${r.stderr}`, /trackers\[2\]\.token: environment variable EXIT_CODES_UNSET_TOKEN is not set/);
  }
});
