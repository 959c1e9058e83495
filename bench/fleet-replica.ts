/**
 * One replica of a service for the fleet scenarios, in its own OS process
 * (bench/fleet.ts starts and drives it; its argument is a FleetJob as JSON).
 *
 * It opens a TrackedStore on the shared store with one tracker (GitHub's or
 * Trac's default pacing and write budget), and a TicketingHandler over it,
 * then prints `READY`. On `GO` (stdin) it logs its occurrences across its
 * problems (a logger, hence a fingerprint, of its own per problem), spread
 * over the job's flood time, waits until they are written and prints
 * `WRITTEN {batches}` (when each batch reached the store). It keeps
 * delivering, as every replica of a fleet does, until `CLOSE`; then it closes
 * at once (what waits stays in the store) and prints `RESULT {json}`.
 */

import { createInterface } from 'node:readline';
import {
  GitHubTracker,
  Logger,
  TicketingHandler,
  TrackedStore,
  TracTracker,
  type OccurrenceInput,
  type RecordOptions,
  type RecordOutcome,
  type Tracker,
} from '../src/index.js';
import type { FleetJob, ReplicaReport } from './fleet.js';

const job = JSON.parse(process.argv[2]!) as FleetJob;

/** The TrackedStore, noting when each batch was written. */
class NotedStore extends TrackedStore {
  readonly batches: number[] = [];

  override async recordBatch(batch: readonly OccurrenceInput[], options?: RecordOptions): Promise<RecordOutcome[]> {
    const outcomes = await super.recordBatch(batch, options);
    this.batches.push(Date.now());
    return outcomes;
  }
}

function tracker(): Tracker {
  const t = job.tracker;
  if (t.type === 'trac') return new TracTracker({ url: t.url, username: t.username, password: t.password });
  return new GitHubTracker({ owner: t.owner, repo: t.repo, auth: t.token, baseUrl: t.baseUrl });
}

let errors = 0;
const backend = new NotedStore({
  store: job.store,
  trackers: [tracker()],
  commentIntervalMs: job.commentIntervalMs,
  ...(job.pollIntervalMs === undefined ? {} : { pollIntervalMs: job.pollIntervalMs }),
  onError: () => errors++,
});
const handler = new TicketingHandler(backend, {
  appId: 'bench-fleet',
  exitFlushMs: 0,
  onError: (e) => process.stderr.write(`write error: ${e.code}: ${e.message}\n`),
});
await backend.open();

const loggers = Array.from({ length: job.problems }, (_, i) => new Logger(`bench.fleet.problem${i}`));
let sent = 0;
function log(upTo: number): void {
  handler.run(() => {
    for (; sent < upTo; sent++) loggers[sent % job.problems]!.error('dependency down (%d, pid %d)', sent, process.pid);
  });
}

/** The flood: all at once, or spread evenly over floodMs as a failing dependency produces it. */
async function flood(): Promise<void> {
  const started = Date.now();
  for (;;) {
    const elapsed = Date.now() - started;
    log(
      job.floodMs === 0
        ? job.occurrences
        : Math.min(job.occurrences, Math.ceil((job.occurrences * elapsed) / job.floodMs)),
    );
    if (sent >= job.occurrences) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'GO') void go();
  if (line === 'CLOSE') void close();
});
process.stdout.write('READY\n');

async function go(): Promise<void> {
  await flood();
  await handler.flush();
  process.stdout.write(`WRITTEN ${JSON.stringify({ batches: backend.batches })}\n`);
}

async function close(): Promise<void> {
  lines.close();
  // Paused, stdin would still keep the process alive.
  process.stdin.destroy();
  await handler.close({ timeoutMs: 0 });
  const report = await backend.close({ timeoutMs: 0 });
  const result: ReplicaReport = { pid: process.pid, batches: backend.batches, errors, stats: report.trackers };
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
}
