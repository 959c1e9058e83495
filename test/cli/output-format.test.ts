/**
 * How the CLI's tables and lines read, through the built command: a long
 * location keeps its file name and line number, every time says its zone
 * (the user's TZ, else UTC), and counts have the right plural.
 */

import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlBackend, type OccurrenceInput } from '../../src/index.js';
import { hash, occurrence } from '../conformance/backend-suite.js';
import { cli, workdir } from './run-cli.js';

/** A SQLite store holding these occurrences (each list one ticket). */
async function storeWith(t: Parameters<typeof workdir>[0], tickets: OccurrenceInput[][]): Promise<string> {
  const db = `sqlite:${join(workdir(t), 'tickets.db')}`;
  const store = new SqlBackend(db);
  for (const occurrences of tickets) await store.recordBatch(occurrences);
  await store.close();
  return db;
}

/** The cells of a column in a table printed by the CLI, found by its header. */
function column(table: string, header: string): string[] {
  const [head, rule, ...rows] = table.trimEnd().split('\n');
  const start = head!.indexOf(header);
  const end = rule!.indexOf(' ', start) === -1 ? undefined : rule!.indexOf(' ', start);
  return rows.map((r) => r.slice(start, end).trim());
}

test('list cuts a long LOCATION from the left: the file name and the line number stay', async (t) => {
  const long = 'packages/storefront/src/features/checkout/payment/providers/pay.ts:42';
  const db = await storeWith(t, [
    [occurrence({ hash: hash(), location: long })],
    [occurrence({ hash: hash(), location: 'src/a.ts:7' })],
    [occurrence({ hash: hash(), location: 'src/some-very-long-file-name-of-a-generated-module-bundle.ts:1234' })],
  ]);
  const r = await cli(['list', '--db', db, '--order', 'id'], { built: true });
  t.is(r.code, 0, r.stderr);
  const cells = column(r.stdout, 'LOCATION');
  t.deepEqual(cells.slice(0, 2), ['…/payment/providers/pay.ts:42', 'src/a.ts:7']);
  t.regex(cells[2]!, /^….*\.ts:1234$/, 'a file name longer than the column keeps its end');
  t.true(
    cells.every((c) => c.length <= 36),
    cells.join(' | '),
  );
});

test('times say their zone: UTC by default, the zone of TZ when set, in list, show and occurrences', async (t) => {
  const db = await storeWith(t, [[occurrence({ hash: hash(), time: '2025-03-01T10:00:00.000Z' })]]);
  const zones: Array<[string, string]> = [
    ['', '2025-03-01 10:00:00 UTC'],
    ['UTC', '2025-03-01 10:00:00 UTC'],
    ['Asia/Kolkata', '2025-03-01 15:30:00 +05:30'],
    ['America/New_York', '2025-03-01 05:00:00 -05:00'],
  ];
  for (const [tz, shown] of zones) {
    const env = { TZ: tz };
    const list = await cli(['list', '--db', db], { built: true, env });
    t.is(list.code, 0, list.stderr);
    t.deepEqual(column(list.stdout, 'LAST SEEN'), [shown], `list, TZ=${tz}`);
    const show = await cli(['show', '1', '--db', db], { built: true, env });
    t.regex(show.stdout, new RegExp(`^firstSeen\\s+${shown.replace('+', '\\+')}$`, 'm'), `show, TZ=${tz}`);
    t.regex(show.stdout, new RegExp(`^lastSeen\\s+${shown.replace('+', '\\+')}$`, 'm'), `show, TZ=${tz}`);
    const occurrences = await cli(['occurrences', '1', '--db', db], { built: true, env });
    t.deepEqual(column(occurrences.stdout, 'TIME'), [shown], `occurrences, TZ=${tz}`);
    // JSON keeps ISO 8601 in UTC.
    const json = JSON.parse((await cli(['show', '1', '--db', db, '--json'], { built: true, env })).stdout);
    t.is(json.lastSeen, '2025-03-01T10:00:00.000Z');
  }
});

test('counts have the right plural: stats, check-config, list, demo', async (t) => {
  const one = await storeWith(t, [[occurrence({ hash: hash() })]]);
  const stats = await cli(['stats', '--db', one], { built: true });
  t.is(stats.code, 0, stats.stderr);
  t.regex(stats.stdout, /^busiest\s+#1 with 1 occurrence$/m);
  t.regex(stats.stdout, /^outbox\s+0 deliveries waiting$/m);
  const h = hash();
  const two = await storeWith(t, [[occurrence({ hash: h }), occurrence({ hash: h })]]);
  t.regex((await cli(['stats', '--db', two], { built: true })).stdout, /^busiest\s+#1 with 2 occurrences$/m);

  const dir = workdir(t);
  const config = join(dir, 'logtickets.json');
  writeFileSync(
    config,
    JSON.stringify({
      store: one,
      trackers: [{ type: 'trac', url: 'http://127.0.0.1:9/login/rpc', timeoutMs: 2000 }],
    }),
  );
  const checked = await cli(['check-config', '--config', config], { built: true });
  t.regex(checked.stdout, /^ok\s+config: valid — .* \(1 tracker\)$/m);
  t.regex(checked.stdout, /store reachable — 1 ticket, 0 deliveries waiting in the outbox$/m);

  t.is((await cli(['mute', '1', '--db', one], { built: true })).code, 0);
  t.is(
    (await cli(['list', '--db', one], { built: true })).stdout,
    'No tickets (1 muted ticket left out: --muted lists them).\n',
  );

  const demo = await cli(['demo', '--db', `sqlite:${join(dir, 'demo.db')}`, '--processes', '1', '--rounds', '3'], {
    built: true,
  });
  t.is(demo.code, 0, demo.stderr);
  t.regex(demo.stdout, /^1 shop process logged \d+ warnings and errors in \d+ ms\.$/m);
  const tickets = /^(\d+) (tickets?) in /m.exec(demo.stdout);
  t.truthy(tickets, demo.stdout);
  t.is(tickets![2], tickets![1] === '1' ? 'ticket' : 'tickets');
});

test('--order takes a descending field as people type it, with or without =', async (t) => {
  const busy = hash();
  const db = await storeWith(t, [
    [occurrence({ hash: hash() })],
    [occurrence({ hash: busy }), occurrence({ hash: busy })],
  ]);
  for (const order of [['--order', '-occurrenceCount'], ['--order=-occurrenceCount']]) {
    const r = await cli(['list', '--db', db, ...order], { built: true });
    t.is(r.code, 0, r.stderr);
    t.deepEqual(column(r.stdout, 'ID'), ['2', '1'], order.join(' '));
  }
  const flag = await cli(['list', '--db', db, '--order', '--json'], { built: true });
  t.is(flag.code, 2);
  t.regex(flag.stderr, /^logtickets: --order needs a value/);
});
