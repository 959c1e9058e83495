import test from 'ava';
import { cli, workdir } from './run-cli.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlBackend } from '../../src/index.js';

function writeConfig(dir: string, config: unknown): string {
  const path = join(dir, 'logtickets.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** A store as a process that logs leaves it (the CLI creates none). */
async function createStore(path: string): Promise<void> {
  const writer = new SqlBackend(`sqlite:${path}`);
  await writer.open();
  await writer.close();
}

test('check-config on a valid file: one ok line per check, exit 0', async (t) => {
  const dir = workdir(t);
  await createStore(join(dir, 'tickets.db'));
  const config = writeConfig(dir, { store: 'sqlite:./tickets.db', handler: { appId: 'shop' } });
  const r = await cli(['check-config', '--config', config]);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.regex(lines[0]!, /^ok\s+config: valid — .*logtickets\.json \(0 trackers\)$/);
  t.regex(lines[1]!, /^ok\s+sqlite:.*tickets\.db: store reachable — 0 tickets, 0 deliveries waiting/);
  t.is(lines.length, 2);
});

test('check-config on a broken file: one FAIL line per problem, naming its path; exit 2', async (t) => {
  const dir = workdir(t);
  const config = writeConfig(dir, {
    handler: { levle: 'ERROR' },
    trackers: [{ type: 'github', owner: 'o', repo: 'r', token: '${CHECK_CONFIG_TEST_TOKEN}' }],
  });
  const r = await cli(['check-config', '--config', config]);
  t.is(r.code, 2);
  t.deepEqual(r.stdout.trim().split('\n'), [
    'FAIL  config: trackers[0].token: environment variable CHECK_CONFIG_TEST_TOKEN is not set',
    'FAIL  config: handler.levle: unknown key (did you mean "level"?)',
  ]);
});

test('an inline secret is a warning in check-config, and its value is never printed', async (t) => {
  const dir = workdir(t);
  const config = writeConfig(dir, {
    store: `sqlite:${join(dir, 's.db')}`,
    trackers: [{ type: 'trac', url: 'http://127.0.0.1:9/login/rpc', username: 'u', password: 'Inline-Secret-Pw' }],
  });
  const r = await cli(['check-config', '--config', config]);
  t.regex(
    r.stdout,
    /^warn\s+config: trackers\[0\]\.password is written in the file — prefer "\$\{ENV_VAR\}" or password_file/m,
  );
  t.false(r.stdout.includes('Inline-Secret-Pw'));
  t.false(r.stderr.includes('Inline-Secret-Pw'));
});

test('every command reads the store from --config or LOGTICKETS_CONFIG; --db wins over both', async (t) => {
  const dir = workdir(t);
  const config = writeConfig(dir, { store: 'sqlite:./from-config.db', handler: { appId: 'cfg' } });
  await createStore(join(dir, 'from-config.db'));
  const sent = await cli(['test-ticket', '--config', config]);
  t.is(sent.code, 0, sent.stderr);
  t.regex(sent.stdout, /^ok\s+sqlite:.*from-config\.db: stored — ticket #1 \(1 occurrence\)$/m);
  const again = await cli(['test-ticket'], { env: { LOGTICKETS_CONFIG: config } });
  t.regex(again.stdout, /ticket #1 \(2 occurrences\)/, 'the same synthetic problem is the same ticket');
  const list = await cli(['list', '--json', '--config', config]);
  t.is(list.code, 0, list.stderr);
  const tickets = JSON.parse(list.stdout) as Array<{ appId: string; channel: string; occurrenceCount: number }>;
  t.deepEqual(
    tickets.map((x) => [x.appId, x.channel, x.occurrenceCount]),
    [['cfg', 'logtickets.test-ticket', 2]],
  );
  const other = await cli(['list', '--config', config, '--db', `sqlite:${join(dir, 'nothing-here.db')}`]);
  t.is(other.code, 2);
  t.regex(other.stderr, /no store at .*nothing-here\.db/);
  const stats = await cli(['stats', '--json'], { env: { LOGTICKETS_CONFIG: config } });
  t.is(JSON.parse(stats.stdout).tickets, 1);
});

test('config commands without a config say how to give one; a bad config is exit 2 for other commands', async (t) => {
  const dir = workdir(t);
  const r = await cli(['sync'], { cwd: dir });
  t.is(r.code, 2);
  t.is(r.stderr.trim(), 'logtickets: sync needs a config file: --config PATH (or LOGTICKETS_CONFIG)');
  const bad = writeConfig(dir, { store: 42 });
  const list = await cli(['list', '--config', bad]);
  t.is(list.code, 2);
  t.regex(
    list.stderr,
    /^logtickets: invalid config .*logtickets\.json: 1 problem\n {2}- store: expected an object, got a whole number\n$/,
  );
});

test('sync with no trackers has nothing to do', async (t) => {
  const dir = workdir(t);
  await createStore(join(dir, 's.db'));
  const config = writeConfig(dir, { store: 'sqlite:./s.db' });
  const r = await cli(['sync', '--config', config]);
  t.is(r.code, 0);
  t.is(r.stdout.trim(), 'Nothing to sync: the config names no trackers.');
});
