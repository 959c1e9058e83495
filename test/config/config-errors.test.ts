/**
 * Config mistakes, many shapes each: JSON syntax errors name line and column
 * and never quote the file; bad redaction patterns are named, never echoed; a
 * wrong type says what was expected and what kind of value came; a tracker
 * listed twice names both entries; a store URI that cannot work is caught
 * when the file is read.
 */

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, LogticketsError } from '../../src/index.js';

const SECRET = 'S3cretHunter2Value';

function write(t: { teardown(fn: () => void): void }, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-config-errors-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'logtickets.json');
  writeFileSync(path, text);
  return path;
}

function problems(config: unknown): string[] {
  try {
    loadConfig(config as object, { env: {} });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

const syntax: Array<[string, string, RegExp]> = [
  ['an unquoted secret', `{\n  "trackers": [{ "type": "trac", "password": ${SECRET} }]\n}`, /:2:\d+ .*double quotes/],
  ['a trailing comma after a secret', `{ "token": "${SECRET}", }`, /:1:\d+ .*trailing commas/],
  ['a missing comma between secrets', `{ "a": "${SECRET}"\n  "b": "${SECRET}" }`, /:2:3 .*expected a comma/],
  ['an unterminated secret', `{ "token": "${SECRET}`, /:1:12 .*not closed/],
  ['a single-quoted secret', `{ "token": '${SECRET}' }`, /:1:12 .*double quotes/],
  ['a comment holding a secret', `// token ${SECRET}\n{}`, /:1:1 .*comments are not allowed/],
  ['a missing colon', `{\n\n  "token" "${SECRET}" }`, /:3:11 .*colon/],
  ['text after the object', `{ "a": 1 } ${SECRET}`, /:1:12 .*after the end/],
  ['a line break inside a secret', `{ "token": "${SECRET}\n${SECRET}" }`, /:1:\d+ .*(not closed|control character)/],
  ['a missing closing bracket', `{ "labels": ["${SECRET}" }`, /:1:\d+ .*expected a (comma|closing)/],
  ['an empty file', '', /is empty: expected a JSON object/],
  ['whitespace only', ' \n\t\n', /is empty: expected a JSON object/],
  ['a bad number', `{ "handler": { "maxQueue": 01${SECRET} } }`, /:1:\d+ .*not valid JSON/],
  ['CR-only line endings', `{\r  "a": 1,\r  "token": ${SECRET}\r}`, /:3:12 .*double quotes/],
  ['CRLF line endings', `{\r\n  "a": 1,\r\n  "token": ${SECRET}\r\n}`, /:3:12 .*double quotes/],
];

for (const [name, text, where] of syntax) {
  test(`a JSON syntax error names line and column and quotes nothing: ${name}`, (t) => {
    const path = write(t, text);
    const error = t.throws(() => loadConfig(path), { instanceOf: LogticketsError })!;
    t.is(error.code, 'INVALID_CONFIG');
    t.regex(error.message, where);
    t.true(error.message.startsWith(`config file ${path}`), error.message);
    t.false(error.message.includes(SECRET), error.message);
    t.false(JSON.stringify(error).includes(SECRET));
    t.is(error.cause, undefined, 'the parser error (which quotes the file) is not kept as cause');
  });
}

const patterns = [
  `(${SECRET}`,
  `${SECRET}[`,
  `${SECRET}{2,1}`,
  `(?<${SECRET}>a)(?<${SECRET}>b)`,
  `*${SECRET}`,
  `${SECRET})`,
  `(?i)(${SECRET}`,
  `x*`,
];
for (const pattern of patterns) {
  test(`a redaction pattern that cannot be used is named by path, never echoed: ${pattern.replace(SECRET, 'SECRET')}`, (t) => {
    const found = problems({ redaction: { values: ['ok', pattern] } });
    t.is(found.length, 1, found.join('\n'));
    t.regex(found[0]!, /^redaction\.values\[1\]: not a usable regular expression: [a-z]/);
    t.false(found[0]!.includes(SECRET), found[0]);
    t.false(found[0]!.includes(pattern), found[0]);
  });
}

const types: Array<[string, unknown, string]> = [
  ['level as a boolean', { handler: { level: true } }, 'handler.level: expected a level name or number, got a boolean'],
  ['level as an object', { handler: { level: {} } }, 'handler.level: expected a level name or number, got an object'],
  ['appId as a number', { handler: { appId: 5 } }, 'handler.appId: expected text, got a whole number'],
  [
    'maxQueue too large to be a number',
    { handler: { maxQueue: Number.POSITIVE_INFINITY } },
    'handler.maxQueue: expected a number, got a number too large to use',
  ],
  [
    'a level out of range',
    { handler: { level: 1001 } },
    'handler.level: expected a level: TRACE, DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL or a number',
  ],
  ['maxQueue as text', { handler: { maxQueue: '10' } }, 'handler.maxQueue: expected a number, got text'],
  [
    'batchSize as a fraction',
    { handler: { batchSize: 1.5 } },
    'handler.batchSize: expected a whole number, got a fraction',
  ],
  ['limits as a list', { handler: { limits: [] } }, 'handler.limits: expected an object, got a list'],
  ['trackers as an object', { trackers: {} }, 'trackers: expected a list, got an object'],
  ['a tracker as null', { trackers: [null] }, 'trackers[0]: expected an object, got null'],
  [
    'labels holding a number',
    { trackers: [{ type: 'github', owner: 'o', repo: 'r', token: 't', labels: [1] }] },
    'trackers[0].labels[0]: expected text, got a whole number',
  ],
  [
    'proxy as a number',
    { trackers: [{ type: 'trac', url: 'https://t', proxy: 3 }] },
    'trackers[0].proxy: expected an http(s) URL or false, got a whole number',
  ],
  [
    'an App id as a boolean',
    { trackers: [{ type: 'github', owner: 'o', repo: 'r', app: { appId: true, privateKey: 'k', installationId: 1 } }] },
    'trackers[0].app.appId: expected a whole number or text, got a boolean',
  ],
  [
    'redaction.defaults as text',
    { redaction: { defaults: 'yes' } },
    'redaction.defaults: expected true or false, got text',
  ],
  [
    'regressionGraceMs as text',
    { handler: { regressionGraceMs: '60s' } },
    'handler.regressionGraceMs: expected a number, got text',
  ],
  [
    'syncIntervalMs as a fraction',
    { trackers: [{ type: 'trac', url: 'https://t', syncIntervalMs: 0.5 }] },
    'trackers[0].syncIntervalMs: expected a whole number, got a fraction',
  ],
  [
    'a password as a number',
    { trackers: [{ type: 'trac', url: 'https://t', password: 1234 }] },
    'trackers[0].password: expected text, got a whole number',
  ],
];

for (const [name, config, expected] of types) {
  test(`a wrong type says what was expected and what came: ${name}`, (t) => {
    t.deepEqual(problems(config), [expected]);
  });
}

const duplicates: Array<[string, unknown[], string[]]> = [
  [
    'the same Trac twice (case and trailing slash aside)',
    [
      { type: 'trac', url: 'https://Trac.example.org/x/' },
      { type: 'trac', url: 'https://trac.example.org/x' },
    ],
    ['trackers[1]: the same tracker as trackers[0] (trac trac.example.org/x); list each tracker once'],
  ],
  [
    'the same Trac with other credentials',
    [
      { type: 'trac', url: `https://a:${SECRET}@t/` },
      { type: 'trac', url: 'https://b@t' },
    ],
    ['trackers[1]: the same tracker as trackers[0] (trac t); list each tracker once'],
  ],
  [
    'the same GitHub repository in other letter cases',
    [
      { type: 'github', owner: 'Acme', repo: 'Shop', token: 'a' },
      { type: 'github', owner: 'acme', repo: 'shop', token: 'b' },
    ],
    ['trackers[1]: the same tracker as trackers[0] (github api.github.com acme/shop); list each tracker once'],
  ],
  [
    'one Trac at /rpc and at /login/rpc, over http and https',
    [
      { type: 'trac', url: 'http://trac.example.org/p/rpc' },
      { type: 'trac', url: 'https://trac.example.org/p/login/rpc' },
    ],
    ['trackers[1]: the same tracker as trackers[0] (trac trac.example.org/p); list each tracker once'],
  ],
  [
    'two trackers with one name',
    [
      { type: 'trac', url: 'https://a', name: 'main' },
      { type: 'github', owner: 'o', repo: 'r', token: 't', name: 'main' },
    ],
    ['trackers[1].name: trackers[0] has the same name; give each tracker its own'],
  ],
  [
    'a third entry repeating the first',
    [
      { type: 'trac', url: 'https://a' },
      { type: 'trac', url: 'https://b' },
      { type: 'trac', url: 'https://a' },
    ],
    ['trackers[2]: the same tracker as trackers[0] (trac a); list each tracker once'],
  ],
  [
    'one repository on GitHub and on an Enterprise server is two trackers',
    [
      { type: 'github', owner: 'o', repo: 'r', token: 't' },
      { type: 'github', owner: 'o', repo: 'r', token: 't', baseUrl: 'https://ghe.example/api/v3' },
    ],
    [],
  ],
];

for (const [name, trackers, expected] of duplicates) {
  test(`a tracker listed twice names both entries: ${name}`, (t) => {
    const found = problems({ trackers });
    t.deepEqual(found, expected);
    for (const p of found) t.false(p.includes(SECRET), p);
  });
}

const uris: Array<[string, RegExp]> = [
  [`postgres://u:${SECRET}@db:99999/x`, /^store\.uri: store URI postgres:\/\/\*\*\*@db:99999\/x is not a valid/],
  [`mongodb://u:${SECRET}@db:70000/x`, /^store\.uri: .*port 70000 is out of range/],
  [`mongodb+srv://u:${SECRET}@db:27017/x`, /^store\.uri: .*cannot have port/],
  ['sqlite:', /^store\.uri: .*names no file/],
  [`postgres://us er:${SECRET} x@db:99999/x`, /^store\.uri: store URI postgres:\/\/\*\*\*@db:99999\/x is not a valid/],
  [`mongodb://u:${SECRET} x@db:99999/x`, /^store\.uri: store URI mongodb:\/\/\*\*\*@db:99999\/x .*out of range/],
  [`mysql://u:${SECRET}@db/x`, /^store\.uri: expected a store URI/],
];

for (const [uri, expected] of uris) {
  test(`a store URI that cannot work is a config problem: ${uri.replace(SECRET, 'SECRET')}`, (t) => {
    const found = problems({ store: { uri } });
    t.is(found.length, 1, found.join('\n'));
    t.regex(found[0]!, expected);
    t.false(found[0]!.includes(SECRET), found[0]);
  });
}
