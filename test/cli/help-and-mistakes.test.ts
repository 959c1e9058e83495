/**
 * The CLI's manners, run as users run it (the built command): --version,
 * help for each command, "did you mean" for a mistyped command or flag, a
 * flag the command does not take refused by name, and every error on one
 * line with exit 2 for a mistake in the command line.
 */

import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqlBackend } from '../../src/index.js';
import { hash, occurrence } from '../conformance/backend-suite.js';
import { cli, workdir } from './run-cli.js';

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const COMMANDS = [
  'list',
  'show',
  'occurrences',
  'solve',
  'reopen',
  'mute',
  'unmute',
  'delete',
  'stats',
  'demo',
  'check-config',
  'test-ticket',
  'sync',
  'serve',
  'report',
];

test('--version and -v print the package version, from the built command and from the sources', async (t) => {
  for (const [args, built] of [
    [['--version'], true],
    [['-v'], true],
    [['--version'], false],
  ] as const) {
    const r = await cli([...args], { built });
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, `${version}\n`, `${args.join(' ')} (${built ? 'dist' : 'src'})`);
    t.is(r.stderr, '');
  }
});

test('help COMMAND and COMMAND --help print its usage, options and an example; help alone the overview', async (t) => {
  const overview = await cli(['--help'], { built: true });
  t.is(overview.code, 0);
  t.is((await cli(['help'], { built: true })).stdout, overview.stdout);
  t.regex(overview.stdout, /^Usage: logtickets <command> \[options\]$/m);
  t.regex(overview.stdout, /^ {2}--version, -v\b/m);
  for (const command of COMMANDS) {
    t.regex(overview.stdout, new RegExp(`^ {2}${command}\\b`, 'm'), command);
    const help = await cli(['help', command], { built: true });
    t.is(help.code, 0, `${command}: ${help.stderr}`);
    t.regex(help.stdout, new RegExp(`^Usage: logtickets ${command}\\b`), command);
    t.regex(help.stdout, /^Examples?:$/m, command);
    t.regex(help.stdout, new RegExp(`^ {2}(\\S+=\\S+ )?logtickets ${command}\\b`, 'm'), `${command}: an example`);
    t.regex(help.stdout, /^ {2}--db URI\b/m, `${command}: the store's options`);
    const flag = await cli([command, '--help'], { built: true });
    t.is(flag.code, 0);
    t.is(flag.stdout, help.stdout, `${command} --help is help ${command}`);
  }
  const list = (await cli(['list', '-h'], { built: true })).stdout;
  for (const option of ['--open', '--state STATE', '--min-level NAME', '--order FIELD', '--limit N', '--json']) {
    t.regex(list, new RegExp(`^ {2}${option}\\b`, 'm'), option);
  }
  t.regex((await cli(['help', 'solve'], { built: true })).stdout, /^ {2}--in-release NAME\b/m);
  t.regex((await cli(['help', 'sync'], { built: true })).stdout, /^ {2}--full\b/m);
});

test('no command: the overview and exit 2', async (t) => {
  const r = await cli([], { built: true });
  t.is(r.code, 2);
  t.regex(r.stdout, /^Usage: logtickets/);
});

test('a mistyped command or flag: one line with the nearest that exists, exit 2', async (t) => {
  const cases: Array<[string[], string]> = [
    [['lsit'], 'unknown command "lsit": did you mean "list"?'],
    [['stat'], 'unknown command "stat": did you mean "stats"?'],
    [['help', 'ocurrences'], 'unknown command "ocurrences": did you mean "occurrences"?'],
    [['lsit', '--help'], 'unknown command "lsit": did you mean "list"?'],
    [['frobnicate'], 'unknown command "frobnicate" (see logtickets --help)'],
    [['list', '--lvl', 'ERROR'], 'unknown option --lvl: did you mean --level?'],
    [['list', '--ofset', '5'], 'unknown option --ofset: did you mean --offset?'],
    [['list', '-limit', '5'], 'unknown option -limit: did you mean --limit?'],
    [['show', '1', '--jsno'], 'unknown option --jsno: did you mean --json?'],
    [['solve', '1', '--in-relase', '2.0'], 'unknown option --in-relase: did you mean --in-release?'],
    [['list', '--colour'], 'unknown option --colour (see logtickets help list)'],
    [['show', '1', '--limit', '5'], 'show does not take --limit (see logtickets help show)'],
    [['reopen', '1', '--in-release', '2.0'], 'reopen does not take --in-release (see logtickets help reopen)'],
    [['delete', '1', '--json'], 'delete does not take --json (see logtickets help delete)'],
    [['sync', '-v'], 'sync does not take -v (see logtickets help sync)'],
    [['list', '--limit'], '--limit needs a value: --limit N (see logtickets help list)'],
    [['list', '--limit', '--json'], '--limit needs a value: --limit N (see logtickets help list)'],
    [
      ['list', '--release', '-rc1'],
      '--release needs a value: --release NAME (for one starting with "-", write --release=-rc1)',
    ],
    [['list', '--json=yes'], '--json takes no value, got "yes"'],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args, { built: true });
    t.is(r.code, 2, args.join(' '));
    t.is(r.stderr, `logtickets: ${message}\n`, args.join(' '));
    t.is(r.stdout, '', args.join(' '));
  }
});

test('errors are one line, whatever the text they carry', async (t) => {
  const dir = workdir(t);
  const db = `sqlite:${join(dir, 'tickets.db')}`;
  const store = new SqlBackend(db);
  await store.recordBatch([occurrence({ hash: hash() })]);
  await store.close();
  const cases: Array<[string[], number, RegExp]> = [
    // A store named with a line break in it.
    [['list', '--db', `sqlite:${join(dir, 'one\ntwo.db')}`], 2, /^logtickets: no store at .*one; two\.db \(check --db/],
    [['show', '1', '--db', db, '--release', 'a\nb'], 2, /^logtickets: show does not take --release/],
    [['list', '--db', db, '--release', 'a\nb'], 2, /^logtickets: --release must be one line of 1 to 200 characters/],
    [['list', '--db', db, '--order', 'x\ny'], 2, /^logtickets: orderBy must be one of .*got x; y$/],
  ];
  for (const [args, code, message] of cases) {
    const r = await cli(args, { built: true });
    t.is(r.code, code, args.join(' '));
    t.regex(r.stderr.trimEnd(), message, args.join(' '));
    t.is(r.stderr.trimEnd().split('\n').length, 1, `one line: ${r.stderr}`);
    t.false(/\n\s+at /.test(r.stderr), 'no stack trace');
  }
});
