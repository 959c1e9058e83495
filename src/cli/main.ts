#!/usr/bin/env node
/**
 * The `logtickets` command: reads and changes tickets in a store, checks and
 * exercises a configuration, delivers the outbox, and runs the demo. Every
 * error is one line on stderr (an invalid config: one line per problem) and a
 * non-zero exit: 2 for a mistake in the command line or the config file, 1
 * for a failure of the store or a tracker.
 *
 * The store is, first match wins: --db, the store of --config, LOGTICKETS_DB,
 * the store of LOGTICKETS_CONFIG, sqlite:./logtickets.db. list, show,
 * occurrences and stats open it read-only (they create and change nothing),
 * solve, reopen, mute, unmute and delete write only into a store that exists
 * (a state change is also queued for the config's trackers), and a SQLite
 * store file that is not there is an error in every command but the demo.
 */

import { parseArgs } from 'node:util';
import type { TicketBackend } from '../backends/contract.js';
import type { LinkedTracker } from '../backends/tracker/ticket-links.js';
import { LogticketsError, maskSecrets } from '../errors.js';
import { runDemo } from '../demo/run-demo.js';
import { list, occurrences, remove, show, stats, type Flags } from './ticket-commands.js';
import { changeTicketState, STATE_COMMANDS } from './state-commands.js';
import { UsageError } from './usage-error.js';
import { checkConfig, sync, testTicket, type CliSetup, type CommandResult } from './config-commands.js';
import { loadConfig } from '../config/load-config.js';
import { linkedTrackers } from '../config/tracker-links.js';
import { chooseStore, mustExist, openStore, whereNamed } from './store-access.js';
import { report, serve } from './web-commands.js';

const USAGE = `Usage: logtickets <command> [options]

Commands:
  list                 tickets, most recent first
  show ID              one ticket
  occurrences ID       a ticket's occurrences, newest first
  solve ID             mark a ticket solved, here and in its trackers (a recurrence more than
                       a minute later reopens it as a regression; solved in a release, only
                       one from a later release does)
  reopen ID            mark a ticket open again, here and in its trackers
  mute ID              never reopen or comment it again (closed as wontfix / not planned)
  unmute ID            open a muted ticket again
  delete ID            delete a ticket and its occurrences
  stats                counts by state and level
  demo                 run a small simulated service that logs into the store, then list
  check-config         validate the config file, then check the store and each tracker for real
  test-ticket          send one synthetic record end to end; print where its ticket landed
  sync                 deliver what waits in the outbox to the trackers, then exit;
                       --full also re-reads every linked ticket's state in the trackers
  serve                a web dashboard of the store: how often each problem happens, over time
  report --out FILE    the dashboard's views as one self-contained HTML file

Options:
  --config PATH        a logtickets config file (also LOGTICKETS_CONFIG); see config.example.json
  --db URI             the store: sqlite:PATH, postgres://..., mongodb://... (default: the
                       config's store, else sqlite:./logtickets.db; also LOGTICKETS_DB)
  --prefix PREFIX      table/collection name prefix of the store (default logtickets_)
  --json               machine-readable output (list, show, occurrences, stats)
  --help               this text

list:         --open | --solved | --muted | --state STATE (open, solved, regressed, muted;
              muted tickets are left out unless asked), --level NAME, --min-level NAME, --app ID, --channel NAME,
              --release NAME (seen in that release), --environment NAME (seen in that environment),
              --order FIELD (id, lastSeen, firstSeen, occurrenceCount, level, regressionCount;
              prefix - for descending; default -lastSeen), --limit N (50), --offset N (0)
occurrences:  --limit N (20), --offset N (0), --oldest
demo:         --processes N (2), --rounds N (40)
test-ticket:  --timeout SECONDS (60)      sync: --timeout SECONDS (300), --full
solve, reopen, mute, unmute: --timeout SECONDS (20) to deliver the change to the trackers now
solve:        --in-release NAME: the release the problem is solved in (default: the newest
              release the store has seen for the ticket's app)
serve:        --host ADDRESS (127.0.0.1), --port N (7070), --token TOKEN (also LOGTICKETS_TOKEN;
              required on any address but loopback), --allow-writes (solve, reopen, mute buttons)
report:       --out FILE, --period 24h|7d|30d (7d) or --from TIME --to TIME, --search TEXT, and
              list's filters (--state, --level, --app, --channel, --release, --environment, --order)`;

const OPTIONS = {
  db: { type: 'string' },
  config: { type: 'string' },
  timeout: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  open: { type: 'boolean' },
  solved: { type: 'boolean' },
  muted: { type: 'boolean' },
  state: { type: 'string' },
  full: { type: 'boolean' },
  level: { type: 'string' },
  'min-level': { type: 'string' },
  app: { type: 'string' },
  channel: { type: 'string' },
  release: { type: 'string' },
  environment: { type: 'string' },
  'in-release': { type: 'string' },
  order: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  oldest: { type: 'boolean' },
  processes: { type: 'string' },
  rounds: { type: 'string' },
  worker: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  'allow-writes': { type: 'boolean' },
  out: { type: 'string' },
  period: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  search: { type: 'string' },
} as const;

const NEEDS_ID = new Set(['show', 'occurrences', 'delete', ...Object.keys(STATE_COMMANDS)]);
const READS = new Set(['list', 'show', 'occurrences', 'stats', 'report']);
const CONFIG_COMMANDS = new Set(['check-config', 'test-ticket', 'sync']);
const COMMANDS = new Set([...NEEDS_ID, ...CONFIG_COMMANDS, 'list', 'stats', 'demo', 'serve', 'report']);

export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    return fail(new UsageError((error as Error).message.split('\n')[0]!));
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  let backend: TicketBackend | undefined;
  try {
    if (!COMMANDS.has(command))
      throw new UsageError(`unknown command ${JSON.stringify(command)} (see logtickets --help)`);
    const flags = values as Flags;
    const id = NEEDS_ID.has(command) ? ticketId(rest[0]) : 0;
    const extra = rest.slice(NEEDS_ID.has(command) ? 1 : 0);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const setup = cliSetup(values);
    if (CONFIG_COMMANDS.has(command)) {
      // check-config reports a missing store as one of its checks.
      if (command !== 'check-config') configStoreMustExist(setup);
      const result = await runConfigCommand(command, setup, flags);
      if (result.output !== '') process.stdout.write(`${result.output}\n`);
      return result.code;
    }
    // Store commands read only the config's store: listing tickets needs no tracker credentials.
    const loaded =
      setup.configPath === undefined ? undefined : loadConfig(setup.configPath, { storeOnly: command !== 'demo' });
    const store = chooseStore(setup, loaded?.config);
    if (command === 'demo') {
      process.stdout.write(`${await runDemo(store.uri, flags, setup.configPath)}\n`);
      return 0;
    }
    mustExist(store.uri, whereNamed(setup));
    const reads = READS.has(command) || (command === 'serve' && values['allow-writes'] !== true);
    backend = openStore(store, reads ? 'read' : 'change');
    await backend.open();
    const trackers = linkedTrackers(loaded?.config);
    if (command === 'serve') {
      await serve(backend, flags, trackers, (line) => process.stdout.write(`${line}\n`));
      return 0;
    }
    const output =
      STATE_COMMANDS[command] === undefined
        ? await run(command, backend, id, flags, trackers)
        : await changeTicketState(command, backend, id, flags, trackers, setup);
    process.stdout.write(`${output}\n`);
    return 0;
  } catch (error) {
    return fail(error);
  } finally {
    await backend?.close();
  }
}

/**
 * Flags before environment: --db and --config name the store and config;
 * LOGTICKETS_DB and LOGTICKETS_CONFIG apply only where no flag said otherwise.
 */
function cliSetup(values: { db?: string; config?: string; prefix?: string }): CliSetup {
  const envConfig = process.env.LOGTICKETS_CONFIG || undefined;
  const envDb = process.env.LOGTICKETS_DB || undefined;
  const configPath = values.config ?? envConfig;
  // LOGTICKETS_DB does not override a config given on the command line.
  const storeUri = values.db ?? (values.config === undefined ? envDb : undefined);
  // It does apply when that config names no store: --db, the config's store, LOGTICKETS_DB, ...
  const envStoreUri = values.db === undefined && values.config !== undefined ? envDb : undefined;
  return { configPath, storeUri, prefix: values.prefix, envStoreUri };
}

function runConfigCommand(command: string, setup: CliSetup, flags: Flags): Promise<CommandResult> {
  switch (command) {
    case 'check-config':
      return checkConfig(setup);
    case 'test-ticket':
      return testTicket(setup, flags);
    default:
      return sync(setup, flags);
  }
}

function run(
  command: string,
  backend: TicketBackend,
  id: number,
  flags: Flags,
  trackers: readonly LinkedTracker[],
): Promise<string> {
  switch (command) {
    case 'list':
      return list(backend, flags, trackers);
    case 'show':
      return show(backend, id, flags, trackers);
    case 'occurrences':
      return occurrences(backend, id, flags);
    case 'delete':
      return remove(backend, id);
    case 'report':
      return report(backend, flags, trackers);
    default:
      return stats(backend, flags);
  }
}

/**
 * sync and test-ticket write through the config's store: a SQLite file that
 * is not there is a mistake in the config or --db, not a store to create.
 * An unreadable config is left to the command, which reports every problem.
 */
function configStoreMustExist(setup: CliSetup): void {
  if (setup.configPath === undefined) return;
  let config;
  try {
    config = loadConfig(setup.configPath, { storeOnly: true }).config;
  } catch {
    return;
  }
  mustExist(chooseStore(setup, config).uri, whereNamed(setup));
}

function ticketId(value: string | undefined): number {
  if (value === undefined) throw new UsageError('a ticket ID is required');
  if (!/^[1-9]\d{0,15}$/.test(value))
    throw new UsageError(`ticket ID must be a positive integer, got ${JSON.stringify(value)}`);
  return Number(value);
}

function fail(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`logtickets: ${maskSecrets(error.message)}\n`);
    return 2;
  }
  if (error instanceof LogticketsError) {
    const where = error.backend ? ` [${error.backend}]` : '';
    process.stderr.write(`logtickets: ${error.message}${where}\n`);
    // A store that is not there (or not a logtickets store) was named by mistake.
    return error.code === 'INVALID_ARGUMENT' ||
      error.code === 'INVALID_CONFIG' ||
      error.code === 'INVALID_URI' ||
      error.code === 'UNSUPPORTED_URI' ||
      error.code === 'TICKET_NOT_FOUND' ||
      error.code === 'STORE_NOT_FOUND' ||
      error.code === 'DRIVER_MISSING' ||
      error.code === 'SCHEMA_MISMATCH'
      ? 2
      : 1;
  }
  process.stderr.write(`logtickets: ${maskSecrets(error instanceof Error ? error.message : String(error))}\n`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
