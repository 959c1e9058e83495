/**
 * Reading never writes, on SQLite, through the built command: list, show,
 * occurrences and stats leave every byte, modification time and the journal
 * mode of the store as they were and create no file (no -wal, no -shm); a
 * store file that is not there is an error in every command; a file that is
 * not a logtickets store (or of another prefix or version) is a clear one-line
 * error naming what is missing, and changes nothing either.
 */

import test from 'ava';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlBackend } from '../../src/index.js';
import { hash, occurrence } from '../conformance/backend-suite.js';
import { cli, workdir } from './run-cli.js';

const READS: ReadonlyArray<readonly string[]> = [
  ['list'],
  ['list', '--json', '--solved'],
  ['stats'],
  ['stats', '--json'],
  ['show', '1'],
  ['show', '1', '--json'],
  ['occurrences', '1'],
  ['occurrences', '1', '--oldest', '--json'],
  ['show', '999'],
  ['occurrences', '999'],
];

/**
 * Every file of a directory: its bytes (hashed), size and modification time.
 * Of a -shm file only that it is there: it is SQLite's shared memory, where
 * every reader, read-only or not, takes its read lock.
 */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (name.endsWith('-shm')) {
      out[name] = 'shared memory';
      continue;
    }
    const stat = statSync(path);
    const sha = createHash('sha256').update(readFileSync(path)).digest('hex');
    out[name] = `${sha} ${stat.size} ${stat.mtimeMs}`;
  }
  return out;
}

/** The journal mode an SQLite file's header says (bytes 18 and 19: 2 is WAL). */
function journal(path: string): string {
  const header = readFileSync(path).subarray(0, 100);
  return header[18] === 2 && header[19] === 2 ? 'wal' : 'rollback';
}

async function writeStore(path: string, prefix?: string): Promise<void> {
  const writer = new SqlBackend(`sqlite:${path}`, prefix === undefined ? {} : { prefix });
  const h = hash();
  await writer.recordBatch([occurrence({ hash: h }), occurrence({ hash: h, time: '2025-03-01T10:00:05.000Z' })]);
  await writer.close();
}

test('list, show, occurrences and stats change no byte, no mtime, no journal mode, and create no file', async (t) => {
  const dir = workdir(t);
  const db = join(dir, 'tickets.db');
  await writeStore(db);
  t.deepEqual(readdirSync(dir), ['tickets.db']);
  const states = [
    { name: 'closed store', open: async () => undefined },
    {
      // A writer has the store open (its -wal and -shm files exist) and sits idle.
      name: 'a writer holds it open',
      open: async () => {
        const writer = new SqlBackend(`sqlite:${db}`);
        t.teardown(() => writer.close());
        await writer.recordBatch([occurrence({ hash: hash() })]);
      },
    },
  ];
  for (const state of states) {
    await state.open();
    const before = files(dir);
    for (const args of READS) {
      const what = `${state.name}: ${args.join(' ')}`;
      const r = await cli([...args, '--db', `sqlite:${db}`], { built: true });
      t.is(r.code, args[1] === '999' ? 2 : 0, `${what}: ${r.stderr}`);
      t.deepEqual(files(dir), before, `${what}: the directory is as it was`);
      t.is(journal(db), 'wal', what);
    }
  }
});

test('a SQLite store that is not there is an error in every command, and no file is made', async (t) => {
  const dir = workdir(t);
  const missing = join(dir, 'typo.db');
  const commands = [
    ['list'],
    ['stats'],
    ['show', '1'],
    ['occurrences', '1'],
    ['solve', '1'],
    ['reopen', '1'],
    ['delete', '1'],
  ];
  for (const args of commands) {
    const r = await cli([...args, '--db', `sqlite:${missing}`], { built: true });
    t.is(r.code, 2, args.join(' '));
    t.is(r.stderr, `logtickets: no store at ${missing} (check --db, or log something into it first)\n`, args.join(' '));
  }
  const config = join(dir, 'logtickets.json');
  writeFileSync(config, JSON.stringify({ store: 'sqlite:./typo.db' }));
  const check = await cli(['check-config', '--config', config], { built: true });
  t.is(check.code, 1);
  t.regex(
    check.stdout,
    /^FAIL\s+sqlite:.*typo\.db: store reachable — no store at .*typo\.db \(check the config's store/m,
  );
  for (const command of ['sync', 'test-ticket']) {
    const r = await cli([command, '--config', config], { built: true });
    t.is(r.code, 2, command);
    t.is(
      r.stderr,
      `logtickets: no store at ${missing} (check the config's store or --db, or log something into it first)\n`,
    );
    const other = await cli([command, '--config', config, '--db', `sqlite:${join(dir, 'other.db')}`], { built: true });
    t.regex(other.stderr, /^logtickets: no store at .*other\.db \(check --db/, `${command} --db`);
  }
  t.deepEqual(readdirSync(dir), ['logtickets.json'], 'no store was created');
});

interface Foreign {
  readonly name: string;
  make(path: string): Promise<void>;
  readonly prefix?: string;
  readonly code: number;
  readonly message: RegExp;
}

const sqlite = (path: string, statements: string) => {
  const handle = new Database(path);
  handle.exec(statements);
  handle.close();
};

const FOREIGN: readonly Foreign[] = [
  {
    name: 'an empty file',
    make: async (p) => writeFileSync(p, ''),
    code: 2,
    message: /no table logtickets_tickets in/,
  },
  {
    name: 'a text file',
    make: async (p) => writeFileSync(p, 'these are not the tickets you are looking for\n'.repeat(10)),
    code: 2,
    message: /is not an SQLite database, so not a logtickets store/,
  },
  {
    name: 'another program’s database',
    make: async (p) => sqlite(p, 'create table people (name text); insert into people values (1)'),
    code: 2,
    message:
      /no table logtickets_tickets in sqlite:.*: not a logtickets store, or one written with another prefix( \[|$)/m,
  },
  {
    name: 'a logtickets store of another prefix',
    make: (p) => writeStore(p, 'ops_'),
    code: 2,
    message: /no table logtickets_tickets in .*\(it has logtickets tables with prefix ops_\)/,
  },
  {
    name: 'a logtickets store read with a wrong --prefix',
    make: (p) => writeStore(p),
    prefix: 'shop_',
    code: 2,
    message: /no table shop_tickets in .*\(it has logtickets tables with prefix logtickets_\)/,
  },
  {
    name: 'another program’s table of the same name',
    make: async (p) => sqlite(p, 'create table logtickets_tickets (id integer, what text)'),
    code: 2,
    message: /table logtickets_tickets in .* was not made by logtickets \(no schema version in logtickets_meta\)/,
  },
  {
    name: 'a store of a newer version',
    make: async (p) => {
      await writeStore(p);
      sqlite(p, "update logtickets_meta set value = '99' where key = 'schema_version'");
    },
    code: 1,
    message: /schema version is 99 but this logtickets knows version 5: upgrade logtickets/,
  },
  {
    name: 'a store missing a column',
    make: async (p) => {
      await writeStore(p);
      sqlite(p, 'alter table logtickets_tickets drop column regression_count');
    },
    code: 2,
    message: /table logtickets_tickets in .* has no column regression_count/,
  },
];

for (const foreign of FOREIGN) {
  test(`not our store — ${foreign.name}: a clear error in every command, and nothing changes`, async (t) => {
    const dir = workdir(t);
    const db = join(dir, 'store.db');
    await foreign.make(db);
    const before = files(dir);
    const prefix = foreign.prefix === undefined ? [] : ['--prefix', foreign.prefix];
    for (const args of [['list'], ['stats', '--json'], ['occurrences', '1'], ['solve', '1'], ['delete', '1']]) {
      const r = await cli([...args, '--db', `sqlite:${db}`, ...prefix], { built: true });
      t.is(r.code, foreign.code, `${args.join(' ')}: ${r.stderr}`);
      t.regex(r.stderr, foreign.message, args.join(' '));
      t.is(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
      t.is(r.stdout, '', args.join(' '));
    }
    const config = join(dir, 'logtickets.json');
    writeFileSync(config, JSON.stringify({ store: { uri: 'sqlite:./store.db', prefix: foreign.prefix } }));
    const check = await cli(['check-config', '--config', config], { built: true });
    // check-config reports the store like any live check: a FAIL line, exit 1.
    t.is(check.code, 1, check.stdout);
    t.regex(check.stdout.split('\n')[1] ?? '', /^FAIL\s+sqlite:.*store\.db: store reachable — /);
    t.regex(check.stdout, foreign.message);
    t.deepEqual(files(dir), { ...before, 'logtickets.json': files(dir)['logtickets.json']! }, 'no byte changed');
  });
}
