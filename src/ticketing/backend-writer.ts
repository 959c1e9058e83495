/**
 * The background writer of one backend: a bounded queue drained in batches.
 *
 * - Records wait here while the backend is down; failed batches are retried
 *   with backoff, and stay at the head of the queue so order is kept.
 * - When the queue is full, further occurrences are only counted, by call
 *   (overflow-table.ts), at no more cost to the logging call than queueing;
 *   the writer later folds them into one entry per ticket that carries their
 *   count (fold-table.ts), so tickets keep exact counts even when individual
 *   records must be given up. Only when those tables are full too is an
 *   occurrence dropped (and counted).
 * - An error the backend calls permanent is retried a few times, then its
 *   batch is dropped and counted as rejected.
 * - Group commit: a batch that is not full waits up to `lingerMs` for more
 *   occurrences, so one error per request is not one transaction per error.
 *   A full batch, `flush()` and `close()` do not wait.
 * - Timers are unref'd: a writer never keeps a process alive by itself (the
 *   handler flushes on `beforeExit` instead, which skips the linger). Only
 *   when the handler has no exit flush does the linger timer hold the
 *   process, so that occurrences waiting in it are still written.
 */

import { randomUUID } from 'node:crypto';
import type { OccurrenceInput, TicketBackend } from '../backends/contract.js';
import { asLogticketsError, LogticketsError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { Captured } from './occurrence.js';
import type { Folded } from './fold-table.js';
import type { OverflowKey } from './overflow-table.js';
import { WriterQueue } from './writer-queue.js';

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
  /**
   * How long a batch that is not full waits for more occurrences before it is
   * written (group commit): a steady trickle costs a few transactions a
   * second instead of one per occurrence. 0 writes at the next turn.
   */
  readonly lingerMs: number;
  /** Whether the linger timer keeps the process alive (when nothing flushes at exit). */
  readonly lingerHoldsProcess: boolean;
  readonly maxRejectedAttempts: number;
  readonly backoff: BackoffOptions;
  /** Passed to the store: how long after a solve an occurrence counts without reopening (default 60 s). */
  readonly regressionGraceMs?: number;
  readonly prepare: (item: Captured) => OccurrenceInput;
  readonly onError: (error: LogticketsError, info: { backend: string; attempt: number; willRetry: boolean }) => void;
}

export class BackendWriter {
  private readonly waiting: WriterQueue;
  private inflight: { items: Captured[]; folded: Folded[]; batch: OccurrenceInput[]; batchId: string } | undefined;
  private running = false;
  private pending: { kind: 'now'; handle: NodeJS.Immediate } | { kind: 'linger'; handle: NodeJS.Timeout } | undefined;
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
    this.waiting = new WriterQueue(options);
  }

  /** Queue a snapshot (`key`: its overflow key, when the caller already made it). */
  enqueue(item: Captured, key?: OverflowKey): void {
    if (this.closed) {
      this.dropped.closed++;
      return;
    }
    if (!this.waiting.add(item, key)) this.dropped.queue_full++;
    this.schedule();
  }

  /** Whether calls are being counted rather than queued (the queue is full). */
  get overflowing(): boolean {
    return !this.closed && this.waiting.overflowing;
  }

  /**
   * With the queue full, count a call of a key already counted, taking no
   * snapshot at all; false when the caller must capture and enqueue instead.
   */
  countKnown(key: OverflowKey, timestamp: number): boolean {
    if (this.closed || !this.waiting.countKnown(key, timestamp)) return false;
    this.schedule();
    return true;
  }

  get size(): number {
    return this.waiting.size;
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
      queuedBytes: this.waiting.bytes,
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
    const flushed = new Promise<boolean>((resolve) => {
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
    // Waiting for a flush should wait out neither a long backoff nor the linger: try now.
    this.wakeBackoff?.();
    this.schedule();
    return flushed;
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
    if (!this.running) this.inflight = undefined;
    const dropped = this.waiting.dropAllBut(this.inflight);
    this.dropped.shutdown += dropped;
    this.wakeWaiters(false);
    return dropped;
  }

  private wakeWaiters(ok: boolean): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake(ok);
  }

  /**
   * Whether waiting queued occurrences should be written at once rather than
   * after the linger: a full batch, a flush or close waiting, folded counts
   * (the queue is full), or one-by-one isolation of a rejected batch.
   */
  private urgent(): boolean {
    return (
      this.options.lingerMs === 0 ||
      this.closed ||
      this.idleWaiters.length > 0 ||
      this.isolating > 0 ||
      this.waiting.full(this.options.batchSize)
    );
  }

  private schedule(): void {
    if (this.running) return;
    if (this.pending !== undefined) {
      if (this.pending.kind === 'now' || !this.urgent()) return;
      // The batch filled up (or a flush came) during the linger: write now.
      clearTimeout(this.pending.handle);
      this.pending = undefined;
    }
    const run = () => {
      this.pending = undefined;
      void this.drain();
    };
    this.pending = this.urgent()
      ? { kind: 'now', handle: setImmediate(run) }
      : { kind: 'linger', handle: this.lingerTimer(run) };
  }

  private lingerTimer(run: () => void): NodeJS.Timeout {
    const timer = setTimeout(run, this.options.lingerMs);
    if (!this.options.lingerHoldsProcess) timer.unref();
    return timer;
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
    return this.waiting.take(
      limit,
      (item) => this.tryPrepare(item),
      (count, reason) => this.lose(reason, count),
    );
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // The first batch is written whatever its size: the linger that started this drain is over.
    let wrote = false;
    try {
      while (this.size > 0) {
        // Less than a batch left and nobody waiting: let more gather first (schedule() below).
        if (wrote && this.inflight === undefined && !this.urgent()) break;
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
          wrote = true;
          this.settle(items, folded);
          for (const occurrence of batch) this.counts.written += occurrence.count ?? 1;
          this.attempt = 0;
          this.rejectedAttempts = 0;
        } catch (thrown) {
          const error = asLogticketsError(thrown, { code: 'BACKEND_REJECTED', backend: this.backend.name });
          // The handler closed the backend under this write, after giving up waiting for it: not news,
          // and what it held is counted as given up at shutdown below.
          if (this.closed && error.code === 'CLOSED') break;
          this.attempt++;
          this.rejectedAttempts = error.retryable ? 0 : this.rejectedAttempts + 1;
          this.lastError = `${error.code}: ${error.message}`;
          const giveUp = !error.retryable && this.rejectedAttempts >= this.options.maxRejectedAttempts;
          if (giveUp && batch.length > 1) {
            // Do not lose a whole batch for one bad entry: write its entries one
            // by one (fresh batch ids: the failed write changed nothing it keeps).
            this.report(error, true);
            this.waiting.putBack(folded);
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
      else if (!this.closed) this.schedule();
    }
  }

  /** Remove a written (or given-up) batch from the queue. */
  private settle(items: Captured[], folded: Folded[]): void {
    if (this.isolating > 0) this.isolating = Math.max(0, this.isolating - items.length - folded.length);
    this.counts.coalesced += this.waiting.settle({ items, folded });
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
