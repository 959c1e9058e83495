/**
 * What `logtickets --help`, `logtickets help COMMAND` and `logtickets COMMAND
 * --help` print, and the flags each command takes: the options listed in a
 * command's help are the ones the command line accepts for it (args.ts).
 */

import { readFileSync } from 'node:fs';

// Help lines are wrapped to fit a terminal this wide; flags take a column this wide.
const WIDTH = 100;
const FLAG_WIDTH = 21;

interface CommandHelp {
  /** What follows `logtickets ` in the usage line. */
  readonly usage: string;
  readonly about: string;
  /** `--flag VALUE` and what it does; the store's options (--db, --config, --prefix) are added to each. */
  readonly options: ReadonlyArray<readonly [string, string]>;
  readonly examples: readonly string[];
  /** Flags taken but not shown (the demo's own worker processes). */
  readonly hidden?: readonly string[];
  /** The config file is what the command is about: `--config` comes first and is required. */
  readonly needsConfig?: boolean;
  /** `--prefix` is one of the command's own options: the store's prefix then comes from its config only. */
  readonly ownPrefix?: boolean;
}

const TIMEOUT_STATE: readonly [string, string] = [
  '--timeout SECONDS',
  "how long to wait for the config's trackers to carry the change out now (default 20)",
];

const LIST_FILTERS: ReadonlyArray<readonly [string, string]> = [
  ['--open', 'open tickets only (regressed ones included)'],
  ['--solved', 'solved tickets only'],
  ['--muted', 'muted tickets only (left out unless asked for)'],
  ['--state STATE', 'open, solved, regressed or muted'],
  ['--level NAME', 'one level: CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG or TRACE'],
  ['--min-level NAME', 'that level and the ones above it'],
  ['--app ID', "one application's tickets"],
  ['--channel NAME', "one channel's (logger name) tickets"],
  ['--release NAME', 'tickets seen in that release'],
  ['--environment NAME', 'tickets seen in that environment'],
  [
    '--order FIELD',
    'id, lastSeen, firstSeen, occurrenceCount, level or regressionCount; prefix - for descending (default -lastSeen)',
  ],
];

const JSON_FLAG: readonly [string, string] = ['--json', 'machine-readable output (times in UTC, ISO 8601)'];

const TIMES = 'Times are local to the zone TZ names, with its UTC offset, else in UTC.';

export const COMMAND_HELP: Readonly<Record<string, CommandHelp>> = {
  list: {
    usage: 'list [options]',
    about: `Tickets, most recently seen first. Muted tickets are left out unless asked for. ${TIMES}`,
    options: [
      ...LIST_FILTERS,
      ['--limit N', 'at most N tickets (default 50)'],
      ['--offset N', 'skip the first N (default 0)'],
      JSON_FLAG,
    ],
    examples: ['logtickets list --open --min-level ERROR', 'logtickets list --release 2.4.1 --order -occurrenceCount'],
  },
  show: {
    usage: 'show ID [options]',
    about: `One ticket: its fields, and its tickets in the config's trackers. ${TIMES}`,
    options: [JSON_FLAG],
    examples: ['logtickets show 12', 'logtickets show 12 --json --config logtickets.json'],
  },
  occurrences: {
    usage: 'occurrences ID [options]',
    about: `A ticket's occurrences, newest first. ${TIMES}`,
    options: [
      ['--limit N', 'at most N occurrences (default 20)'],
      ['--offset N', 'skip the first N (default 0)'],
      ['--oldest', 'oldest first'],
      JSON_FLAG,
    ],
    examples: ['logtickets occurrences 12 --limit 5', 'logtickets occurrences 12 --oldest --json'],
  },
  solve: {
    usage: 'solve ID [options]',
    about:
      'Mark a ticket solved, here and in its trackers. A recurrence more than a minute later reopens it as a regression; solved in a release, only one from a later release does.',
    options: [
      [
        '--in-release NAME',
        "the release the problem is solved in (default: the newest release the store has seen for the ticket's app)",
      ],
      TIMEOUT_STATE,
    ],
    examples: ['logtickets solve 12', 'logtickets solve 12 --in-release 2.4.2 --config logtickets.json'],
  },
  reopen: {
    usage: 'reopen ID [options]',
    about: 'Mark a solved ticket open again, here and in its trackers.',
    options: [TIMEOUT_STATE],
    examples: ['logtickets reopen 12 --config logtickets.json'],
  },
  mute: {
    usage: 'mute ID [options]',
    about:
      'Never reopen or comment a ticket again: its occurrences are still counted. Its tracker tickets are closed as wontfix (Trac) or not planned (GitHub).',
    options: [TIMEOUT_STATE],
    examples: ['logtickets mute 12 --config logtickets.json'],
  },
  unmute: {
    usage: 'unmute ID [options]',
    about: 'Open a muted ticket again, here and in its trackers.',
    options: [TIMEOUT_STATE],
    examples: ['logtickets unmute 12 --config logtickets.json'],
  },
  delete: {
    usage: 'delete ID [options]',
    about: 'Delete a ticket and its occurrences from the store (its tracker tickets stay).',
    options: [],
    examples: ['logtickets delete 12 --db sqlite:./logtickets.db'],
  },
  stats: {
    usage: 'stats [options]',
    about: 'Counts of tickets by state and level, the busiest ticket, and the deliveries waiting in the outbox.',
    options: [JSON_FLAG],
    examples: ['logtickets stats', 'logtickets stats --json --db postgres://logtickets@db.internal/shop'],
  },
  demo: {
    usage: 'demo [options]',
    about: 'Run a small simulated shop in a few processes that log into the store, then list the tickets.',
    options: [
      ['--processes N', 'how many shop processes (1 to 16, default 2)'],
      ['--rounds N', 'requests each process serves (default 40)'],
    ],
    examples: ['logtickets demo', 'logtickets demo --processes 4 --rounds 100 --db sqlite:./demo.db'],
    hidden: ['worker'],
  },
  'check-config': {
    usage: 'check-config --config PATH [options]',
    about:
      'Validate the config file (one FAIL line per problem, exit 2), then check the store (read-only) and each tracker for real, one line per check (exit 1 if one fails). It changes nothing.',
    options: [],
    examples: ['logtickets check-config --config logtickets.json'],
    needsConfig: true,
  },
  'test-ticket': {
    usage: 'test-ticket --config PATH [options]',
    about:
      'Send one synthetic WARNING record through the handler, the store, the outbox and the trackers, then print where its ticket landed. Repeated runs add occurrences to one ticket.',
    options: [['--timeout SECONDS', 'how long to wait for the store and each tracker (default 60)']],
    examples: ['logtickets test-ticket --config logtickets.json --timeout 120'],
    needsConfig: true,
  },
  sync: {
    usage: 'sync --config PATH [options]',
    about:
      'Deliver what waits in the outbox to the trackers, then exit: 0 when nothing is left, 1 when something still waits. Progress is a bar on a terminal, a line every few seconds otherwise.',
    options: [
      ['--timeout SECONDS', 'give up after this long (default 300)'],
      ['--full', "first re-read every linked ticket's state in the trackers"],
    ],
    examples: ['logtickets sync --config logtickets.json', 'logtickets sync --full --config logtickets.json'],
    needsConfig: true,
  },
  serve: {
    usage: 'serve [options]',
    about: 'A web dashboard of the store: how often each problem happens, over time. Ctrl-C stops it.',
    options: [
      ['--host ADDRESS', 'the address to listen on (default 127.0.0.1)'],
      ['--port N', 'the port (default 7070; 0: any free one)'],
      ['--token TOKEN', 'sign-in token (also LOGTICKETS_TOKEN); required on any address but loopback'],
      ['--allow-writes', 'solve, reopen and mute buttons (the store is opened for writing)'],
    ],
    examples: ['logtickets serve', 'LOGTICKETS_TOKEN=s3cret logtickets serve --host 0.0.0.0 --port 8080'],
  },
  report: {
    usage: 'report --out FILE [options]',
    about: "The dashboard's views as one self-contained HTML file (no network needed to open it).",
    options: [
      ['--out FILE', 'the HTML file to write (required)'],
      ['--period PERIOD', '24h, 7d or 30d (default 7d)'],
      ['--from TIME', 'start of a period of your own (ISO 8601; with --to)'],
      ['--to TIME', 'its end (ISO 8601)'],
      ['--search TEXT', 'tickets whose title contains TEXT (ignoring case)'],
      ...LIST_FILTERS,
    ],
    examples: [
      'logtickets report --out report.html',
      'logtickets report --out errors.html --period 30d --min-level ERROR --app shop',
    ],
  },
  'import-logbook': {
    usage: 'import-logbook --from URI [options]',
    about:
      "Import a Logbook (Python) ticketing store's tickets and occurrences into the store, keeping Logbook's hashes, levels, channels, locations, counts, times and solved states. Running it again imports only what is new. Problems with single tickets are printed and the rest is imported (exit 1); progress is a bar on a terminal. Imported tickets are not sent to trackers.",
    options: [
      ['--from URI', 'the Logbook store: sqlite:///PATH, a file path, or postgresql://USER@HOST/DB (required)'],
      [
        '--prefix PREFIX',
        "the Logbook tables' name prefix (default logbook_); the store's own prefix comes from its config",
      ],
    ],
    examples: [
      'logtickets import-logbook --from sqlite:////srv/app/tickets.db --db sqlite:./logtickets.db',
      'logtickets import-logbook --from postgresql://app@db.internal/app --prefix shop_ --config logtickets.json',
    ],
    ownPrefix: true,
  },
};

const STORE_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  [
    '--db URI',
    "the store: sqlite:PATH, postgres://…, mongodb://… (also LOGTICKETS_DB; default: the config's store, else sqlite:./logtickets.db)",
  ],
  ['--config PATH', 'a logtickets config file (also LOGTICKETS_CONFIG); see config.example.json'],
  ['--prefix PREFIX', 'table/collection name prefix of the store (default logtickets_)'],
];

const NEEDED_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['--config PATH', 'the logtickets config file (also LOGTICKETS_CONFIG); see config.example.json'],
  ['--db URI', "another store than the config's: sqlite:PATH, postgres://…, mongodb://…"],
  ['--prefix PREFIX', 'table/collection name prefix of the store (default logtickets_)'],
];

export const COMMANDS: readonly string[] = Object.keys(COMMAND_HELP);

const summaries: ReadonlyArray<readonly [string, string]> = [
  ['list', 'tickets, most recently seen first'],
  ['show ID', 'one ticket'],
  ['occurrences ID', "a ticket's occurrences, newest first"],
  ['solve ID', 'mark a ticket solved, here and in its trackers'],
  ['reopen ID', 'mark a ticket open again, here and in its trackers'],
  ['mute ID', 'never reopen or comment it again (closed as wontfix / not planned)'],
  ['unmute ID', 'open a muted ticket again'],
  ['delete ID', 'delete a ticket and its occurrences'],
  ['stats', 'counts by state and level'],
  ['demo', 'run a small simulated service that logs into the store, then list'],
  ['check-config', 'validate the config file, then check the store and each tracker for real'],
  ['test-ticket', 'send one synthetic record end to end; print where its ticket landed'],
  ['sync', 'deliver what waits in the outbox to the trackers, then exit'],
  ['serve', 'a web dashboard of the store: how often each problem happens, over time'],
  ['report --out FILE', "the dashboard's views as one self-contained HTML file"],
  ['import-logbook', 'import the tickets of a Logbook (Python) ticketing store'],
];

export const OVERVIEW = [
  'Usage: logtickets <command> [options]',
  '',
  'Commands:',
  ...table(summaries),
  '',
  'Options:',
  ...table(STORE_OPTIONS),
  ...table([
    ['--help, -h', "this text; after a command, that command's options and examples"],
    ['--version, -v', 'the version of logtickets'],
  ]),
  '',
  'Run `logtickets help COMMAND` (or `logtickets COMMAND --help`) for its options and examples.',
].join('\n');

/** The help of one command (a name from COMMANDS). */
export function commandHelp(command: string): string {
  const help = COMMAND_HELP[command]!;
  return [
    `Usage: logtickets ${help.usage}`,
    '',
    ...wrap(help.about, WIDTH),
    '',
    ...(help.options.length === 0 ? [] : ['Options:', ...table(help.options), '']),
    help.needsConfig === true ? 'The config and its store:' : 'The store:',
    ...table(
      (help.needsConfig === true ? NEEDED_CONFIG : STORE_OPTIONS).filter(
        ([flag]) => help.ownPrefix !== true || !flag.startsWith('--prefix '),
      ),
    ),
    ...table([['--help, -h', 'this text']]),
    '',
    help.examples.length === 1 ? 'Example:' : 'Examples:',
    ...help.examples.map((e) => `  ${e}`),
  ].join('\n');
}

const STORE_FLAGS = ['db', 'config', 'prefix', 'help'];

/** The flags (long names) a command takes. */
export function commandFlags(command: string): ReadonlySet<string> {
  const help = COMMAND_HELP[command]!;
  const named = help.options.map(([flag]) => /^--([a-z-]+)/.exec(flag)?.[1]).filter((f) => f !== undefined);
  return new Set([...named, ...(help.hidden ?? []), ...STORE_FLAGS]);
}

/** Flags and what they do, in two columns; a long text goes on over more lines of its column. */
function table(rows: ReadonlyArray<readonly [string, string]>): string[] {
  return rows.flatMap(([flag, text]) => {
    const [first = '', ...more] = wrap(text, WIDTH - FLAG_WIDTH - 2);
    const head = `  ${flag.padEnd(FLAG_WIDTH - 1)} `;
    return [
      flag.length >= FLAG_WIDTH - 1 ? `  ${flag}` : `${head}${first}`,
      ...(flag.length >= FLAG_WIDTH - 1 ? [first] : []).map((l) => `${' '.repeat(FLAG_WIDTH + 2)}${l}`),
      ...more.map((l) => `${' '.repeat(FLAG_WIDTH + 2)}${l}`),
    ];
  });
}

/** Text broken into lines of at most `width` characters, between words. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The version in the package.json beside dist/ (or src/, run from the sources). */
export function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown');
}
