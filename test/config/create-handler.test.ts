import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, createHandlerFromConfig, Level, Logger, openBackend, SqlBackend } from '../../src/index.js';

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'logtickets-confhandler-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a handler from a config file writes tickets into the store the file names, relative to the file', async (t) => {
  const d = dir(t);
  const path = join(d, 'logtickets.json');
  writeFileSync(path, JSON.stringify({ store: 'sqlite:./tickets.db', handler: { appId: 'shop', level: 'ERROR' } }));
  const handler = createHandlerFromConfig(path);
  t.is(handler.appId, 'shop');
  t.is(handler.level, Level.ERROR);
  const log = new Logger('shop.checkout');
  handler.run(() => {
    for (let i = 0; i < 3; i++) log.error('payment %d failed', i);
    log.warning('below the configured level');
  });
  t.true(await handler.close());
  const store = new SqlBackend(`sqlite:${join(d, 'tickets.db')}`);
  t.teardown(() => store.close());
  const tickets = await store.getTickets();
  t.is(tickets.length, 1);
  t.is(tickets[0]!.occurrenceCount, 3);
  t.is(tickets[0]!.appId, 'shop');
});

test('an invalid config fails at creation, before anything is opened', (t) => {
  const d = dir(t);
  const error = t.throws(
    () => createHandlerFromConfig({ store: `sqlite:${join(d, 'x.db')}`, handler: { batchsize: 5 } }),
    {
      instanceOf: ConfigError,
    },
  );
  t.is(error.code, 'INVALID_CONFIG');
  t.deepEqual(error.problems, ['handler.batchsize: unknown key (did you mean "batchSize"?)']);
  t.deepEqual(readdirSync(d), [], 'no store file was created');
});

test('fingerprint "function" keeps a ticket when the logging call moves to another line', async (t) => {
  const d = dir(t);
  const uri = `sqlite:${join(d, 'f.db')}`;
  const handler = createHandlerFromConfig({ store: uri, handler: { fingerprint: 'function' } });
  const log = new Logger('svc');
  function chargeCard(): void {
    log.error('first line');
    log.error('another line, same function');
  }
  function refund(): void {
    log.error('another function');
  }
  handler.run(() => {
    chargeCard();
    refund();
  });
  t.true(await handler.close());
  const store = openBackend(uri);
  t.teardown(() => store.close());
  const tickets = await store.getTickets({ orderBy: 'id' });
  t.deepEqual(
    tickets.map((x) => [x.function, x.occurrenceCount]),
    [
      ['chargeCard', 2],
      ['refund', 1],
    ],
  );
});

test('secrets planted in a record reach no byte of the SQLite store', async (t) => {
  const d = dir(t);
  const uri = `sqlite:${join(d, 'secrets.db')}`;
  const handler = createHandlerFromConfig({ store: uri, redaction: { keys: ['ssn'] } });
  const log = new Logger('auth');
  const planted = {
    password: 'Pl4nted-Passw0rd',
    ghToken: 'ghp_PlantedToken0123456789abcdefghijklmn',
    bearer: 'PlantedBearerCredential99',
    dsnPassword: 'PlantedDsnPass',
    ssn: '078-05-1120',
  };
  const error = new Error(`login failed with Authorization: Bearer ${planted.bearer}`) as Error & { config?: unknown };
  error.config = {
    headers: { authorization: `Bearer ${planted.bearer}` },
    url: `https://bot:${planted.dsnPassword}@api.example.org`,
  };
  handler.run(() => {
    log.error(
      {
        extra: {
          user: 'ann',
          password: planted.password,
          nested: { ssn: planted.ssn },
          note: `token=${planted.ghToken}`,
        },
        error,
      },
      'cannot reach postgres://app:%s@db/shop with %s',
      planted.dsnPassword,
      planted.ghToken,
    );
  });
  t.true(await handler.close());
  const store = openBackend(uri);
  const [ticket] = await store.getTickets();
  const [occurrence] = await store.getOccurrences(ticket!.id);
  await store.close();
  const data = occurrence!.data as { extra: Record<string, unknown>; message: string };
  t.is(data.extra.user, 'ann', 'what is not secret is kept');
  t.is(data.extra.password, '[REDACTED]');
  t.regex(data.message, /^cannot reach postgres:\/\/\[REDACTED\]@db\/shop with \[REDACTED\]$/);
  // Every file of the store (database, WAL), byte for byte.
  for (const file of readdirSync(d)) {
    const bytes = readFileSync(join(d, file)).toString('latin1');
    for (const [name, value] of Object.entries(planted)) t.false(bytes.includes(value), `${name} found in ${file}`);
  }
});
