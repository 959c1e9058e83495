/**
 * The background writer of one backend: a bounded queue drained in batches.
 *
 * - Records wait here while the backend is down; failed batches are retried
 *   with backoff, and stay at the head of the queue so order is kept.
 * - When the queue is full, further occurrences are folded into one entry per
 *   ticket that carries their count, so tickets keep exact counts even when
 *   individual records must be given up; only when that table is full too is
 *   an occurrence dropped (and counted).
 * - An error the backend calls permanent is retried a few times, then its
 *   batch is dropped and counted as rejected.
 * - Timers are unref'd: a writer never keeps a process alive by itself (the
 *   handler flushes on `beforeExit` instead).
 */

import { randomUUID } from 'node:crypto';
import type { OccurrenceInput, TicketBackend } from '../backends/contract.js';
import { asLogticketsError, LogticketsError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { Captured } from './occurrence.js';
import { FoldTable, type Folded } from './fold-table.js';

/**
 * Why occurrences were given up:
 * - queue_full: the queue and the table of folded counts were both full;
 * - rejected: the backend refused a batch as permanently invalid;
 * - invalid: the record could not be turned into an occurrence at all;
 * - filter_error / handler_error: the handler's filter, or its handling, threw;
 * - closed: logged after `close()`; shutdown: still waiting when `close()` gave up.
 */
export type DropReason =
  'queue_full' | 'rejected' | 'invalid' | 'filter_error' | 'handler_error' | 'closed' | 'shutdown';

export function noDrops(): Record<DropReason, number> {
  return { queue_full: 0, rejected: 0, invalid: 0, filter_error: 0, handler_error: 0, closed: 0, shutdown: 0 };
}

export interface WriterStats {
  readonly backend: string;
  /** Occurrences waiting (folded ones counted by what they stand for). */
  readonly queued: number;
  /** Roughly how many bytes the waiting records hold (bounded by `maxQueueBytes`, plus folded summaries). */
  readonly queuedBytes: number;
  /** Occurrences the backend has acknowledged. */
  readonly written: number;
  /** Failed write attempts that were tried again. */
  readonly retried: number;
  /** Occurrences given up, by reason. */
  readonly dropped: Readonly<Record<DropReason, number>>;
  /** Occurrences counted but whose record was not kept (queue overflow). */
  readonly coalesced: number;
  readonly state: 'idle' | 'writing' | 'backing-off' | 'closed';
  readonly lastError: string | null;
}

export interface WriterOptions {
  readonly maxQueue: number;
  /** Roughly how many bytes of records may wait before folding starts. */
  readonly maxQueueBytes: number;
  readonly maxFolded: number;
  readonly batchSize: number;
  readonly maxRejectedAttempts: number;
  readonly backoff: BackoffOptions;
  /** Passed to the store: how long after a solve an occurrence counts without reopening (default 60 s). */
  readonly regressionGraceMs?: number;
  readonly prepare: (item: Captured) => OccurrenceInput;
  readonly onError: (error: LogticketsError, info: { backend: string; attempt: number; willRetry: boolean }) => void;
}

export class BackendWriter {
  private queue: Captured[] = [];
  private readonly folded: FoldTable;
  private inflight: { items: Captured[]; folded: Folded[]; batch: OccurrenceInput[]; batchId: string } | undefined;
  /** Bytes held by queued records. */
  private queueBytes = 0;
  private running = false;
  private pending: NodeJS.Immediate | NodeJS.Timeout | undefined;
  private wakeBackoff: (() => void) | undefined;
  private opened = false;
  private closed = false;
  private attempt = 0;
  /** Consecutive failures the backend called permanent (outages do not count). */
  private rejectedAttempts = 0;
  /** Entries still to write one by one, to find the one a backend rejects. */
  private isolating = 0;
  private idleWaiters: Array<(ok: boolean) => void> = [];
  private counts = { written: 0, retried: 0, coalesced: 0 };
  private dropped: Record<DropReason, number> = noDrops();
  private state: WriterStats['state'] = 'idle';
  private lastError: string | null = null;

  constructor(
    readonly backend: TicketBackend,
    private readonly options: WriterOptions,
  ) {
    this.folded = new FoldTable(options.maxFolded);
  }

  enqueue(item: Captured): void {
    if (this.closed) {
      this.dropped.closed++;
      return;
    }
    if (this.queue.length < this.options.maxQueue && this.queueBytes + item.size <= this.options.maxQueueBytes) {
      this.queue.push(item);
      this.queueBytes += item.size;
    } else {
      this.fold(item);
    }
    this.schedule();
  }

  get size(): number {
    return this.queue.length + this.folded.count;
  }

  /** Count occurrences lost before they reached this writer's queue (see DropReason). */
  lose(reason: DropReason, count = 1): void {
    this.dropped[reason] += count;
  }

  /** Occurrences given up since this writer started, for any reason. */
  get lost(): number {
    let total = 0;
    for (const n of Object.values(this.dropped)) total += n;
    return total;
  }

  stats(): WriterStats {
    return {
      backend: this.backend.name,
      queued: this.size,
      queuedBytes: this.queueBytes + this.folded.bytes,
      written: this.counts.written,
      retried: this.counts.retried,
      dropped: { ...this.dropped },
      coalesced: this.counts.coalesced,
      state: this.closed ? 'closed' : this.state,
      lastError: this.lastError,
    };
  }

  /**
   * Resolves once the queue is empty: true when every occurrence accepted
   * since the start was written, false when any was given up (stats() says
   * why) or when `timeoutMs` passed first.
   */
  flush(timeoutMs?: number): Promise<boolean> {
    if (this.size === 0 && !this.running) return Promise.resolve(this.lost === 0);
    // Waiting for a flush should not wait out a long backoff: try now.
    this.wakeBackoff?.();
    this.schedule();
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (ok: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(ok);
      };
      this.idleWaiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.idleWaiters = this.idleWaiters.filter((w) => w !== done);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /**
   * Stop accepting, flush for at most `timeoutMs`, count what is left as
   * dropped. A write already in flight is left to finish: if it succeeds it
   * counts as written, otherwise as dropped.
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.closed = true;
    const flushed = await this.flush(timeoutMs);
    this.dropWaiting();
    this.wakeBackoff?.();
    return flushed && this.lost === 0;
  }

  /** Give up everything queued except a batch being written; returns how many occurrences. */
  private dropWaiting(): number {
    const keepItems = this.running ? (this.inflight?.items.length ?? 0) : 0;
    const keepFolded = this.running ? (this.inflight?.folded.reduce((n, f) => n + f.count, 0) ?? 0) : 0;
    if (!this.running) this.inflight = undefined;
    const dropped = this.queue.length - keepItems + (this.folded.count - keepFolded);
    this.dropped.shutdown += dropped;
    for (let i = keepItems; i < this.queue.length; i++) this.queueBytes -= this.queue[i]!.size;
    this.queue.length = keepItems;
    this.folded.clear(keepFolded);
    this.wakeWaiters(false);
    return dropped;
  }

  private wakeWaiters(ok: boolean): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake(ok);
  }

  private fold(item: Captured): void {
    const occurrence = this.tryPrepare(item);
    if (occurrence === undefined) return;
    // The count is always exact; the record kept with it is the latest, cut
    // down to a summary when keeping it whole would overrun the memory bound.
    const room = this.options.maxQueueBytes - this.queueBytes - this.folded.bytes;
    if (!this.folded.add(occurrence, item.size, room)) this.dropped.queue_full++;
  }

  private schedule(): void {
    if (this.running || this.pending !== undefined) return;
    this.pending = setImmediate(() => {
      this.pending = undefined;
      void this.drain();
    });
  }

  /** Prepare a record; one that cannot be prepared is reported and dropped, never retried. */
  private tryPrepare(item: Captured): OccurrenceInput | undefined {
    try {
      return this.options.prepare(item);
    } catch (thrown) {
      this.dropped.invalid++;
      const error = asLogticketsError(thrown, { code: 'INVALID_ARGUMENT', backend: this.backend.name });
      this.report(
        new LogticketsError('INVALID_ARGUMENT', `a record could not be prepared: ${error.message}`, {
          cause: error,
          backend: this.backend.name,
        }),
        false,
      );
      return undefined;
    }
  }

  private takeBatch(): { items: Captured[]; folded: Folded[]; batch: OccurrenceInput[] } {
    const limit = this.isolating > 0 ? 1 : this.options.batchSize;
    const items: Captured[] = [];
    const batch: OccurrenceInput[] = [];
    while (items.length < limit && items.length < this.queue.length) {
      const item = this.queue[items.length]!;
      const occurrence = this.tryPrepare(item);
      if (occurrence === undefined) {
        this.queue.splice(items.length, 1);
        this.queueBytes -= item.size;
        continue;
      }
      batch.push(occurrence);
      items.push(item);
    }
    // Folded entries leave the table while they are written (and retried), so
    // that folds arriving meanwhile start a new entry instead of changing this one.
    const folded = this.folded.take(limit - batch.length);
    for (const entry of folded) batch.push({ ...entry.occurrence, count: entry.count * (entry.occurrence.count ?? 1) });
    return { items, folded, batch };
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.size > 0) {
        // A failed batch is retried exactly as it was, under the same id, so a
        // backend without transactions can tell a retry from new occurrences.
        this.inflight ??= { ...this.takeBatch(), batchId: randomUUID() };
        const { items, folded, batch, batchId } = this.inflight;
        if (batch.length === 0) {
          this.inflight = undefined;
          continue;
        }
        this.state = 'writing';
        try {
          if (!this.opened) {
            await this.backend.open();
            this.opened = true;
          }
          await this.backend.recordBatch(batch, {
            batchId,
            ...(this.options.regressionGraceMs === undefined
              ? {}
              : { regressionGraceMs: this.options.regressionGraceMs }),
          });
          this.inflight = undefined;
          this.settle(items, folded);
          for (const occurrence of batch) this.counts.written += occurrence.count ?? 1;
          this.attempt = 0;
          this.rejectedAttempts = 0;
        } catch (thrown) {
          const error = asLogticketsError(thrown, { code: 'BACKEND_REJECTED', backend: this.backend.name });
          this.attempt++;
          this.rejectedAttempts = error.retryable ? 0 : this.rejectedAttempts + 1;
          this.lastError = `${error.code}: ${error.message}`;
          const giveUp = !error.retryable && this.rejectedAttempts >= this.options.maxRejectedAttempts;
          if (giveUp && batch.length > 1) {
            // Do not lose a whole batch for one bad entry: write its entries one
            // by one (fresh batch ids: the failed write changed nothing it keeps).
            this.report(error, true);
            this.folded.putBack(folded);
            this.isolating = items.length + folded.length;
            this.inflight = undefined;
            this.attempt = 0;
            this.rejectedAttempts = 0;
            continue;
          }
          this.report(error, !giveUp);
          if (giveUp) {
            this.inflight = undefined;
            this.settle(items, folded);
            for (const occurrence of batch) this.dropped.rejected += occurrence.count ?? 1;
            this.attempt = 0;
            this.rejectedAttempts = 0;
            continue;
          }
          this.counts.retried++;
          if (error.retryable) this.opened = false;
          if (this.closed && this.idleWaiters.length === 0) break;
          this.state = 'backing-off';
          await this.sleep(backoffDelay(this.attempt, this.options.backoff));
          if (this.closed && this.idleWaiters.length === 0) break;
        }
      }
    } finally {
      this.running = false;
      this.state = 'idle';
      // Closed while a write was failing: what it held is given up now.
      if (this.closed && this.size > 0) this.dropWaiting();
      if (this.size === 0) this.wakeWaiters(this.lost === 0);
    }
  }

  /** Remove a written (or given-up) batch from the queue. */
  private settle(items: Captured[], folded: Folded[]): void {
    if (this.isolating > 0) this.isolating = Math.max(0, this.isolating - items.length - folded.length);
    if (items.length > 0) {
      for (const item of items) this.queueBytes -= item.size;
      this.queue.splice(0, items.length);
    }
    this.counts.coalesced += this.folded.settled(folded);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, ms);
      timer.unref();
      function wake() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeBackoff = () => {
        this.wakeBackoff = undefined;
        wake();
      };
    });
  }

  private report(error: LogticketsError, willRetry: boolean): void {
    try {
      this.options.onError(error, { backend: this.backend.name, attempt: this.attempt, willRetry });
    } catch {
      // A throwing onError hook must not stop the writer.
    }
  }
}
