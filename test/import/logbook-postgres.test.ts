/**
 * Importing a PostgreSQL store written by the real Logbook (with the one
 * adaptation its writer script explains) into a PostgreSQL logtickets store
 * on the same server, through the library and through the built command:
 * exact tickets and occurrences, a second run that changes nothing, and a
 * password from the URI that never shows, neither in output nor in errors.
 */

import test from 'ava';
import { SqlBackend } from '../../src/index.js';
import { serverAvailable } from '../services/availability.js';
import { logbookUnavailableReason, writeLogbookStore } from '../services/logbook/logbook-writer.js';
import { freePort, postgresUnavailableReason, startPostgres, type PostgresServer } from '../services/postgres.js';
import { cli, workdir } from '../cli/run-cli.js';
import { assertImported, contents, importFrom } from './import-subject.js';

const PASSWORD = 'Pg-Pa55word-never-shown';

/** The server's URL with a password (trust authentication accepts any) and, for SQLAlchemy, psycopg2 as driver. */
function urls(server: PostgresServer): { plain: string; withPassword: string; sqlalchemy: string } {
  const url = new URL(server.url);
  url.password = PASSWORD;
  return {
    plain: server.url,
    withPassword: url.href,
    sqlalchemy: url.href.replace(/^postgres:/, 'postgresql+psycopg2:'),
  };
}

const reason = logbookUnavailableReason() ?? postgresUnavailableReason();
if (serverAvailable(test, 'Logbook on PostgreSQL', reason)) {
  let server: PostgresServer;
  test.before(async () => {
    server = await startPostgres();
  });
  test.after.always(async () => {
    await server?.stop();
  });

  test.serial('a real Logbook PostgreSQL store with a custom prefix is imported exactly, once', async (t) => {
    const { withPassword, sqlalchemy } = urls(server);
    const logbook = await writeLogbookStore(sqlalchemy, { prefix: 'pg1_', appId: 'shop' });
    t.deepEqual(
      logbook.map((x) => [x.channel, x.occurrence_count, x.solved, x.app_id]),
      [
        ['shop.orders', 3, false, 'shop'],
        ['shop.payments', 2, false, 'shop'],
        ['shop.cart', 1, true, 'shop'],
        ['shop.search', 1, false, 'shop'],
      ],
    );
    t.regex(logbook[0]!.record_hash, /^[0-9a-f]{40}$/, 'the hash is stored as text');
    const target = new SqlBackend(server.url, { prefix: 'imported1_' });
    t.teardown(() => target.close());
    await target.open();
    const summary = await importFrom(withPassword, target, 'pg1_');
    t.deepEqual(summary, {
      tickets: 4,
      imported: 7,
      present: 0,
      created: 4,
      solved: 1,
      skippedTickets: 0,
      skippedOccurrences: 0,
    });
    await assertImported(t, target, logbook);
    const before = await contents(target);
    t.like(await importFrom(withPassword, target, 'pg1_'), { imported: 0, present: 7, created: 0, solved: 0 });
    t.deepEqual(await contents(target), before);

    const more = await writeLogbookStore(sqlalchemy, { prefix: 'pg1_', appId: 'shop', round: 'more' });
    t.like(await importFrom(withPassword, target, 'pg1_'), { imported: 4, present: 7, created: 1 });
    await assertImported(t, target, more);
  });

  test.serial('through the built command: a summary line, then nothing new; the password never shows', async (t) => {
    const { withPassword, sqlalchemy } = urls(server);
    await writeLogbookStore(sqlalchemy, { prefix: 'pg2_' });
    const target = `${server.url}`;
    const args = ['import-logbook', '--from', withPassword, '--prefix', 'pg2_', '--db', target];
    const cwd = workdir(t);
    const first = await cli(args, { built: true, cwd });
    const name = `postgres://127.0.0.1:${server.port}/postgres`;
    t.is(first.code, 0, first.stderr);
    t.is(
      first.stdout,
      `7 occurrences imported from ${name} into ${name}; 4 Logbook tickets (4 new here, 1 marked solved); 0 occurrences already there.\n`,
    );
    const second = await cli(args, { built: true, cwd });
    t.is(second.code, 0, second.stderr);
    t.is(
      second.stdout,
      `0 occurrences imported from ${name} into ${name}; 4 Logbook tickets (0 new here, 0 marked solved); 7 occurrences already there.\n`,
    );
    const list = await cli(['list', '--db', target, '--json'], { built: true, cwd });
    t.is((JSON.parse(list.stdout) as unknown[]).length, 4);
    for (const run of [first, second]) {
      t.false(`${run.stdout}${run.stderr}`.includes(PASSWORD));
      t.false(`${run.stdout}${run.stderr}`.includes('Pa55word'));
    }
  });

  test.serial('clear one-line errors without the password: missing tables, no server, no database', async (t) => {
    const { withPassword } = urls(server);
    const cwd = workdir(t);
    const db = ['--db', `sqlite:${cwd}/logtickets.db`];
    const noTables = await cli(['import-logbook', '--from', withPassword, '--prefix', 'nothing_', ...db], {
      built: true,
      cwd,
    });
    t.is(noTables.code, 2);
    t.regex(
      noTables.stderr,
      /^logtickets: no Logbook ticketing tables nothing_tickets and nothing_occurrences in postgres:\/\/127\.0\.0\.1:\d+\/postgres \(try --prefix pg1_ or --prefix pg2_\)\n$/,
    );

    const closed = new URL(withPassword);
    closed.port = String(await freePort());
    const away = await cli(['import-logbook', '--from', closed.href, ...db], { built: true, cwd });
    t.is(away.code, 1);
    t.regex(
      away.stderr,
      /^logtickets: cannot reach the Logbook store at postgres:\/\/127\.0\.0\.1:\d+\/postgres: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/,
    );

    const missing = new URL(withPassword);
    missing.pathname = '/no_such_db';
    const noDb = await cli(['import-logbook', '--from', missing.href, ...db], { built: true, cwd });
    t.is(noDb.code, 2);
    t.regex(
      noDb.stderr,
      /^logtickets: no Logbook store at postgres:\/\/127\.0\.0\.1:\d+\/no_such_db: database "no_such_db" does not exist\n$/,
    );
    for (const run of [noTables, away, noDb]) {
      t.is(run.stdout, '');
      t.false(run.stderr.includes(PASSWORD));
    }
  });
}
