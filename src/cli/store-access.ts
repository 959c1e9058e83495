/**
 * Which store a CLI command works on, and how it opens it. Commands that read
 * open it read-only — no file, table, collection or index is created, SQLite's
 * journal mode is left alone — and commands that change tickets write only
 * into a store that exists. A SQLite store file is made by a process that
 * logs (or the demo), never by a command naming a file that is not there.
 */

import { existsSync } from 'node:fs';
import type { TicketBackend } from '../backends/contract.js';
import { defaultStoreUri, openBackend, type OpenBackendOptions } from '../backends/open-backend.js';
import { isSqlUri, parseSqlUri } from '../backends/sql/sql-uri.js';
import type { LogticketsConfig } from '../config/config-schema.js';
import { UsageError } from './usage-error.js';

/** The CLI's store and trackers: from `--config` (or LOGTICKETS_CONFIG), with `--db` naming another store. */
export interface CliSetup {
  readonly configPath: string | undefined;
  readonly storeUri: string | undefined;
  readonly prefix: string | undefined;
  /** LOGTICKETS_DB when a config file came from --config: used when that config names no store. */
  readonly envStoreUri?: string | undefined;
}

export interface StoreChoice {
  readonly uri: string;
  readonly options: OpenBackendOptions;
}

/** The store: --db, else the config's, else ./logtickets.db; the config's store options; --prefix over the config's. */
export function chooseStore(setup: CliSetup, config: LogticketsConfig | undefined): StoreChoice {
  const uri = setup.storeUri ?? config?.store?.uri ?? setup.envStoreUri ?? defaultStoreUri();
  const { uri: _uri, $comment: _comment, ...fromConfig } = config?.store ?? { uri: '' };
  const options: Record<string, unknown> = Object.fromEntries(
    Object.entries(fromConfig).filter(([, value]) => value !== undefined),
  );
  if (setup.prefix !== undefined) options.prefix = setup.prefix;
  return { uri, options: options as OpenBackendOptions };
}

/** Open the store for reading only (`read`) or for changing tickets that exist (`change`). Connects nothing yet. */
export function openStore(choice: StoreChoice, mode: 'read' | 'change'): TicketBackend {
  return openBackend(choice.uri, {
    ...choice.options,
    ...(mode === 'read' ? { readOnly: true } : { createIfMissing: false }),
  });
}

/** The path of a SQLite store file that is not there, else undefined. */
export function missingSqliteFile(uri: string): string | undefined {
  if (!isSqlUri(uri)) return undefined;
  const target = parseSqlUri(uri);
  return target.dialect === 'sqlite' && target.path !== ':memory:' && !existsSync(target.path)
    ? target.path
    : undefined;
}

/** Where the user named the store, for a hint. */
export function whereNamed(setup: CliSetup): string {
  return setup.storeUri !== undefined || setup.configPath === undefined ? '--db' : "the config's store or --db";
}

/** A SQLite store that is not there is a mistake in naming it (a typo would otherwise pass as an empty store). */
export function mustExist(uri: string, where: string): void {
  const path = missingSqliteFile(uri);
  if (path !== undefined) {
    throw new UsageError(`no store at ${path} (check ${where}, or log something into it first)`);
  }
}
