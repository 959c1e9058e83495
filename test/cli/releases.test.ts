/**
 * Releases and environments through the CLI: list and show print them (list
 * adds a RELEASE column when any listed ticket has one), list filters by
 * --release and --environment, and solve takes --in-release (without it, the
 * newest release the store has seen for the ticket's app).
 */

import test from 'ava';
import { join } from 'node:path';
import { SqlBackend, type OccurrenceInput } from '../../src/index.js';
import { hash, occurrence } from '../conformance/backend-suite.js';
import { cli, workdir } from './run-cli.js';

const sorted = (...ids: number[]) => ids.sort((x, y) => x - y);
const at = (seconds: number): string => new Date(Date.UTC(2025, 2, 1, 10) + seconds * 1_000).toISOString();

/** A store with three tickets: two seen in releases and environments, one in neither (another app). */
async function store(t: {
  teardown(fn: () => void): void;
}): Promise<{ db: string; ids: { charge: number; stock: number; plain: number } }> {
  const db = `sqlite:${join(workdir(t), 'tickets.db')}`;
  const backend = new SqlBackend(db);
  const [charge, stock, plain] = [hash(), hash(), hash()];
  const seen = (h: string, seconds: number, release: string, environment: string, title: string): OccurrenceInput =>
    occurrence({ hash: h, time: at(seconds), release, environment, title });
  const outcomes = await backend.recordBatch([
    seen(charge, 0, '1.9.0', 'production', 'charge failed'),
    seen(charge, 20, '1.10.0', 'staging', 'charge failed'),
    seen(stock, 10, '1.9.0', 'staging', 'stock low'),
    occurrence({ hash: plain, appId: 'plain', time: at(30), title: 'plain problem' }),
  ]);
  await backend.close();
  const id = (h: string) => outcomes.find((o) => o.hash === h)!.ticketId;
  return { db, ids: { charge: id(charge), stock: id(stock), plain: id(plain) } };
}

test('list and show print first and last release, environments and the release a ticket is solved in', async (t) => {
  const { db, ids } = await store(t);
  const table = await cli(['list', '--db', db, '--order', 'id']);
  t.is(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^ID\s+LEVEL\s+COUNT\s+STATE\s+RELEASE\s+LAST SEEN\s+CHANNEL\s+LOCATION\s+TITLE$/);
  const release = lines[0]!.indexOf('RELEASE');
  const cells = new Map(
    lines.slice(2).map((line) => [Number(line.trim().split(/\s+/)[0]), line.slice(release).split(/\s{2,}/)[0]]),
  );
  t.deepEqual(
    [ids.charge, ids.stock, ids.plain].map((id) => cells.get(id)),
    ['1.10.0', '1.9.0', '-'],
  );

  const plain = await cli(['list', '--db', db, '--app', 'plain']);
  t.notRegex(plain.stdout, /RELEASE/, 'no column when no listed ticket has a release');

  const listed = JSON.parse((await cli(['list', '--db', db, '--json'])).stdout) as Array<{ id: number }>;
  const byId = (id: number) => listed.find((x) => x.id === id);
  t.like(byId(ids.charge), {
    id: ids.charge,
    firstRelease: '1.9.0',
    lastRelease: '1.10.0',
    environments: ['production', 'staging'],
    solvedInRelease: null,
  });
  t.like(byId(ids.plain), { id: ids.plain, firstRelease: null, lastRelease: null, environments: [] });

  const shown = await cli(['show', String(ids.charge), '--db', db]);
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /firstRelease\s+1\.9\.0\n/);
  t.regex(shown.stdout, /lastRelease\s+1\.10\.0\n/);
  t.regex(shown.stdout, /environments\s+production, staging\n/);
  t.regex(shown.stdout, /solvedInRelease\s+-\n/);
  t.regex((await cli(['show', String(ids.plain), '--db', db])).stdout, /environments\s+-\n/);
});

test('list filters by --release and --environment', async (t) => {
  const { db, ids } = await store(t);
  const listed = async (...args: string[]) =>
    (
      JSON.parse((await cli(['list', '--db', db, '--json', '--order', 'id', ...args])).stdout) as Array<{ id: number }>
    ).map((x) => x.id);
  t.deepEqual(await listed('--release', '1.9.0'), sorted(ids.charge, ids.stock));
  t.deepEqual(await listed('--release', '1.10.0'), [ids.charge]);
  t.deepEqual(await listed('--environment', 'production'), [ids.charge]);
  t.deepEqual(await listed('--environment', 'staging', '--release', '1.9.0'), sorted(ids.charge, ids.stock));
  t.deepEqual(await listed('--release', '2.0.0'), []);
  const none = await cli(['list', '--db', db, '--release', '2.0.0']);
  t.is(none.stdout.trim(), 'No tickets.');
});

test('solve --in-release names the release; without it the newest one seen for the app', async (t) => {
  const { db, ids } = await store(t);
  const solved = await cli(['solve', String(ids.stock), '--db', db, '--in-release', 'v1.9.1']);
  t.is(solved.code, 0, solved.stderr);
  t.regex(solved.stdout, /^Ticket \d+ solved in release v1\.9\.1 \(stock low\)\.$/m);
  const shown = JSON.parse((await cli(['show', String(ids.stock), '--db', db, '--json'])).stdout);
  t.like(shown, { state: 'solved', solvedInRelease: 'v1.9.1' });

  const newest = await cli(['solve', String(ids.charge), '--db', db]);
  t.regex(newest.stdout, /^Ticket \d+ solved in release 1\.10\.0 /m, 'by version: 1.10.0 after 1.9.0');
  const none = await cli(['solve', String(ids.plain), '--db', db]);
  t.regex(none.stdout, /^Ticket \d+ solved \(plain problem\)\.$/m, 'its app has no releases');

  t.like(JSON.parse((await cli(['list', '--db', db, '--json', '--solved', '--release', '1.10.0'])).stdout)[0], {
    id: ids.charge,
    solvedInRelease: '1.10.0',
  });
  const reopened = await cli(['reopen', String(ids.charge), '--db', db]);
  t.is(reopened.code, 0, reopened.stderr);
  t.like(JSON.parse((await cli(['show', String(ids.charge), '--db', db, '--json'])).stdout), {
    state: 'open',
    solvedInRelease: null,
  });
});

test('bad release flags are one clear line and exit 2', async (t) => {
  const { db, ids } = await store(t);
  const id = String(ids.charge);
  const cases: Array<[string[], RegExp]> = [
    [['solve', id, '--in-release', ''], /^logtickets: --in-release must be one line of 1 to 200 characters, got ""\n$/],
    [['solve', id, '--in-release', 'x'.repeat(201)], /^logtickets: --in-release must be one line of 1 to 200/],
    [['solve', id, '--in-release', 'a\nb'], /^logtickets: --in-release must be one line/],
    [
      ['reopen', id, '--in-release', '1.0.0'],
      /^logtickets: reopen does not take --in-release \(see logtickets help reopen\)\n$/,
    ],
    [['list', '--release', ''], /^logtickets: --release must be one line of 1 to 200 characters/],
    [['list', '--environment', 'a\tb'], /^logtickets: --environment must be one line/],
  ];
  for (const [args, message] of cases) {
    const result = await cli([...args, '--db', db]);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
    t.is(result.stderr.trimEnd().split('\n').length, 1, `one line: ${result.stderr}`);
  }
  t.like(JSON.parse((await cli(['show', id, '--db', db, '--json'])).stdout), { state: 'open' }, 'nothing changed');
});

test("occurrences shows each occurrence's release and environment when the page has any", async (t) => {
  const { db, ids } = await store(t);
  const shown = await cli(['occurrences', String(ids.charge), '--db', db, '--oldest']);
  t.is(shown.code, 0, shown.stderr);
  const lines = shown.stdout.trimEnd().split('\n');
  t.regex(lines[0]!, /^\s*ID\s+TIME\s+RELEASE\s+ENV\s+HOST\s+MESSAGE$/);
  t.regex(lines[2]!, /\s1\.9\.0\s+production\s/);
  t.regex(lines[3]!, /\s1\.10\.0\s+staging\s/);
  const plain = await cli(['occurrences', String(ids.plain), '--db', db]);
  t.notRegex(plain.stdout, /RELEASE|ENV/, 'no columns when no occurrence has them');
});
