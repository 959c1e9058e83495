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
 * store file that is not there is an error in every command but the demo
 * and import-logbook (which start one).
 */

import type { TicketBackend } from '../backends/contract.js';
import type { LinkedTracker } from '../backends/tracker/ticket-links.js';
import { LogticketsError, maskSecrets } from '../errors.js';
import { runDemo } from '../demo/run-demo.js';
import { list, occurrences, remove, show, stats, type Flags } from './ticket-commands.js';
import { changeTicketState, STATE_COMMANDS } from './state-commands.js';
import { UsageError } from './usage-error.js';
import { readCommandLine, type CommandLine } from './args.js';
import { oneLineMessage } from './format.js';
import { commandHelp, OVERVIEW, packageVersion } from './help.js';
import { checkConfig, sync, testTicket, type CliSetup, type CommandResult } from './config-commands.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { linkedTrackers } from '../config/tracker-links.js';
import { chooseStore, mustExist, openStore, whereNamed } from './store-access.js';
import { report, serve } from './web-commands.js';
import { importLogbookCommand } from './import-command.js';

const NEEDS_ID = new Set(['show', 'occurrences', 'delete', ...Object.keys(STATE_COMMANDS)]);
const READS = new Set(['list', 'show', 'occurrences', 'stats', 'report']);
const CONFIG_COMMANDS = new Set(['check-config', 'test-ticket', 'sync']);

export async function main(argv: readonly string[]): Promise<number> {
  let line: CommandLine;
  try {
    line = readCommandLine(argv);
  } catch (error) {
    return fail(error);
  }
  if (line.kind === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (line.kind === 'help') {
    process.stdout.write(`${line.command === undefined ? OVERVIEW : commandHelp(line.command)}\n`);
    return line.code;
  }
  const { command, args: rest, flags } = line;
  const values = flags as { db?: string; config?: string; prefix?: string; 'allow-writes'?: boolean };
  let backend: TicketBackend | undefined;
  try {
    const id = NEEDS_ID.has(command) ? ticketId(rest[0]) : 0;
    const extra = rest.slice(NEEDS_ID.has(command) ? 1 : 0);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    // import-logbook's --prefix names the Logbook tables: its store's prefix comes from the config.
    const setup = cliSetup(command === 'import-logbook' ? { ...values, prefix: undefined } : values);
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
    if (command === 'import-logbook') {
      const result = await importLogbookCommand(store, flags, loaded?.config);
      process.stdout.write(`${result.output}\n`);
      return result.code;
    }
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
  // One line, whatever a store, a driver or a tracker put in its message; never a stack trace.
  const say = (message: string) => process.stderr.write(`logtickets: ${oneLineMessage(maskSecrets(message))}\n`);
  if (error instanceof UsageError) {
    say(error.message);
    return 2;
  }
  if (error instanceof ConfigError) {
    // The one error of more than one line: a config file's problems, one line each.
    say(error.message.split('\n')[0]!);
    for (const problem of error.problems) process.stderr.write(`  - ${oneLineMessage(maskSecrets(problem))}\n`);
    return 2;
  }
  if (error instanceof LogticketsError) {
    say(`${error.message}${error.backend ? ` [${error.backend}]` : ''}`);
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
  say(error instanceof Error ? error.message : String(error));
  return 1;
}

// What escapes a command (a driver's error event, a timer's callback) ends it with one line too.
const crash = (error: unknown) => process.exit(fail(error) === 2 ? 2 : 1);
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

process.exitCode = await main(process.argv.slice(2));
