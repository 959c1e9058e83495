/**
 * What the tracker-state and bounded-outbox suites need of a store, and how
 * they run competitors in other OS processes (or, for the in-memory store,
 * concurrently in this one).
 */

import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { TicketStore } from '../../src/backends/contract.js';
import { runTrackerJob, type JobResult, type TrackerJob } from './tracker-jobs.js';

export interface TrackerSubject {
  /** A fresh, empty store whose times all come from the clock the factory was given. */
  readonly store: TicketStore;
  /** Another instance (connection) on the same store, with the same clock. */
  another(): TicketStore;
  /** The same store opened read-only (memory: a read-only store of its own). */
  reader(): TicketStore;
  /** How a child process reaches the same store; absent for the in-memory store. */
  readonly child?: { readonly uri: string; readonly prefix?: string };
  cleanup?(): Promise<void>;
}

export type TrackerFactory = (now: () => Date) => Promise<TrackerSubject>;

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public ms: number = Date.UTC(2025, 2, 1, 10, 0, 0)) {}
  readonly now = (): Date => new Date(this.ms);
  at(offsetMs: number): string {
    return new Date(this.ms + offsetMs).toISOString();
  }
}

const worker = fileURLToPath(new URL('../fixtures/tracker-worker.ts', import.meta.url));

function runChild(arg: string): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', worker, arg],
      { timeout: 300_000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`worker failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as JobResult);
      },
    );
  });
}

/** Run `n` competitors of the same job at once: child processes when the store can be reached from one. */
export function compete(s: TrackerSubject, n: number, job: TrackerJob): Promise<JobResult[]> {
  return Promise.all(
    Array.from({ length: n }, () =>
      s.child === undefined
        ? runTrackerJob(s.store, job, randomUUID())
        : runChild(JSON.stringify({ ...job, ...s.child })),
    ),
  );
}

/** A test body run with a fresh store of the subject, opened, on a clock the test moves; closed afterwards. */
export function withTrackerStore(factory: TrackerFactory) {
  return (fn: (s: TrackerSubject, clock: TestClock, t: ExecutionContext) => Promise<void>) =>
    async (t: ExecutionContext) => {
      const clock = new TestClock();
      const s = await factory(clock.now);
      t.teardown(async () => {
        await s.store.close();
        await s.cleanup?.();
      });
      await s.store.open();
      await fn(s, clock, t);
    };
}
