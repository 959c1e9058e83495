import test from 'ava';
import { LogticketsError, Redactor, toJsonSafe, type JsonValue } from '../../src/index.js';

const r = new Redactor();
const R = '[REDACTED]';

test('values under secret keys are replaced whole, at any depth and whatever their kind', (t) => {
  const input = toJsonSafe({
    user: 'ann',
    password: 'hunter2',
    nested: { api_key: 'k-123', 'X-Auth-Token': ['a', 'b'], clientSecret: { v: 1 }, PRIVATE_KEY: 42 },
    headers: { Authorization: 'Bearer abc.def.ghi', cookie: 'sid=1', 'set-cookie': ['sid=2'] },
    list: [{ passwd: 'x' }, { sessionId: 's' }],
  });
  t.deepEqual(r.value(input), {
    user: 'ann',
    password: R,
    nested: { api_key: R, 'X-Auth-Token': R, clientSecret: R, PRIVATE_KEY: R },
    headers: { Authorization: R, cookie: R, 'set-cookie': R },
    list: [{ passwd: R }, { sessionId: R }],
  });
});

test('the input is not changed', (t) => {
  const input = toJsonSafe({ password: 'p', deep: { token: 't' } });
  const copy = structuredClone(input);
  r.value(input);
  t.deepEqual(input, copy);
});

test('Map snapshots have their keys checked too', (t) => {
  const input = toJsonSafe(
    new Map([
      ['token', 'abc'],
      ['plain', 'ok'],
    ]),
  );
  t.deepEqual(r.value(input), {
    type: 'Map',
    entries: [
      ['token', R],
      ['plain', 'ok'],
    ],
  } as unknown as JsonValue);
});

const texts: Array<[string, string, string]> = [
  [
    'key=value in a query string',
    'GET /login?user=ann&password=hunter2&x=1',
    'GET /login?user=ann&password=[REDACTED]&x=1',
  ],
  ['key: value in prose', 'retry failed, api_key: k-live-123 rejected', 'retry failed, api_key: [REDACTED] rejected'],
  [
    'JSON written into a message',
    'body {"user":"ann","password":"hunter2"}',
    'body {"user":"ann","password":"[REDACTED]"}',
  ],
  ['a bearer credential', 'sent Bearer eyJhbGciOi.something-long', 'sent Bearer [REDACTED]'],
  ['an Authorization header line', 'Authorization: Basic dXNlcjpwYXNz', 'Authorization: [REDACTED]'],
  ['a GitHub token', 'token ghp_0123456789abcdefghijABCDEFGHIJ012345 leaked', 'token [REDACTED] leaked'],
  ['a fine-grained GitHub token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz', '[REDACTED]'],
  [
    'credentials in a URL',
    'connect postgres://app:s3cret@db.internal:5432/shop failed',
    'connect postgres://[REDACTED]@db.internal:5432/shop failed',
  ],
  ['a token as URL user', 'clone https://x-access:abc@github.com/o/r', 'clone https://[REDACTED]@github.com/o/r'],
  ['an AWS access key id', 'key AKIAIOSFODNN7EXAMPLE used', 'key [REDACTED] used'],
  ['a Slack token', 'xoxb-123456789012-abcdefghij', '[REDACTED]'],
  [
    'a JSON Web Token',
    'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok',
    'jwt [REDACTED] ok',
  ],
  [
    'a PEM private key',
    'key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----\nend',
    'key:\n[REDACTED]\nend',
  ],
  [
    'a PEM private key cut by a size cap',
    'k -----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN…[truncated 900 chars]',
    'k [REDACTED]',
  ],
];
for (const [what, input, expected] of texts) {
  test(`text: ${what}`, (t) => {
    t.is(r.text(input), expected);
  });
}

test('ordinary text is left alone', (t) => {
  for (const text of [
    'payment for order 42 failed: card expired',
    'user ann@example.org signed in from https://shop.example.org/cart?id=7',
    'timeout after 3000 ms talking to http://inventory:8080/items',
    'Error: ENOENT: no such file or directory, open /srv/app/config.json',
  ]) {
    t.is(r.text(text), text);
  }
});

test('custom key and value patterns add to the defaults; (?i) makes a pattern case-insensitive', (t) => {
  const custom = new Redactor({ keys: ['ssn', 'card number'], values: ['(?i)acct-\\d+'], replacement: '***' });
  t.deepEqual(custom.value({ ssn: '078-05-1120', cardNumber: '4111', password: 'p', note: 'ACCT-991 and acct-7' }), {
    ssn: '***',
    cardNumber: '***',
    password: '***',
    note: '*** and ***',
  });
});

test('defaults can be turned off', (t) => {
  const bare = new Redactor({ defaults: false, keys: ['pin'] });
  t.deepEqual(bare.value({ password: 'p', pin: '1234' }), { password: 'p', pin: R });
  t.is(bare.text('Bearer abcdefghijkl'), 'Bearer abcdefghijkl');
});

test('bad rules are errors that name the rule', (t) => {
  const bad = t.throws(() => new Redactor({ values: ['ok', '('] }), { instanceOf: LogticketsError });
  t.regex(bad.message, /redaction\.values\[1\]/);
  const empty = t.throws(() => new Redactor({ values: ['a*'] }), { instanceOf: LogticketsError });
  t.regex(empty.message, /matches empty text/);
  t.throws(() => new Redactor({ keys: [' '] }), { message: /redaction\.keys\[0\]/ });
  t.throws(() => new Redactor({ kees: [] } as never), { message: /redaction\.kees is not an option/ });
});

test('a hostile string does not make redaction slow to a crawl', (t) => {
  const hostile = 'token'.repeat(1_600) + '='.repeat(100);
  const out = r.text(hostile);
  t.true(out.length > 0);
  const urlish = 'a://'.repeat(2_000);
  t.is(r.text(urlish), urlish);
});
