/**
 * Shared by the integration tests: throwaway folders with a config file,
 * reading what reached a SQLite store, and running a fixture in a child
 * process as a service would run.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonValue } from '../../src/logging/json-safe.js';
import type { StoredOccurrence, Ticket } from '../../src/backends/contract.js';
import { openBackend } from '../../src/backends/open-backend.js';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface Workdir {
  readonly dir: string;
  /** `sqlite:…/tickets.db` in the folder. */
  readonly store: string;
  /** A JSON config file naming the store, written on first use. */
  config(handler?: Record<string, unknown>): string;
}

export function workdir(t: { teardown(fn: () => void): void }, name = 'logtickets-integration-'): Workdir {
  const dir = mkdtempSync(join(tmpdir(), name));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = `sqlite:${join(dir, 'tickets.db')}`;
  return {
    dir,
    store,
    config(handler = { appId: 'shop' }) {
      const path = join(dir, 'logtickets.json');
      writeFileSync(path, JSON.stringify({ store, handler }, null, 2));
      return path;
    },
  };
}

export interface StoredTicket extends Ticket {
  readonly occurrences: readonly (StoredOccurrence & { readonly data: Record<string, any> })[];
}

/** Every ticket of a store with its occurrences (oldest first), read through a fresh backend. */
export async function readStore(uri: string): Promise<StoredTicket[]> {
  const backend = openBackend(uri);
  try {
    await backend.open();
    const tickets = await backend.getTickets({ orderBy: 'id', limit: 1000 });
    return await Promise.all(
      tickets.map(async (ticket) => ({
        ...ticket,
        occurrences: (await backend.getOccurrences(ticket.id, {
          orderBy: 'time',
          limit: 1000,
        })) as (StoredOccurrence & {
          data: Record<string, any>;
        })[],
      })),
    );
  } finally {
    await backend.close();
  }
}

export function byTitle(tickets: readonly StoredTicket[], title: string): StoredTicket | undefined {
  return tickets.find((ticket) => ticket.title === title);
}

export function sortByTitle<T extends { title: string }>(tickets: readonly T[]): T[] {
  return [...tickets].sort((a, b) => (a.title < b.title ? -1 : a.title > b.title ? 1 : 0));
}

export function field(value: JsonValue | undefined, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) current = (current as Record<string, unknown> | null | undefined)?.[key];
  return current;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a fixture (a .ts file under test/fixtures) with tsx, as its own process; never rejects. */
export function runFixture(
  fixture: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const file = fileURLToPath(new URL(`../fixtures/${fixture}`, import.meta.url));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), file, ...args],
      { cwd: options.cwd ?? projectRoot, timeout: options.timeoutMs ?? 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number | string; signal?: string | null }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}
