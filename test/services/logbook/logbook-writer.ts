/**
 * Logbook stores written by the real Logbook (Python, from PyPI), for the
 * import tests: provision.sh makes a venv in <repo>/.cache/logbook-venv once
 * (later runs only check it), and write_store.py writes a store through
 * Logbook's own TicketingHandler, then prints it as Logbook reads it back.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const venv = `${root}.cache/logbook-venv`;
const here = fileURLToPath(new URL('.', import.meta.url));

/** A ticket as Logbook's backend reads it back (times: naive UTC, ISO, to the microsecond). */
export interface LogbookTicketView {
  readonly ticket_id: number;
  readonly record_hash: string;
  readonly level: number;
  readonly channel: string;
  readonly location: string;
  readonly module: string;
  readonly last_occurrence_time: string;
  readonly occurrence_count: number;
  readonly solved: boolean;
  readonly app_id: string;
  readonly occurrences: ReadonlyArray<{
    readonly occurrence_id: number;
    readonly time: string;
    readonly message: string;
    readonly msg: string;
    readonly args: unknown[];
    readonly kwargs: Record<string, unknown>;
    readonly filename: string;
    readonly lineno: number;
    readonly func_name: string;
    readonly exception_name: string | null;
    readonly exception_message: string | null;
  }>;
}

export interface WriteOptions {
  readonly prefix?: string;
  readonly appId?: string;
  /** `first`: five tickets (one solved); `more`: more occurrences of one of them and a new ticket. */
  readonly round?: 'first' | 'more';
  /** Also two ERROR records on channel `shop.js` from this call site (`/abs/file.mjs:LINE`). */
  readonly site?: string;
}

/** Why Logbook cannot be had here, or null. */
export function logbookUnavailableReason(): string | null {
  return existsSync('/usr/bin/python3') || process.env.LOGBOOK_PYTHON ? null : 'no python3 to make a Logbook venv with';
}

let provisioned: Promise<void> | undefined;

/** The venv, made once per process (provision.sh serialises processes). */
export function provisionLogbook(): Promise<void> {
  provisioned ??= run('bash', [`${here}provision.sh`, venv], { maxBuffer: 4 * 1024 * 1024 }).then(
    () => undefined,
    (error: { stderr?: string; message: string }) => {
      throw new Error(`Logbook could not be provisioned: ${error.stderr?.trim() || error.message}`);
    },
  );
  return provisioned;
}

/** Write (or add to) a Logbook store at an SQLAlchemy URI with the real Logbook; its tickets as Logbook reads them. */
export async function writeLogbookStore(uri: string, options: WriteOptions = {}): Promise<LogbookTicketView[]> {
  await provisionLogbook();
  const args = [`${here}write_store.py`, uri, '--prefix', options.prefix ?? 'logbook_'];
  args.push('--app-id', options.appId ?? 'generic', '--round', options.round ?? 'first');
  if (options.site !== undefined) args.push('--site', options.site);
  const { stdout } = await run(`${venv}/bin/python`, args, { maxBuffer: 16 * 1024 * 1024 });
  return (JSON.parse(stdout) as { tickets: LogbookTicketView[] }).tickets;
}

/** Logbook's naive UTC time as logtickets keeps times: ISO 8601 in UTC, to the millisecond. */
export function isoTime(naive: string): string {
  const [seconds, fraction = ''] = naive.split('.');
  return `${seconds}.${fraction.padEnd(3, '0').slice(0, 3)}Z`;
}
