/**
 * What waits in one writer, bounded by count and by memory: the queue of
 * snapshots in the order they were logged, then — once that is full — the
 * overflow table (calls counted, nothing prepared: overflow-table.ts) and
 * the fold table it is folded into (counts by ticket: fold-table.ts).
 * The writer (backend-writer.ts) takes batches from here and settles them.
 */

import type { OccurrenceInput } from '../backends/contract.js';
import { FoldTable, type Folded } from './fold-table.js';
import type { Captured } from './occurrence.js';
import { OverflowTable, type OverflowKey } from './overflow-table.js';

export interface QueueLimits {
  readonly maxQueue: number;
  /** Roughly how many bytes of records may wait before folding starts. */
  readonly maxQueueBytes: number;
  readonly maxFolded: number;
}

export interface TakenBatch {
  readonly items: Captured[];
  readonly folded: Folded[];
  readonly batch: OccurrenceInput[];
}

/** Turns a snapshot into an occurrence, or counts it as invalid (and says so) and returns undefined. */
export type Preparer = (item: Captured) => OccurrenceInput | undefined;

export class WriterQueue {
  private readonly queue: Captured[] = [];
  /** Bytes held by queued records. */
  private queueBytes = 0;
  private readonly folded: FoldTable;
  private readonly overflow: OverflowTable;

  constructor(private readonly limits: QueueLimits) {
    this.folded = new FoldTable(limits.maxFolded);
    this.overflow = new OverflowTable(limits.maxFolded);
  }

  /**
   * Queue one snapshot, or count it once the queue is full (`key`: its
   * overflow key, when already known); false when it had to be dropped.
   */
  add(item: Captured, key?: OverflowKey): boolean {
    if (this.queue.length < this.limits.maxQueue && this.queueBytes + item.size <= this.limits.maxQueueBytes) {
      this.queue.push(item);
      this.queueBytes += item.size;
      return true;
    }
    return this.overflow.add(item, this.room(), key);
  }

  /** Whether the queue takes no more snapshots: calls are counted instead. */
  get overflowing(): boolean {
    return this.queue.length >= this.limits.maxQueue || this.queueBytes >= this.limits.maxQueueBytes;
  }

  /** With the queue full, count a call already counted by its key, with no snapshot; false otherwise. */
  countKnown(key: OverflowKey, timestamp: number): boolean {
    return this.overflowing && this.overflow.countKnown(key, timestamp);
  }

  /** Occurrences waiting (folded ones counted by what they stand for, those being written included). */
  get size(): number {
    return this.queue.length + this.folded.count + this.overflow.count;
  }

  get bytes(): number {
    return this.queueBytes + this.folded.bytes + this.overflow.bytes;
  }

  /** Whether a batch is ready: `batchSize` records queued, or anything counted past the queue. */
  full(batchSize: number): boolean {
    return (
      this.folded.count > 0 || this.overflow.count > 0 || this.queue.length >= Math.min(batchSize, this.limits.maxQueue)
    );
  }

  /** Bytes that may still be spent on records before the memory bound. */
  private room(): number {
    return this.limits.maxQueueBytes - this.bytes;
  }

  /**
   * Up to `limit` occurrences from the head of the queue, then folded
   * counts. Records that cannot be prepared leave the queue; the rest stays
   * until `settle`. Folded entries leave their table while they are written
   * (and retried), so that folds arriving meanwhile start a new entry
   * instead of changing this one.
   */
  take(limit: number, prepare: Preparer, lost: (count: number, reason: 'invalid' | 'queue_full') => void): TakenBatch {
    if (this.overflow.count > 0) this.foldOverflow(prepare, lost);
    const items: Captured[] = [];
    const batch: OccurrenceInput[] = [];
    while (items.length < limit && items.length < this.queue.length) {
      const item = this.queue[items.length]!;
      const occurrence = prepare(item);
      if (occurrence === undefined) {
        this.queue.splice(items.length, 1);
        this.queueBytes -= item.size;
        continue;
      }
      batch.push(occurrence);
      items.push(item);
    }
    const folded = this.folded.take(limit - batch.length);
    for (const entry of folded) batch.push({ ...entry.occurrence, count: entry.count * (entry.occurrence.count ?? 1) });
    return { items, folded, batch };
  }

  /**
   * Prepare one record per call counted in the overflow table and fold the
   * counts by ticket. The count is always exact; the record kept with it is
   * the latest, cut down to a summary when keeping it whole would overrun
   * the memory bound. `lost` counts occurrences dropped as invalid (beyond
   * the one `prepare` counted) or because the fold table is full.
   */
  private foldOverflow(prepare: Preparer, lost: (count: number, reason: 'invalid' | 'queue_full') => void): void {
    for (const entry of this.overflow.takeAll()) {
      let occurrence = prepare(entry.item);
      if (occurrence === undefined) {
        lost(entry.count - 1, 'invalid');
        continue;
      }
      // The ticket's last sighting is the latest occurrence counted, even when an older record was kept.
      if (entry.lastTimestamp > entry.item.timestamp) {
        occurrence = { ...occurrence, time: new Date(entry.lastTimestamp).toISOString() };
      }
      if (!this.folded.add(occurrence, entry.item.size, this.room(), entry.count)) lost(entry.count, 'queue_full');
    }
  }

  /** A taken batch was written (or given up): it leaves. Returns how many folded occurrences it held. */
  settle(taken: Pick<TakenBatch, 'items' | 'folded'>): number {
    if (taken.items.length > 0) {
      for (const item of taken.items) this.queueBytes -= item.size;
      this.queue.splice(0, taken.items.length);
    }
    return this.folded.settled(taken.folded);
  }

  /** Folded entries whose write failed go back (merged with any folded since). */
  putBack(folded: readonly Folded[]): void {
    this.folded.putBack(folded);
  }

  /** Give up everything except `keep` (a batch being written); returns how many occurrences were given up. */
  dropAllBut(keep: Pick<TakenBatch, 'items' | 'folded'> | undefined): number {
    const keepItems = keep?.items.length ?? 0;
    const keepFolded = keep?.folded.reduce((n, f) => n + f.count, 0) ?? 0;
    const dropped = this.size - keepItems - keepFolded;
    for (let i = keepItems; i < this.queue.length; i++) this.queueBytes -= this.queue[i]!.size;
    this.queue.length = keepItems;
    this.folded.clear(keepFolded);
    this.overflow.clear();
    return dropped;
  }
}
