/**
 * The ids of the batches a store applied lately, so that a batch retried
 * under the same id is applied once — kept in memory, bounded both by age
 * (BATCH_ID_RETENTION_MS, the same window every store keeps) and by number,
 * so a long-lived process does not collect ids forever.
 */

import { BATCH_ID_RETENTION_MS } from './contract.js';

/** More batches than one process applies while any writer of it could still retry one. */
export const MAX_REMEMBERED_BATCHES = 10_000;

export class AppliedBatches {
  // Insertion order is age order: the oldest id is always first.
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly now: () => number,
    private readonly retentionMs: number = BATCH_ID_RETENTION_MS,
    private readonly maxIds: number = MAX_REMEMBERED_BATCHES,
  ) {}

  get size(): number {
    return this.ids.size;
  }

  has(batchId: string): boolean {
    this.expire();
    return this.ids.has(batchId);
  }

  add(batchId: string): void {
    this.ids.delete(batchId);
    this.ids.set(batchId, this.now());
    this.expire();
  }

  private expire(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const [id, at] of this.ids) {
      if (this.ids.size <= this.maxIds && at >= cutoff) break;
      this.ids.delete(id);
    }
  }
}
