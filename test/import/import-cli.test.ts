/**
 * `logtickets import-logbook` through the built command (dist/cli/main.js):
 * the URI forms a Logbook user has, the summary line with its plurals, a
 * second run, the store of --config, tickets and occurrences left out with
 * a line each and exit 1, one-line errors for what was named wrong, and the
 * command's help.
 */

import test from 'ava';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverAvailable } from '../services/availability.js';
import { logbookUnavailableReason, writeLogbookStore } from '../services/logbook/logbook-writer.js';
import { cli, workdir } from '../cli/run-cli.js';

const HASH = 'ab'.repeat(20);

/** A store in Logbook's layout by hand: one ticket with a good and an unreadable occurrence, one with a bad hash. */
function craftedStore(path: string, prefix = 'logbook_'): void {
  const db = new Database(path);
  db.exec(`
    create table ${prefix}tickets (ticket_id integer primary key, record_hash varchar(40) unique, level integer,
      channel varchar(120), location varchar(512), module varchar(256), last_occurrence_time datetime,
      occurrence_count integer, solved boolean, app_id varchar(80));
    create table ${prefix}occurrences (occurrence_id integer primary key, ticket_id integer, time datetime,
      data text, app_id varchar(80));
  `);
  const ticket = db.prepare(`insert into ${prefix}tickets values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  ticket.run(1, Buffer.from(HASH), 14, 'app', '/srv/app.py:3', 'app', '2026-01-02 03:04:05.000006', 2, 0, 'generic');
  ticket.run(2, 'not a hash', 13, 'app', '/srv/app.py:9', 'app', '2026-01-02 03:04:05.000000', 1, 0, 'generic');
  const occurrence = db.prepare(`insert into ${prefix}occurrences values (?, ?, ?, ?, 'generic')`);
  occurrence.run(1, 1, '2026-01-02 03:04:05.000006', JSON.stringify({ message: 'it broke', func_name: 'main' }));
  occurrence.run(2, 1, 'some day', JSON.stringify({ message: 'when?' }));
  occurrence.run(3, 2, '2026-01-02 03:04:05', JSON.stringify({ message: 'bad hash' }));
  db.close();
}

test('left out with a line each, the rest imported, exit 1; the summary counts in the right plurals', async (t) => {
  const cwd = workdir(t);
  craftedStore(join(cwd, 'logbook.db'));
  const run = await cli(['import-logbook', '--from', 'logbook.db', '--db', 'sqlite:logtickets.db'], {
    built: true,
    cwd,
  });
  t.is(run.code, 1);
  t.is(
    run.stdout,
    `1 occurrence imported from sqlite:${cwd}/logbook.db into sqlite:${cwd}/logtickets.db; 2 Logbook tickets (1 new here, 0 marked solved); 0 occurrences already there; 1 ticket left out (see above); 1 occurrence left out (see above).\n`,
  );
  const problems = run.stderr.split('\n').filter((line) => line.startsWith('logtickets: '));
  t.deepEqual(problems, [
    'logtickets: Logbook ticket 1: occurrence 2 has no time that can be read; left out',
    'logtickets: Logbook ticket 2 left out: its record_hash is not 40 hexadecimal characters',
  ]);
  const shown = await cli(['list', '--json', '--db', 'sqlite:logtickets.db'], { built: true, cwd });
  const [ticket] = JSON.parse(shown.stdout) as Array<Record<string, unknown>>;
  t.like(ticket, {
    hash: HASH,
    level: 'ERROR',
    location: '/srv/app.py:3',
    title: 'it broke',
    function: 'main',
    occurrenceCount: 1,
    lastSeen: '2026-01-02T03:04:05.000Z',
  });
});

test('errors name what was wrong, on one line, exit 2', async (t) => {
  const cwd = workdir(t);
  craftedStore(join(cwd, 'other.db'), 'shop_');
  writeFileSync(join(cwd, 'notes.txt'), 'not a database, and long enough to be read as one: '.repeat(20));
  const db = ['--db', 'sqlite:logtickets.db'];
  const cases: Array<[string[], string]> = [
    [[...db], 'import-logbook needs --from URI: the Logbook store (sqlite:///PATH, a file path or postgresql://…)'],
    [
      ['--from', 'mysql://root:Hunter2-Secret@db/app', ...db],
      '--from mysql://***@db/app: expected a Logbook store: sqlite:///PATH, a file path, or postgresql://…',
    ],
    [['--from', 'sqlite:///no/such/file.db', ...db], 'no Logbook store at /no/such/file.db (no such file)'],
    [['--from', 'notes.txt', ...db], `${cwd}/notes.txt is not a SQLite database`],
    [['--from', cwd, ...db], `no Logbook store at ${cwd} (it is a directory)`],
    [
      ['--from', 'other.db', ...db],
      `no Logbook ticketing tables logbook_tickets and logbook_occurrences in sqlite:${cwd}/other.db (try --prefix shop_)`,
    ],
    [['--from', 'other.db', '--prefix', 'a-b', ...db], '--prefix must be letters, digits and _ only, got "a-b"'],
  ];
  for (const [args, message] of cases) {
    const run = await cli(['import-logbook', ...args], { built: true, cwd });
    t.is(run.stderr, `logtickets: ${message}\n`, args.join(' '));
    t.is(run.code, 2, args.join(' '));
    t.is(run.stdout, '');
    t.false(run.stderr.includes('Hunter2'));
  }
});

test('help: usage, the Logbook options, the store options without the store prefix, examples', async (t) => {
  const run = await cli(['import-logbook', '--help'], { built: true });
  t.is(run.code, 0);
  t.regex(run.stdout, /^Usage: logtickets import-logbook --from URI \[options\]\n/);
  t.regex(
    run.stdout,
    /\n  --from URI +the Logbook store: sqlite:\/\/\/PATH, a file path, or postgresql:\/\/USER@HOST\/DB/,
  );
  t.regex(run.stdout, /\n  --prefix PREFIX +the Logbook tables' name prefix \(default logbook_\)/);
  t.regex(run.stdout, /\n  --db URI /);
  t.false(run.stdout.includes('table/collection name prefix of the store'));
  t.regex(run.stdout, /\nExamples:\n  logtickets import-logbook --from sqlite:\/\/\/\/srv\/app\/tickets\.db/);
  const overview = await cli(['--help'], { built: true });
  t.regex(overview.stdout, /\n  import-logbook +import the tickets of a Logbook \(Python\) ticketing store\n/);
});

if (serverAvailable(test, 'Logbook', logbookUnavailableReason())) {
  test("a real Logbook store by SQLAlchemy's URI, into the store of --config with its prefix; again: nothing new", async (t) => {
    const cwd = workdir(t);
    const file = join(cwd, 'logbook.db');
    await writeLogbookStore(`sqlite:///${file}`);
    writeFileSync(join(cwd, 'logtickets.json'), JSON.stringify({ store: { uri: 'sqlite:./lt.db', prefix: 'lt_' } }));
    const args = ['import-logbook', '--from', `sqlite:///${file}`, '--config', 'logtickets.json'];
    const first = await cli(args, { built: true, cwd });
    t.is(first.code, 0, first.stderr);
    t.is(
      first.stdout,
      `7 occurrences imported from sqlite:${file} into sqlite:${cwd}/lt.db; 4 Logbook tickets (4 new here, 1 marked solved); 0 occurrences already there.\n`,
    );
    // Not a terminal: progress is plain lines on stderr, the last one complete.
    t.regex(first.stderr, /Importing from Logbook: 7\/7 occurrences\n$/);
    const second = await cli(['import-logbook', '--from', file, '--config', 'logtickets.json'], { built: true, cwd });
    t.is(second.code, 0);
    t.regex(second.stdout, /^0 occurrences imported .*; 7 occurrences already there\.\n$/);
    const listed = await cli(['list', '--json', '--solved', '--config', 'logtickets.json'], { built: true, cwd });
    t.deepEqual(
      (JSON.parse(listed.stdout) as Array<{ channel: string; state: string }>).map((x) => [x.channel, x.state]),
      [['shop.cart', 'solved']],
    );
  });
}
