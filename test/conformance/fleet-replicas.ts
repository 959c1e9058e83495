/**
 * Replicas of a service for the fleet cases of the tracker suite: each is a
 * separate OS process (test/fixtures/fleet-replica.ts) writing occurrences
 * into one shared SQLite store and delivering to one tracker, as replicas of
 * a deployed service do. A replica can be killed (SIGKILL) at any point.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { BudgetWindow } from '../../src/backends/tracker-state.js';
import type { DelivererStats, GitHubAppAuth } from '../../src/index.js';

/** How another process reaches the tracker under test. */
export type ReplicaTracker =
  | {
      readonly type: 'trac';
      readonly url: string;
      readonly username: string;
      readonly password: string;
      readonly writeBudget?: readonly BudgetWindow[];
    }
  | {
      readonly type: 'github';
      readonly baseUrl: string;
      readonly owner: string;
      readonly repo: string;
      /** A token, or a GitHub App installation's credentials. */
      readonly auth: string | GitHubAppAuth;
      readonly writeBudget?: readonly BudgetWindow[];
    };

export interface ReplicaJob {
  /** The shared store (a SQLite file's URI). */
  readonly store: string;
  readonly tracker: ReplicaTracker;
  readonly appId: string;
  /** Fingerprints of the problems this replica logs. */
  readonly problems: readonly string[];
  /** Occurrences of each problem, written in `batches` batches. */
  readonly occurrences: number;
  readonly batches: number;
  readonly leaseMs?: number;
  readonly pollIntervalMs?: number;
  readonly commentIntervalMs?: number;
  /** Two-way sync's polling (default 0 here: off, unless a case asks). */
  readonly syncIntervalMs?: number;
  /** Passed with each batch (default: the store's 60 s). */
  readonly regressionGraceMs?: number;
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * After writing: `deliver` (deliverPending within timeoutMs, then close
   * within 2 s), `close` (close({ timeoutMs, deliverHeld })), or `stay` (keep
   * delivering until killed).
   */
  readonly then: 'deliver' | 'close' | 'stay';
  readonly timeoutMs: number;
  readonly deliverHeld?: boolean;
}

export interface ReplicaResult {
  readonly delivered: boolean;
  readonly pending: number;
  readonly stats: readonly DelivererStats[];
}

export interface Replica {
  /** Resolves when the replica has written its occurrences (and, for `stay`, started delivering). */
  readonly written: Promise<void>;
  /** Its result (rejects if it failed, or was killed). */
  readonly result: Promise<ReplicaResult>;
  kill(): void;
}

const fixture = fileURLToPath(new URL('../fixtures/fleet-replica.ts', import.meta.url));

export function startReplica(job: ReplicaJob): Replica {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(job)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let wrote!: () => void;
  const written = new Promise<void>((resolve) => (wrote = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    if (out.includes('WRITTEN\n')) wrote();
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const result = new Promise<ReplicaResult>((resolve, reject) => {
    child.on('close', (code, signal) => {
      const last = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && last !== undefined) resolve(JSON.parse(last.slice(7)) as ReplicaResult);
      else reject(new Error(`replica ended with ${signal ?? `code ${code}`}\n${err}`));
    });
  });
  // A killed replica's rejection is expected; a test that wants the result awaits it.
  result.catch(() => undefined);
  return { written, result, kill: () => child.kill('SIGKILL') };
}

/** Run replicas to their end; their results. */
export function runReplicas(jobs: readonly ReplicaJob[]): Promise<ReplicaResult[]> {
  return Promise.all(jobs.map((job) => startReplica(job).result));
}

/** Wait until `check` holds, looking every 50 ms; fails after `ms` (a guard against a hang, not a timing assertion). */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
