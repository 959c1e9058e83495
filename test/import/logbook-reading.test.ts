/**
 * Reading what a Logbook user names and what Logbook stores: URI forms
 * (SQLAlchemy's and logtickets'), stored times, and, on a terminal, the
 * import's problems printed above its progress bar.
 */

import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MemoryBackend } from '../../src/index.js';
import { progress } from '../../src/cli/progress.js';
import { importLogbook } from '../../src/logbook/import-logbook.js';
import { logbookTime } from '../../src/logbook/logbook-record.js';
import type { LogbookSource } from '../../src/logbook/logbook-tables.js';
import { parseLogbookUri } from '../../src/logbook/logbook-uri.js';
import { screen } from '../cli/screen.js';

test('SQLite URIs as SQLAlchemy and logtickets write them, and plain paths', (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'logtickets-logbook-uri-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  writeFileSync(join(cwd, 'here.db'), '');
  const path = (uri: string) => {
    const target = parseLogbookUri(uri, cwd);
    return target.kind === 'sqlite' ? target.path : target.name;
  };
  t.is(path('sqlite:////srv/logs/tickets.db'), '/srv/logs/tickets.db');
  t.is(path('sqlite:///srv/logs/tickets.db'), '/srv/logs/tickets.db', 'absolute when neither exists');
  t.is(path('sqlite:///here.db'), join(cwd, 'here.db'), "SQLAlchemy's relative form when only that file exists");
  t.is(path('sqlite+pysqlite:////srv/t.db?mode=ro'), '/srv/t.db');
  t.is(path('sqlite:here.db'), join(cwd, 'here.db'));
  t.is(path('here.db'), join(cwd, 'here.db'));
  t.is(path('/var/t.db'), '/var/t.db');
  t.is(path('file:///var/t.db'), '/var/t.db');
  t.is(path('postgresql+psycopg2://app:pw@db.internal:5433/shop'), 'postgres://db.internal:5433/shop');
  t.is(path('postgres://db/shop'), 'postgres://db/shop');
  for (const bad of ['sqlite://', 'sqlite::memory:', 'mongodb://u:pw@h/db', '   ']) {
    const error = t.throws(() => parseLogbookUri(bad, cwd));
    t.is((error as { code?: string }).code, 'INVALID_URI', bad);
    t.false(error!.message.includes('pw@'));
  }
});

test("Logbook's stored times, read as UTC to the millisecond", (t) => {
  t.is(logbookTime('2026-01-02 03:04:05.123456'), '2026-01-02T03:04:05.123Z');
  t.is(logbookTime('2026-01-02 03:04:05.5'), '2026-01-02T03:04:05.500Z');
  t.is(logbookTime('2026-01-02 03:04:05'), '2026-01-02T03:04:05.000Z');
  t.is(logbookTime('2026-01-02T03:04:05.000007Z'), '2026-01-02T03:04:05.000Z');
  t.is(logbookTime('2026-01-02 03:04:05.25+02'), '2026-01-02T01:04:05.250Z');
  t.is(logbookTime('2026-01-02 03:04:05-0130'), '2026-01-02T04:34:05.000Z');
  t.is(logbookTime('yesterday'), null);
  t.is(logbookTime('2026-13-45 03:04:05'), null);
});

/** A Logbook store of three tickets, the second with a hash that is none. */
function source(): LogbookSource {
  const hash = (c: string) => c.repeat(40);
  const tickets = ['a', '?', 'b'].map((c, i) => ({
    ticketId: i + 1,
    hash: hash(c),
    level: 14,
    channel: 'app',
    location: `/srv/app.py:${i}`,
    module: 'app',
    lastOccurrence: '2026-01-02 03:04:05',
    occurrenceCount: 2,
    solved: false,
    appId: 'generic',
    rows: 2,
  }));
  return {
    name: 'sqlite:/fake.db',
    countOccurrences: async () => 6,
    tickets: async (after) => tickets.filter((x) => x.ticketId > after),
    occurrences: async (ticketId, after) =>
      [1, 2]
        .map((n) => ({
          occurrenceId: ticketId * 10 + n,
          time: `2026-01-02 03:04:0${n}`,
          data: '{"message": "m"}',
          appId: null,
        }))
        .filter((o) => o.occurrenceId > after),
    close: async () => {},
  };
}

test('on a terminal, a problem is printed above the bar, and the bar ends at the total', async (t) => {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  Object.assign(stream, { isTTY: true, columns: 100 });
  const bar = progress('Importing from Logbook', stream as unknown as NodeJS.WriteStream, 'occurrences');
  const store = new MemoryBackend();
  const summary = await importLogbook(source(), store, {
    onProgress: (done, total) => bar.update(done, total),
    onProblem: (line) => bar.log(`logtickets: ${line}`),
  });
  bar.stop();
  t.like(summary, { tickets: 3, imported: 4, created: 2, skippedTickets: 1 });
  const lines = screen(written);
  t.is(lines[0], 'logtickets: Logbook ticket 2 left out: its record_hash is not 40 hexadecimal characters');
  t.regex(lines[1]!, /^Importing from Logbook \[█{30}\] 6\/6 occurrences$/);
  t.is(await store.countTickets(), 2);
});
