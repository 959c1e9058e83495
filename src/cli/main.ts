#!/usr/bin/env node
/**
 * The `logtickets` command: reads and changes tickets in a store, and runs the
 * demo. Every error is one line on stderr and a non-zero exit: 2 for a
 * mistake in the command line, 1 for a failure of the store.
 */

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isSqlUri, parseSqlUri } from '../backends/sql/sql-uri.js';
import type { TicketBackend } from '../backends/contract.js';
import { defaultStoreUri, openBackend } from '../backends/open-backend.js';
import { LogticketsError, maskSecrets } from '../errors.js';
import { runDemo } from '../demo/run-demo.js';
import { list, occurrences, remove, reopen, show, solve, stats, type Flags } from './ticket-commands.js';
import { UsageError } from './usage-error.js';

const USAGE = `Usage: logtickets <command> [options]

Commands:
  list                 tickets, most recent first
  show ID              one ticket
  occurrences ID       a ticket's occurrences, newest first
  solve ID             mark a ticket solved (it reopens as a regression if it recurs)
  reopen ID            mark a ticket open again
  delete ID            delete a ticket and its occurrences
  stats                counts by state and level
  demo                 run a small simulated service that logs into the store, then list

Options:
  --db URI             the store: sqlite:PATH, postgres://..., mongodb://... (default:
                       sqlite:./logtickets.db; also LOGTICKETS_DB)
  --prefix PREFIX      table/collection name prefix of the store (default logtickets_)
  --json               machine-readable output (list, show, occurrences, stats)
  --help               this text

list:         --open | --solved, --level NAME, --min-level NAME, --app ID, --channel NAME,
              --order FIELD (id, lastSeen, firstSeen, occurrenceCount, level, regressionCount;
              prefix - for descending; default -lastSeen), --limit N (50), --offset N (0)
occurrences:  --limit N (20), --offset N (0), --oldest
demo:         --processes N (2), --rounds N (40)`;

const OPTIONS = {
  db: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  open: { type: 'boolean' },
  solved: { type: 'boolean' },
  level: { type: 'string' },
  'min-level': { type: 'string' },
  app: { type: 'string' },
  channel: { type: 'string' },
  order: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  oldest: { type: 'boolean' },
  processes: { type: 'string' },
  rounds: { type: 'string' },
  worker: { type: 'string' },
} as const;

const NEEDS_ID = new Set(['show', 'occurrences', 'solve', 'reopen', 'delete']);
const COMMANDS = new Set([...NEEDS_ID, 'list', 'stats', 'demo']);

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
    const uri = values.db ?? process.env.LOGTICKETS_DB ?? defaultStoreUri();
    if (command === 'demo') {
      process.stdout.write(`${await runDemo(uri, flags)}\n`);
      return 0;
    }
    const id = NEEDS_ID.has(command) ? ticketId(rest[0]) : 0;
    const extra = rest.slice(NEEDS_ID.has(command) ? 1 : 0);
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    mustExist(uri);
    backend = openBackend(uri, values.prefix === undefined ? {} : { prefix: values.prefix });
    await backend.open();
    const output = await run(command, backend, id, flags);
    process.stdout.write(`${output}\n`);
    return 0;
  } catch (error) {
    return fail(error);
  } finally {
    await backend?.close();
  }
}

function run(command: string, backend: TicketBackend, id: number, flags: Flags): Promise<string> {
  switch (command) {
    case 'list':
      return list(backend, flags);
    case 'show':
      return show(backend, id, flags);
    case 'occurrences':
      return occurrences(backend, id, flags);
    case 'solve':
      return solve(backend, id);
    case 'reopen':
      return reopen(backend, id);
    case 'delete':
      return remove(backend, id);
    default:
      return stats(backend, flags);
  }
}

/** Reading a SQLite store that is not there would create an empty one and hide a typo. */
function mustExist(uri: string): void {
  if (!isSqlUri(uri)) return;
  const target = parseSqlUri(uri);
  if (target.dialect === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)) {
    throw new UsageError(`no store at ${target.path} (check --db, or log something into it first)`);
  }
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
    return error.code === 'INVALID_ARGUMENT' ||
      error.code === 'INVALID_URI' ||
      error.code === 'UNSUPPORTED_URI' ||
      error.code === 'TICKET_NOT_FOUND'
      ? 2
      : 1;
  }
  process.stderr.write(`logtickets: ${maskSecrets(error instanceof Error ? error.message : String(error))}\n`);
  return 1;
}

process.exitCode = await main(process.argv.slice(2));
