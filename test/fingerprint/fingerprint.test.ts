import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  defaultSalt,
  fingerprint,
  logbookHash,
  Logger,
  MemoryBackend,
  SqlBackend,
  TicketingHandler,
} from '../../src/index.js';

const exec = promisify(execFile);

test('logbookHash reproduces Logbook byte for byte', (t) => {
  // Expected values computed with Python's hashlib over Logbook's input format.
  const vectors: Array<[Parameters<typeof logbookHash>[0], string]> = [
    [
      { level: 14, channel: 'myapp', filename: '/srv/app/views.py', lineno: 42, salt: 'apphash-generic' },
      '40c86d6144fca10437b51b75d58f5e2955dba643',
    ],
    [
      { level: 13, channel: 'shop.checkout', filename: 'src/checkout.ts', lineno: 7 },
      '9d9e6fa62a27edb6dafefdb5ecead25dae95590e',
    ],
    [
      { level: 15, channel: 'zahlung.💳', filename: 'src/zahlung/ü.ts', lineno: 1200, salt: 'apphash-ünï' },
      '8cfbd9a8dbf5ae51cec60203dc8412836f174f8d',
    ],
    [{ level: 9, channel: '', filename: '', lineno: 0 }, '4c9b66a77a014497b7da1bdb6263ad97f5baaf3b'],
    // An empty salt is still a salt in Logbook (it tests `is not None`).
    [{ level: 9, channel: '', filename: '', lineno: 0, salt: '' }, '0cc800fb3d08e7ca459410f455503392eeb2bfd2'],
    [
      { level: 14, channel: 'myapp', filename: '/srv/app/views.py', lineno: 42, salt: '' },
      '344830308e6a2db17aa93e8f34c2f59315090976',
    ],
    [
      { level: 12, channel: 'a\u0000b', filename: 'x.py', lineno: 3, salt: 'apphash-generic' },
      '4ee072776e9d4841d9435f6573e2897f1bda5f9e',
    ],
  ];
  for (const [input, expected] of vectors) t.is(logbookHash(input), expected, JSON.stringify(input));
});

test('the default fingerprint is Logbook hash of the relative call site; the message is not part of it', (t) => {
  const base = { level: 14, channel: 'myapp', file: 'app/views.py', line: 42 };
  const salt = defaultSalt('generic');
  t.is(salt, 'apphash-generic');
  t.is(
    fingerprint(base, salt),
    logbookHash({ level: 14, channel: 'myapp', filename: 'app/views.py', lineno: 42, salt }),
  );
  t.not(fingerprint(base, salt), fingerprint({ ...base, line: 43 }, salt));
  t.not(fingerprint(base, salt), fingerprint(base, defaultSalt('other-app')));
});

test('a per-call fingerprint replaces the call site, keeps the salt, and never collides with call sites', (t) => {
  const a = { level: 14, channel: 'x', file: 'a.ts', line: 1, custom: 'db-timeout' };
  const b = { level: 13, channel: 'y', file: 'b.ts', line: 99, custom: 'db-timeout' };
  t.is(fingerprint(a, 's'), fingerprint(b, 's'));
  t.regex(fingerprint(a, 's'), /^[0-9a-f]{40}$/);
  t.not(fingerprint(a, 's'), fingerprint(a, 't'));
  t.not(fingerprint({ ...a, custom: ['db', 'timeout'] }, 's'), fingerprint({ ...a, custom: 'db\u0000timeout ' }, 's'));
});

test('the same code deployed in two directories keeps one ticket', async (t) => {
  const fixture = fileURLToPath(new URL('../fixtures/deployed-service.ts', import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'logtickets-deploy-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const store = `sqlite:${join(work, 'tickets.db')}`;
  for (const release of ['release-1', 'release-2']) {
    const dir = mkdtempSync(join(work, `${release}-`));
    // .mts: the release directory has no package.json saying it is ESM.
    copyFileSync(fixture, join(dir, 'service.mts'));
    // tsx by absolute URL: the release directory has no node_modules of its own.
    await exec(process.execPath, ['--import', import.meta.resolve('tsx'), join(dir, 'service.mts')], {
      cwd: dir,
      env: {
        ...process.env,
        LOGTICKETS_SRC: fileURLToPath(new URL('../../src/index.ts', import.meta.url)),
        STORE: store,
      },
    });
  }
  const backend = new SqlBackend(store);
  t.teardown(() => backend.close());
  const tickets = await backend.getTickets();
  t.is(tickets.length, 1);
  t.is(tickets[0]!.occurrenceCount, 2);
  t.is(tickets[0]!.location, 'service.mts:10');
});

test('a custom fingerprint at a call site leaves the default grouping of the next call there', async (t) => {
  const backend = new MemoryBackend();
  const handler = new TicketingHandler(backend);
  const log = new Logger('svc');
  const charge = (fingerprint?: string) => log.error(fingerprint === undefined ? {} : { fingerprint }, 'charge failed');
  handler.run(() => {
    charge('card-declined');
    charge();
    charge();
    charge('card-declined');
  });
  await handler.flush();
  const tickets = await backend.getTickets();
  t.is(tickets.length, 2);
  t.deepEqual(tickets.map((x) => x.occurrenceCount).sort(), [2, 2]);
});
