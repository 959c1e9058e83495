/**
 * A fleet of replicas of a service for the fleet scenarios: each replica is
 * its own OS process (bench/fleet-replica.ts) logging into one shared SQLite
 * store through a TicketingHandler over a TrackedStore, and delivering to one
 * tracker, as replicas of a deployed service do.
 *
 * The bench drives them over stdio: they start together (`go`) once all have
 * opened the store, report when their flood is written, keep delivering until
 * told to close, and report what each delivered.
 */

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isTicketStore, openBackend, type DelivererStats, type TicketStore } from '../src/index.js';

/** How a replica reaches its tracker. */
export type FleetTracker =
  | { readonly type: 'trac'; readonly url: string; readonly username: string; readonly password: string }
  | {
      readonly type: 'github';
      readonly baseUrl: string;
      readonly owner: string;
      readonly repo: string;
      readonly token: string;
    };

export interface FleetJob {
  /** The shared store (a SQLite file's URI). */
  readonly store: string;
  readonly tracker: FleetTracker;
  /** Problems (distinct loggers) this replica logs, each as often. */
  readonly problems: number;
  /** Occurrences this replica logs in all. */
  readonly occurrences: number;
  /** The flood is spread over this long (0: one burst). */
  readonly floodMs: number;
  readonly commentIntervalMs: number;
  readonly pollIntervalMs?: number;
}

export interface ReplicaReport {
  readonly pid: number;
  /** When each batch of this replica was written into the store (ms since the epoch). */
  readonly batches: readonly number[];
  /** Delivery problems reported to this replica's onError. */
  readonly errors: number;
  readonly stats: readonly DelivererStats[];
}

export interface Fleet {
  /** Resolves once every replica has opened the store. */
  readonly ready: Promise<void>;
  /** Every replica starts its flood now. */
  go(): void;
  /** Resolves once every replica has written its flood into the store: every batch's time. */
  readonly written: Promise<number[]>;
  /** Tell every replica to close (at once) and resolve their reports. */
  close(): Promise<ReplicaReport[]>;
  /** Kill what still runs (after a failure). */
  kill(): void;
}

const script = fileURLToPath(new URL('./fleet-replica.ts', import.meta.url));

export function startFleet(jobs: readonly FleetJob[]): Fleet {
  const replicas = jobs.map((job) => startReplica(job));
  return {
    ready: Promise.all(replicas.map((r) => r.ready)).then(() => undefined),
    go: () => replicas.forEach((r) => r.send('GO')),
    written: Promise.all(replicas.map((r) => r.written)).then((all) => all.flat()),
    async close() {
      replicas.forEach((r) => r.send('CLOSE'));
      return Promise.all(replicas.map((r) => r.result));
    },
    kill: () => replicas.forEach((r) => r.kill()),
  };
}

interface Replica {
  readonly ready: Promise<void>;
  readonly written: Promise<number[]>;
  readonly result: Promise<ReplicaReport>;
  send(line: string): void;
  kill(): void;
}

function startReplica(job: FleetJob): Replica {
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(job)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A replica that ended closes its stdin: a late line to it is of no consequence.
  child.stdin.on('error', () => undefined);
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-4_000)));
  const exited = new Promise<string>((resolve) =>
    // 'close', not 'exit': by then every line it printed has been read.
    child.on('close', (code, signal) => resolve(`replica ${child.pid} ended with ${signal ?? `code ${code}`}\n${err}`)),
  );
  const lines = createInterface({ input: child.stdout });
  const waitFor = <T>(prefix: string, parse: (rest: string) => T): Promise<T> =>
    Promise.race([
      new Promise<T>((resolve) =>
        lines.on('line', (line) => {
          if (line.startsWith(prefix)) resolve(parse(line.slice(prefix.length).trim()));
        }),
      ),
      exited.then((why) => Promise.reject(new Error(why))),
    ]);
  const ready = waitFor('READY', () => undefined);
  const written = waitFor('WRITTEN', (rest) => (JSON.parse(rest) as { batches: number[] }).batches);
  // Once it has also ended, so that nothing of it outlives the scenario.
  const result = waitFor('RESULT', (rest) => JSON.parse(rest) as ReplicaReport).then(async (report) => {
    await exited;
    return report;
  });
  // Whoever awaits these sees the failure; unobserved, they must not end the bench.
  for (const p of [ready, written, result]) p.catch(() => undefined);
  return {
    ready,
    written,
    result,
    send: (line) => {
      if (child.stdin.writable) child.stdin.write(`${line}\n`);
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The shared store opened in the bench process too (it creates the schema before the replicas start). */
export async function openShared(uri: string): Promise<TicketStore> {
  const backend = openBackend(uri);
  if (!isTicketStore(backend)) throw new Error(`${uri} cannot keep an outbox`);
  await backend.open();
  return backend;
}

/** Which replicas delivered, for a figure's note: the outbox rows each completed. */
export function deliveredBy(reports: readonly ReplicaReport[]): string {
  const each = reports.map((r) => r.stats.reduce((n, s) => n + s.delivered, 0));
  return `rows delivered per replica ${each.join('/')}`;
}
