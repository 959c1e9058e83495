/**
 * The error sanitizer on its own, over many shapes of foreign errors: real
 * AxiosErrors, Octokit RequestErrors and Node errors built by those libraries'
 * own constructors, AggregateErrors, cycles, throwing getters and proxies,
 * things thrown that are not errors. And maskSecrets over the credential
 * shapes it must recognise.
 */

import test from 'ava';
import { AxiosError, AxiosHeaders } from 'axios';
import { RequestError } from 'octokit';
import { inspect } from 'node:util';
import { LogticketsError, maskSecrets } from '../../src/index.js';
import { asLogticketsError, redactSecrets, SanitizedError, secretMatchers } from '../../src/errors.js';
import { classifyMongoError } from '../../src/backends/mongodb/mongodb-errors.js';
import { classifySqlError } from '../../src/backends/sql/sql-errors.js';
import { toJsonSafe } from '../../src/logging/json-safe.js';
import { assertNoSecrets, assertNoTransportObjects, chainOf, forms, plant } from './leak-check.js';

interface Shape {
  readonly name: string;
  /** The foreign thing thrown, made with `secret` somewhere inside it. */
  readonly make: (secret: string) => unknown;
  /** Whether the wrapper is told the secret by value (as backends do), or must find it by its shape. */
  readonly byValue: boolean;
}

function axiosError(secret: string): AxiosError {
  const config = {
    url: '',
    baseURL: `http://127.0.0.1:9/login/rpc`,
    method: 'post',
    auth: { username: 'bot', password: secret },
    headers: new AxiosHeaders({ Authorization: `Basic ${Buffer.from(`bot:${secret}`).toString('base64')}` }),
  };
  const request = { _header: `POST /login/rpc HTTP/1.1\r\nAuthorization: Basic ${btoa(`bot:${secret}`)}\r\n` };
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', port: 9 });
  return AxiosError.from(cause, 'ECONNREFUSED', config as never, request);
}

const SHAPES: readonly Shape[] = [
  { name: 'an AxiosError with config.auth, headers and the request', make: axiosError, byValue: true },
  {
    name: 'an Octokit RequestError with the request, a token in the response body, a secret in the URL',
    make: (secret) =>
      new RequestError('Bad credentials', 401, {
        request: {
          method: 'POST',
          url: `https://api.github.com/app/installations/1/access_tokens?client_secret=${secret}`,
          headers: { authorization: `bearer ${secret}` },
          body: JSON.stringify({ token: secret }),
        },
        response: {
          status: 401,
          url: 'https://api.github.com/x',
          headers: { 'x-echo': secret },
          data: { token: secret, message: 'Bad credentials' },
        },
      }),
    byValue: true,
  },
  {
    name: 'a URL TypeError whose input is a connection string',
    make: (secret) => {
      try {
        new URL(`postgres://u:${secret}@db host:99999999/db`);
      } catch (error) {
        return error;
      }
      throw new Error('URL accepted it');
    },
    byValue: false,
  },
  {
    name: 'an AggregateError of connection attempts, passwords in URIs and fields',
    make: (secret) =>
      new AggregateError(
        [
          Object.assign(new Error(`connect to mongodb://u:${secret}@a:27017 failed`), { code: 'ECONNREFUSED' }),
          Object.assign(new Error('second'), { password: secret, connectionString: `x ${secret}` }),
        ],
        'all attempts failed',
      ),
    byValue: false,
  },
  {
    name: 'a cycle: two errors each the cause of the other',
    make: (secret) => {
      const a = new Error(`a: postgres://u:${secret}@h/db`);
      const b = new Error('b', { cause: a });
      (a as { cause?: unknown }).cause = b;
      return b;
    },
    byValue: false,
  },
  {
    name: 'throwing getters for message, cause and a field',
    make: (secret) => {
      const e = new Error(`token ${secret}`);
      Object.defineProperty(e, 'cause', {
        get: () => {
          throw new Error(`cause unreadable ${secret}`);
        },
      });
      Object.defineProperty(e, 'code', { get: () => ({ password: secret }), enumerable: true });
      Object.defineProperty(e, 'detail', {
        get: () => {
          throw new Error(secret);
        },
        enumerable: true,
      });
      return e;
    },
    byValue: true,
  },
  {
    name: 'a proxy that throws on every trap',
    make: () =>
      new Proxy(new Error('x'), {
        get: () => {
          throw new Error('trap');
        },
        ownKeys: () => {
          throw new Error('trap');
        },
        has: () => {
          throw new Error('trap');
        },
      }),
    byValue: true,
  },
  { name: 'a string thrown', make: (secret) => `failed: Authorization: Bearer ${secret}`, byValue: false },
  {
    name: 'a plain object thrown, with a config',
    make: (secret) => ({ message: 'nope', config: { auth: { password: secret } }, password: secret }),
    byValue: false,
  },
  {
    name: 'a cause chain deeper than anyone would follow',
    make: (secret) => {
      let e: unknown = new Error(`root ${secret}`);
      for (let i = 0; i < 200; i++) e = Object.assign(new Error(`level ${i}`, { cause: e }), { config: { secret } });
      return e;
    },
    byValue: true,
  },
  {
    name: 'a PEM private key and a JWT in a message, a bigint field',
    make: (secret) =>
      Object.assign(
        new Error(
          `bad key -----BEGIN PRIVATE KEY-----\nMIIE${secret}\n-----END PRIVATE KEY----- jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.${secret}`,
        ),
        { big: 10n },
      ),
    byValue: false,
  },
];

for (const shape of SHAPES) {
  for (const wrap of ['new LogticketsError', 'asLogticketsError', 'classifySqlError', 'classifyMongoError']) {
    test(`${shape.name}: safe through ${wrap}`, (t) => {
      const secret = plant();
      const thrown = shape.make(secret);
      const secrets = shape.byValue ? [secret] : undefined;
      const error =
        wrap === 'new LogticketsError'
          ? new LogticketsError('BACKEND_UNAVAILABLE', `call: ${String(describe(thrown))}`, { cause: thrown, secrets })
          : wrap === 'asLogticketsError'
            ? asLogticketsError(thrown, { code: 'TRACKER_FAULT', secrets })
            : wrap === 'classifySqlError'
              ? classifySqlError(thrown, 'postgres://h/db', 'open the store', secrets)
              : classifyMongoError(thrown, 'mongodb://h/db', 'open the store', secrets);
      t.true(error instanceof LogticketsError);
      assertNoSecrets(t, error, forms(secret, 'bot'), shape.name);
      assertNoTransportObjects(t, error, shape.name);
      t.notThrows(() => JSON.stringify(error));
      t.notThrows(() => inspect(error, { depth: Infinity, showHidden: true }));
      for (const link of chainOf(error).slice(1)) {
        t.true(link instanceof SanitizedError || link instanceof LogticketsError, 'every cause is a copy');
      }
    });
  }
}

function describe(thrown: unknown): string {
  try {
    return thrown instanceof Error ? thrown.message : String(thrown);
  } catch {
    return 'unreadable';
  }
}

test('what a sanitized cause keeps: name, message, code-like fields, the chain', (t) => {
  const secret = plant();
  const error = new LogticketsError('BACKEND_UNAVAILABLE', 'rpc failed', {
    cause: axiosError(secret),
    secrets: [secret],
  });
  const cause = error.cause as SanitizedError & Record<string, unknown>;
  t.true(cause instanceof SanitizedError);
  t.is(cause.message, 'connect ECONNREFUSED 127.0.0.1:9');
  t.is(cause['code'], 'ECONNREFUSED');
  t.is(cause['method'], 'post');
  t.is(cause['url'], 'http://127.0.0.1:9/login/rpc');
  t.like(cause.cause, { code: 'ECONNREFUSED', port: 9, message: 'connect ECONNREFUSED 127.0.0.1:9' });
  t.regex(String(cause.stack), /connect ECONNREFUSED 127\.0\.0\.1:9\n\s+at /);
  const json = toJsonSafe(error) as Record<string, unknown>;
  t.like(json, { name: 'LogticketsError', code: 'BACKEND_UNAVAILABLE', cause: { code: 'ECONNREFUSED' } });
  t.like(JSON.parse(JSON.stringify(error)), { message: 'rpc failed', cause: { cause: { code: 'ECONNREFUSED' } } });
});

test('a LogticketsError as cause is kept as it is; a cycle stays a cycle in the copy', (t) => {
  const inner = new LogticketsError('AUTH_FAILED', 'refused');
  const outer = new LogticketsError('PERMISSION_DENIED', 'wrapped', { cause: inner });
  t.is(outer.cause, inner);
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  const error = new LogticketsError('BACKEND_REJECTED', 'x', { cause: b });
  const copy = error.cause as Error;
  t.is((copy.cause as Error).cause, copy);
  t.regex(JSON.stringify(error), /\[Circular\]/);
});

test('secrets given by value are replaced in every encoding; short ones only where they stand alone', (t) => {
  const long = 'p@ss/word "quoted" ü';
  const matchers = secretMatchers([long, 'ab1']);
  t.is(
    redactSecrets(`raw ${long} url ${encodeURIComponent(long)} json ${JSON.stringify(long)}`, matchers),
    'raw *** url *** json "***"',
  );
  t.is(redactSecrets('ab1 in cab1 and ab1x, (ab1)', matchers), '*** in cab1 and ab1x, (***)');
  const error = new LogticketsError('AUTH_FAILED', `refused ${long}`, { backend: `trac ${long}`, secrets: [long] });
  t.is(error.message, 'refused ***');
  t.is(error.backend, 'trac ***');
  t.false(String(error.stack).includes(long));
});

const MASKED: ReadonlyArray<[string, string]> = [
  ['Authorization: Basic Ym90OnNlY3JldA==', 'Authorization: Basic ***'],
  ['proxy-authorization: Basic YTpi', 'proxy-authorization: Basic ***'],
  ['{"authorization":"token abcdef"}', '{"authorization":"token ***"}'],
  [
    "headers: { authorization: 'bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjF9.sig' }",
    "headers: { authorization: 'bearer ***' }",
  ],
  ['jwt eyJhbGciOiJSUzI1NiJ9.eyJpYXQiOjE3MDB9.c2lnbmF0dXJl end', 'jwt *** end'],
  ['token ghs_16charsABCDEFGHIJKLMNOP used', 'token *** used'],
  ['installation ghs_ABCDEFGHIJKLMNOPQRSTuvwx', 'installation ***'],
  ['pat github_pat_11ABCDEFG0123456789_abcdefghijklmnop', 'pat ***'],
  ['https://x-access-token:ghs_abc@github.com/o/r.git', 'https://x-access-token:***@github.com/o/r.git'],
  ['remote x-access-token:abc123@github.com', 'remote x-access-token:***@github.com'],
  ['postgres://u:p%40ss@h:5432/db', 'postgres://u:***@h:5432/db'],
  ['postgresql://:onlypw@h/db', 'postgresql://:***@h/db'],
  [
    'mongodb+srv://user:pw@cluster0.example.net/?retryWrites=true',
    'mongodb+srv://user:***@cluster0.example.net/?retryWrites=true',
  ],
  ['host=db port=5432 password=hunter2 user=u', 'host=db port=5432 password=*** user=u'],
  ["host=db password='two words' user=u", 'host=db password=*** user=u'],
  ['?access_token=abc&x=1', '?access_token=***&x=1'],
  ["{ password: 'hunter2', user: 'u' }", "{ password: '***', user: 'u' }"],
  ['{"password":"hun\\"ter2","user":"u"}', '{"password":"***","user":"u"}'],
  ['{"privateKey":"-----BEGIN..."}', '{"privateKey":"***"}'],
  [
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----\nafter',
    '-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\nafter',
  ],
  ['cut -----BEGIN PRIVATE KEY-----\\nMIIEabc', 'cut -----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----'],
  // Ordinary text stays as it is.
  ['password authentication failed for user "planted"', 'password authentication failed for user "planted"'],
  [
    'duplicate key value violates unique constraint; Key (hash)=(abc) already exists',
    'duplicate key value violates unique constraint; Key (hash)=(abc) already exists',
  ],
  ['token expired', 'token expired'],
  [
    'Trac refused the credentials of bot (HTTP 401): check username and password',
    'Trac refused the credentials of bot (HTTP 401): check username and password',
  ],
  ['http://127.0.0.1:8080/login/rpc', 'http://127.0.0.1:8080/login/rpc'],
];

test('maskSecrets: the credential shapes it knows, and ordinary text left alone', (t) => {
  for (const [input, expected] of MASKED) t.is(maskSecrets(input), expected, input);
});
