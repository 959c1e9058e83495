/**
 * The work of one competitor in the cross-process tracker-state tests: run
 * by child processes (test/fixtures/tracker-worker.ts) against SQL and
 * MongoDB stores, and by concurrent calls in one process for the in-memory
 * store.
 */

import type { OccurrenceInput, TicketStore } from '../../src/backends/contract.js';
import { groupByTicket } from '../../src/backends/batch.js';
import type { JsonValue } from '../../src/logging/json-safe.js';
import { summarize } from '../../src/backends/outbox-summary.js';
import type { BudgetWindow } from '../../src/backends/tracker-state.js';

export type TrackerJob =
  | { readonly job: 'lease'; readonly tracker: string; readonly rounds: number }
  | {
      readonly job: 'writes';
      readonly tracker: string;
      readonly owner: string;
      readonly tries: number;
      readonly windows: readonly BudgetWindow[];
    }
  | { readonly job: 'flood'; readonly tracker: string; readonly hash: string; readonly batches: number }
  | { readonly job: 'enqueue'; readonly tracker: string; readonly hash: string; readonly batches: number };

export interface JobResult {
  readonly acquired?: number;
  /** Updates refused although this competitor had just acquired the lease (must be 0). */
  readonly fenced?: number;
  readonly granted?: number;
  readonly batches?: number;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

export async function runTrackerJob(store: TicketStore, job: TrackerJob, me: string): Promise<JobResult> {
  if (job.job === 'lease') {
    let acquired = 0;
    let fenced = 0;
    while (acquired < job.rounds) {
      // A lease far longer than the test: it only changes hands when released.
      if (!(await store.acquireTrackerLease(job.tracker, me, 600_000))) {
        // As a deliverer would: ask again a moment later, not in a tight loop that starves the holder.
        await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8));
        continue;
      }
      acquired++;
      const { cursor } = await store.getTrackerState(job.tracker);
      // Read, then write one more: lost updates would show if two held the lease at once.
      await turn();
      const next = String(Number(cursor ?? '0') + 1);
      if (!(await store.updateTrackerState(job.tracker, me, { cursor: next }))) fenced++;
      await store.releaseTrackerLease(job.tracker, me);
      await turn();
    }
    return { acquired, fenced };
  }
  if (job.job === 'writes') {
    let granted = 0;
    for (let i = 0; i < job.tries; i++) {
      if ((await store.takeTrackerWrite(job.tracker, job.owner, job.windows)).granted) granted++;
    }
    return { granted };
  }
  for (let i = 0; i < job.batches; i++) {
    const batch: OccurrenceInput[] = [
      {
        hash: job.hash,
        appId: 'app',
        level: 14,
        channel: 'shop.payments',
        location: 'src/pay.ts:42',
        function: 'charge',
        title: `message ${i % 13}`,
        time: new Date(Date.UTC(2025, 2, 1, 10, 0, 0, i)).toISOString(),
        data: { me, i },
      },
    ];
    const outbox = groupByTicket(batch).map((delta) => ({
      tracker: job.tracker,
      appId: delta.appId,
      hash: delta.hash,
      payload: summarize(delta) as unknown as JsonValue,
    }));
    // `enqueue`: only the delivery, as a tracker backend queues one; `flood`: with the counts, under a batch id.
    if (job.job === 'enqueue') await store.enqueueOutbox(outbox);
    else await store.recordBatch(batch, { batchId: `${me}-${i}`, outbox });
  }
  return { batches: job.batches };
}
