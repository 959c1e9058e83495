import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, LogticketsError } from '../../src/index.js';

const example = fileURLToPath(new URL('../../config.example.json', import.meta.url));

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'logtickets-config-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function write(d: string, config: unknown, name = 'logtickets.json'): string {
  const path = join(d, name);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return path;
}

function problems(config: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadConfig(config as object, { env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

test('config.example.json is valid, with its secrets read from the environment and from files', (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'trac_password'), 'trac-pass\n');
  writeFileSync(join(d, 'app.pem'), '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n');
  const text = readFileSync(example, 'utf8')
    .replace('/run/secrets/trac_password', join(d, 'trac_password'))
    .replace('/run/secrets/github_app.pem', 'app.pem');
  const path = write(d, text);
  const { config, inlineSecrets } = loadConfig(path, { env: { GITHUB_TOKEN: 'gh-token' } });
  const [trac, github, enterprise] = config.trackers!;
  t.is(trac!.type === 'trac' && trac!.password, 'trac-pass', 'a trailing newline of a secret file is dropped');
  t.is(github!.type === 'github' && github!.token, 'gh-token');
  t.regex(String(enterprise!.type === 'github' && enterprise!.app?.privateKey), /^-----BEGIN PRIVATE KEY-----/);
  t.is(config.store!.uri, `sqlite:${join(d, 'logtickets.db')}`, 'relative SQLite paths are relative to the file');
  t.is(config.handler!.projectRoot, d);
  t.deepEqual(inlineSecrets, []);
});

test('every problem of a broken file is listed at once, each by its JSON path', (t) => {
  const found = problems({
    handler: { levle: 'WARNING', appId: '', maxQueue: 0, fingerprint: 'lines', level: 'LOUD' },
    store: { uri: 'redis://x', prefx: 'a' },
    comments: { intervalMs: -1 },
    trackers: [
      { type: 'trac', url: 'trac.example.org', hashfield: 'x' },
      { type: 'github', owner: 'o' },
      { type: 'gitlab' },
      { type: 'github', owner: 'o', repo: 'r', token: 't', app: { appId: 1, privateKey: 'k', installationId: 2 } },
      'trac',
    ],
    redaction: { values: ['('], keys: 'password' },
    extra: true,
  });
  const expect = [
    /^handler\.levle: unknown key \(did you mean "level"\?\)$/,
    /^handler\.appId: must not be empty$/,
    /^handler\.maxQueue: expected at least 1, got /,
    /^handler\.fingerprint: .*"line"\|"function"/,
    /^handler\.level: expected a level/,
    /^store\.uri: expected a store URI: sqlite:PATH/,
    /^store\.prefx: unknown key \(did you mean "prefix"\?\)$/,
    /^comments\.intervalMs: expected at least 0, got /,
    /^trackers\[0\]\.url: expected an http:\/\/ or https:\/\/ URL$/,
    /^trackers\[0\]\.hashfield: unknown key \(did you mean "hashField"\?\)$/,
    /^trackers\[1\]\.repo: required/,
    /^trackers\[1\]\.token: required: give token \(or token_file\), or app/,
    /^trackers\[2\]\.type: expected "trac" or "github"$/,
    /^trackers\[3\]\.token: give token or app, not both$/,
    /^trackers\[4\]: expected an object, got text$/,
    /^redaction\.values\[0\]: not a usable regular expression/,
    /^redaction\.keys: expected a list, got text$/,
    /^extra: unknown key$/,
  ];
  for (const pattern of expect)
    t.true(
      found.some((p) => pattern.test(p)),
      `${pattern} in:\n${found.join('\n')}`,
    );
  t.is(found.length, expect.length, found.join('\n'));
});

test('a missing environment variable is named with the key that uses it', (t) => {
  t.deepEqual(problems({ trackers: [{ type: 'github', owner: 'o', repo: 'r', token: '${GITHUB_TOKEN}' }] }), [
    'trackers[0].token: environment variable GITHUB_TOKEN is not set',
  ]);
  t.deepEqual(problems({ handler: { appId: 'svc-${REGION}-${STAGE}' } }, { REGION: 'eu' }), [
    'handler.appId: environment variable STAGE is not set',
  ]);
  const ok = loadConfig(
    { handler: { appId: 'svc-${REGION}', hashSalt: 'literal $${NOT_A_VAR}' } },
    { env: { REGION: 'eu' } },
  );
  t.is(ok.config.handler!.appId, 'svc-eu');
  t.is(ok.config.handler!.hashSalt, 'literal ${NOT_A_VAR}');
  t.deepEqual(problems({ handler: { appId: '${bad-name}' } }), [
    'handler.appId: ${bad-name} is not a variable reference (names are letters, digits and _)',
  ]);
});

test('KEY_file reads the value from a file; a missing file or both forms are errors naming the key', (t) => {
  const d = dir(t);
  writeFileSync(join(d, 'token'), 'file-token\r\n');
  const path = write(d, { trackers: [{ type: 'github', owner: 'o', repo: 'r', token_file: './token' }] });
  const { config } = loadConfig(path);
  t.is(config.trackers![0]!.type === 'github' && config.trackers![0]!.token, 'file-token');
  t.deepEqual(problems({ trackers: [{ type: 'trac', url: 'https://t', password_file: join(d, 'nope') }] }), [
    `trackers[0].password_file: cannot read ${join(d, 'nope')} (no such file)`,
  ]);
  t.deepEqual(problems({ trackers: [{ type: 'trac', url: 'https://t', password: 'a', password_file: 'b' }] }), [
    'trackers[0].password_file: give password or password_file, not both',
  ]);
});

test('no message ever shows a secret value', (t) => {
  const secret = 'ghp_TopSecretValue0123456789abcdefghijkl';
  const env = { GITHUB_TOKEN: secret, TRAC_PASSWORD: secret };
  const found = problems(
    {
      handler: { maxQueue: '${GITHUB_TOKEN}', appId: 5 },
      store: { uri: `postgres://${'${TRAC_PASSWORD}'}@` + 'db/x', prefix: '${TRAC_PASSWORD}' },
      trackers: [
        { type: 'trac', url: `https://u:${'${TRAC_PASSWORD}'}@trac`, password: 7, timeoutMs: '${GITHUB_TOKEN}' },
        { type: 'github', owner: 'o', repo: 'r', token: 12, baseUrl: '${GITHUB_TOKEN}' },
      ],
    },
    env,
  );
  t.true(found.length >= 6, found.join('\n'));
  for (const p of found) t.false(p.includes('TopSecret'), p);
  // A syntax error quotes none of the file either.
  const d = dir(t);
  const path = write(d, `{ "trackers": [{ "token": "${secret}" ,, }] }`);
  const error = t.throws(() => loadConfig(path), { instanceOf: LogticketsError });
  t.is(error.code, 'INVALID_CONFIG');
  t.regex(error.message, /logtickets\.json:1:\d+ is not valid JSON/);
  t.false(error.message.includes('TopSecret'), error.message);
});

test('secrets written inline are accepted but reported, so a review can move them out', (t) => {
  const loaded = loadConfig(
    {
      trackers: [
        { type: 'trac', url: 'https://t', password: 'inline' },
        { type: 'github', owner: 'o', repo: 'r', token: '${T}' },
      ],
    },
    { env: { T: 'x' } },
  );
  t.deepEqual(loaded.inlineSecrets, ['trackers[0].password']);
});

test('a file that is missing, not JSON or not an object says so', (t) => {
  const d = dir(t);
  t.throws(() => loadConfig(join(d, 'absent.json')), { message: /no config file at .*absent\.json/ });
  t.throws(() => loadConfig(write(d, '[1, 2]')), { message: /\(top level\): expected an object/ });
  t.throws(() => loadConfig(write(d, '{\n  "store": "sqlite:x.db",\n  "handler": {\n}')), {
    message: /logtickets\.json:4:\d+ is not valid JSON/,
  });
  t.throws(() => loadConfig(42 as never), { message: /expected a file path or a config object/ });
});

test('$comment is allowed in every block and never interpolated', (t) => {
  const { config } = loadConfig({
    $comment: 'uses ${NOTHING}',
    handler: { $comment: 'x', appId: 'a' },
    trackers: [{ $comment: 'y', type: 'trac', url: 'https://t', fields: { $comment: 'z' } }],
  });
  t.is(config.handler!.appId, 'a');
});
