import test from 'ava';
import { cli, workdir } from './run-cli.js';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SqlBackend } from '../../src/index.js';
import { hash, occurrence } from '../conformance/backend-suite.js';
import { freePort } from '../services/postgres.js';

const exec = promisify(execFile);
const twoSites = fileURLToPath(new URL('../fixtures/two-call-sites.ts', import.meta.url));

/** Two processes, each logging from the same call sites, into one SQLite file. */
async function logFromTwoProcesses(db: string): Promise<void> {
  await Promise.all(
    [1, 2].map((n) => exec(process.execPath, ['--import', import.meta.resolve('tsx'), twoSites, db, String(n)])),
  );
}

test('list --json shows one ticket per call site with exact counts from two processes', async (t) => {
  const db = `sqlite:${join(workdir(t), 'tickets.db')}`;
  await logFromTwoProcesses(db);
  const { code, stdout, stderr } = await cli(['list', '--db', db, '--json']);
  t.is(code, 0, stderr);
  const tickets = JSON.parse(stdout) as Array<Record<string, unknown>>;
  t.is(tickets.length, 3);
  const byTitle = Object.fromEntries(tickets.map((x) => [String(x.title).split(' ')[0], x]));
  t.like(byTitle.charge, {
    level: 'ERROR',
    channel: 'shop.payments',
    occurrenceCount: 20,
    solved: false,
    regressionCount: 0,
  });
  t.like(byTitle.stock, { level: 'WARNING', channel: 'shop.stock', occurrenceCount: 10 });
  t.like(byTitle.mail, { level: 'CRITICAL', occurrenceCount: 2 });
  for (const ticket of tickets) {
    for (const key of [
      'id',
      'hash',
      'level',
      'channel',
      'location',
      'title',
      'occurrenceCount',
      'firstSeen',
      'lastSeen',
      'solved',
      'regressionCount',
    ]) {
      t.true(key in ticket, key);
    }
    t.regex(String(ticket.location), /^test\/fixtures\/two-call-sites\.ts:\d+$/);
  }
});

test('the table, show, occurrences, solve, recurrence as a regression, reopen, delete, stats', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'tickets.db')}`;
  await logFromTwoProcesses(db);

  const table = await cli(['list', '--db', db]);
  t.is(table.code, 0);
  const lines = table.stdout.trimEnd().split('\n');
  // RELEASE shows when the occurrences carried one.
  t.regex(lines[0]!, /^ID\s+LEVEL\s+COUNT\s+STATE\s+(RELEASE\s+)?LAST SEEN\s+CHANNEL\s+LOCATION\s+TITLE$/);
  t.is(lines.length, 5);
  t.is(lines[1]!.replace(/[- ]/g, ''), '', 'a rule under the header');
  const titleColumn = lines[0]!.indexOf('TITLE');
  t.true(
    lines.slice(2).every((l) => l[titleColumn - 1] === ' '),
    'columns are aligned',
  );

  const charge = (
    JSON.parse((await cli(['list', '--db', db, '--json', '--level', 'error'])).stdout) as Array<{ id: number }>
  )[0]!;
  const shown = await cli(['show', String(charge.id), '--db', db]);
  t.regex(shown.stdout, /occurrenceCount\s+20/);
  const occurrences = await cli(['occurrences', String(charge.id), '--db', db, '--limit', '3', '--json']);
  const rows = JSON.parse(occurrences.stdout) as Array<{ data: { message: string; process: { pid: number } } }>;
  t.is(rows.length, 3);
  t.regex(rows[0]!.data.message, /^charge failed for order \d+$/);

  t.regex((await cli(['solve', String(charge.id), '--db', db])).stdout, /Ticket \d+ solved/);
  t.is(JSON.parse((await cli(['list', '--db', db, '--json', '--solved'])).stdout).length, 1);
  // Solved two minutes ago: what recurs now is past the grace window, a regression.
  await solvedMinutesAgo(dir, charge.id, 2);
  await logFromTwoProcesses(db);
  const after = JSON.parse((await cli(['show', String(charge.id), '--db', db, '--json'])).stdout);
  t.like(after, { state: 'regressed', solved: false, muted: false, regressionCount: 1, occurrenceCount: 40 });
  t.regex((await cli(['list', '--db', db])).stdout, /regressed/);

  await cli(['solve', String(charge.id), '--db', db]);
  t.regex((await cli(['reopen', String(charge.id), '--db', db])).stdout, /reopened/);
  t.regex((await cli(['delete', String(charge.id), '--db', db])).stdout, /deleted/);
  const stats = JSON.parse((await cli(['stats', '--db', db, '--json'])).stdout);
  t.like(stats, { tickets: 2, open: 2, solved: 0, byLevel: { CRITICAL: 1, WARNING: 1 } });
});

test('mute and unmute; list leaves muted tickets out unless asked; --state; a recurrence within the grace window', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'tickets.db')}`;
  await logFromTwoProcesses(db);
  const all = JSON.parse((await cli(['list', '--db', db, '--json'])).stdout) as Array<{ id: number; title: string }>;
  const [first, second] = all;
  const muted = await cli(['mute', String(first!.id), '--db', db]);
  t.is(muted.code, 0, muted.stderr);
  t.regex(muted.stdout, /Ticket \d+ muted/);
  const listed = JSON.parse((await cli(['list', '--db', db, '--json'])).stdout) as Array<{ id: number }>;
  t.false(
    listed.some((x) => x.id === first!.id),
    'a muted ticket is left out of list',
  );
  const onlyMuted = JSON.parse((await cli(['list', '--db', db, '--json', '--muted'])).stdout);
  t.like(onlyMuted, [{ id: first!.id, state: 'muted', muted: true }]);
  t.is(JSON.parse((await cli(['list', '--db', db, '--json', '--state', 'muted'])).stdout).length, 1);
  // Muted: counted, never regresses.
  await logFromTwoProcesses(db);
  t.like(JSON.parse((await cli(['show', String(first!.id), '--db', db, '--json'])).stdout), {
    state: 'muted',
    regressionCount: 0,
  });
  t.regex((await cli(['unmute', String(first!.id), '--db', db])).stdout, /unmuted/);
  t.like(JSON.parse((await cli(['show', String(first!.id), '--db', db, '--json'])).stdout), { state: 'open' });
  // Solved just now: what recurs at once was in flight, counted without reopening.
  await cli(['solve', String(second!.id), '--db', db]);
  await logFromTwoProcesses(db);
  t.like(JSON.parse((await cli(['show', String(second!.id), '--db', db, '--json'])).stdout), {
    state: 'solved',
    regressionCount: 0,
  });
  const stats = JSON.parse((await cli(['stats', '--db', db, '--json'])).stdout);
  t.like(stats, { tickets: 3, solved: 1, muted: 0, open: 2 });
  const bad = await cli(['list', '--db', db, '--state', 'closed']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--state: unknown state "closed" \(use open, solved, regressed, muted\)/);
  const both = await cli(['list', '--db', db, '--open', '--muted']);
  t.is(both.code, 2);
  t.regex(both.stderr, /exclude each other/);
});

/**
 * Move a ticket's solve back in time, as if it had been solved minutes ago,
 * and in no release (else occurrences of the release it was solved in would
 * leave it solved).
 */
async function solvedMinutesAgo(dir: string, id: number, minutes: number): Promise<void> {
  const { default: Database } = await import('better-sqlite3');
  const sqlite = new Database(join(dir, 'tickets.db'));
  const at = new Date(Date.now() - minutes * 60_000).toISOString();
  sqlite
    .prepare('update logtickets_tickets set solved_at = ?, state_at = ?, solved_in_release = null where id = ?')
    .run(at, at, id);
  sqlite.close();
}

test('LOGTICKETS_DB and the default store are honoured', async (t) => {
  const dir = workdir(t);
  await exec(process.execPath, [
    '--import',
    import.meta.resolve('tsx'),
    twoSites,
    `sqlite:${join(dir, 'logtickets.db')}`,
    '1',
  ]);
  const { stdout } = await cli(['stats', '--json'], { cwd: dir });
  t.is(JSON.parse(stdout).tickets, 3, 'the default store is ./logtickets.db');
  const elsewhere = await cli(['stats', '--json'], {
    cwd: tmpdir(),
    env: { LOGTICKETS_DB: `sqlite:${join(dir, 'logtickets.db')}` },
  });
  t.is(JSON.parse(elsewhere.stdout).tickets, 3, 'LOGTICKETS_DB names the store');
});

test('mistakes are one clear line and a non-zero exit', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'tickets.db')}`;
  await exec(process.execPath, ['--import', import.meta.resolve('tsx'), twoSites, db, '1']);
  const port = await freePort();
  const cases: Array<[string[], number, RegExp]> = [
    [['list', '--db', `sqlite:${join(dir, 'typo.db')}`], 2, /^logtickets: no store at .*typo\.db \(check --db/],
    [['list', '--db', db, '--limit', '99999999999999999999'], 2, /^logtickets: --limit must be a non-negative integer/],
    [['list', '--db', 'postgres://admin:s3cr/et@[bad/x'], 2, /^logtickets: store URI postgres:\/\/\*\*\*@/],
    [['show', '999', '--db', db], 2, /^logtickets: no ticket with id 999\n$/],
    [['solve', '999', '--db', db], 2, /^logtickets: no ticket with id 999 \[sqlite:.+\]\n$/],
    [['show', 'abc', '--db', db], 2, /^logtickets: ticket ID must be a positive integer, got "abc"\n$/],
    [['show', '--db', db], 2, /^logtickets: a ticket ID is required\n$/],
    [['frobnicate'], 2, /^logtickets: unknown command "frobnicate"/],
    [['list', '--colour'], 2, /^logtickets: unknown option --colour \(see logtickets help list\)\n$/],
    [['list', '--db', 'mysql://x/y'], 2, /^logtickets: no backend for mysql:\/\/x\/y: supported are/],
    [['list', '--db', 'sqlite:'], 2, /^logtickets: store URI sqlite: names no file/],
    [['list', '--db', db, '--limit', 'many'], 2, /^logtickets: --limit must be a non-negative integer, got "many"\n$/],
    [['list', '--db', db, '--level', 'loud'], 2, /^logtickets: --level: unknown level "loud"/],
    [['list', '--db', db, '--order', 'title'], 2, /^logtickets: orderBy must be one of/],
    [
      ['list', '--db', `postgres://ops:hunter2@127.0.0.1:${port}/tickets`],
      1,
      /^logtickets: open the store: .*ECONNREFUSED|connect/,
    ],
  ];
  for (const [args, code, message] of cases) {
    const result = await cli(args);
    t.is(result.code, code, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
    t.is(result.stderr.trimEnd().split('\n').length, 1, `one line: ${result.stderr}`);
    t.false(result.stderr.includes('hunter2') || result.stderr.includes('s3cr/et'));
  }
});

test('--prefix reads a store written with other table names', async (t) => {
  const db = `sqlite:${join(workdir(t), 'prefixed.db')}`;
  const backend = new SqlBackend(db, { prefix: 'ops_' });
  await backend.recordBatch([occurrence({ hash: hash() })]);
  await backend.close();
  const { code, stdout, stderr } = await cli(['list', '--db', db, '--prefix', 'ops_', '--json']);
  t.is(code, 0, stderr);
  t.is(JSON.parse(stdout).length, 1);
});

test('--help lists every command', async (t) => {
  const { code, stdout } = await cli(['--help']);
  t.is(code, 0);
  for (const command of ['list', 'show', 'occurrences', 'solve', 'reopen', 'delete', 'stats', 'demo']) {
    t.regex(stdout, new RegExp(`^  ${command}\\b`, 'm'));
  }
});

test('the demo logs from two processes into one store and prints the table', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'demo.db')}`;
  const { code, stdout, stderr } = await cli(['demo', '--db', db, '--rounds', '10']);
  t.is(code, 0, stderr);
  t.regex(stdout, /^2 shop processes logged \d+ warnings and errors/);
  t.regex(stdout, /shop\.checkout/);
  const tickets = JSON.parse((await cli(['list', '--db', db, '--json'])).stdout) as Array<{
    channel: string;
    occurrenceCount: number;
  }>;
  t.deepEqual(
    [...new Set(tickets.map((x) => x.channel))].sort(),
    ['shop.checkout', 'shop.db', 'shop.inventory', 'shop.mail'].filter((c) => tickets.some((x) => x.channel === c)),
  );
  t.true(tickets.length >= 3);
  const logged = Number(/logged (\d+)/.exec(stdout)![1]);
  t.is(
    tickets.reduce((n, x) => n + x.occurrenceCount, 0),
    logged,
  );
});
