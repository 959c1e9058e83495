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
import { ticketKey } from '../backends/batch.js';
import { asLogticketsError, LogticketsError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { Captured } from './occurrence.js';

export type DropReason = 'queue_full' | 'rejected' | 'closed' | 'shutdown';

export interface WriterStats {
  readonly backend: string;
  /** Occurrences waiting (folded ones counted by what they stand for). */
  readonly queued: number;
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
  readonly maxFolded: number;
  readonly batchSize: number;
  readonly maxRejectedAttempts: number;
  readonly backoff: BackoffOptions;
  readonly prepare: (item: Captured) => OccurrenceInput;
  readonly onError: (error: LogticketsError, info: { backend: string; attempt: number; willRetry: boolean }) => void;
}

interface Folded {
  occurrence: OccurrenceInput;
  count: number;
}

export class BackendWriter {
  private queue: Captured[] = [];
  private folded = new Map<string, Folded>();
  private inflight: { items: Captured[]; folded: Folded[]; batch: OccurrenceInput[]; batchId: string } | undefined;
  private foldedCount = 0;
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
  private dropped: Record<DropReason, number> = { queue_full: 0, rejected: 0, closed: 0, shutdown: 0 };
  private state: WriterStats['state'] = 'idle';
  private lastError: string | null = null;

  constructor(
    readonly backend: TicketBackend,
    private readonly options: WriterOptions,
  ) {}

  enqueue(item: Captured): void {
    if (this.closed) {
      this.dropped.closed++;
      return;
    }
    if (this.queue.length < this.options.maxQueue) {
      this.queue.push(item);
    } else {
      this.fold(item);
    }
    this.schedule();
  }

  get size(): number {
    return this.queue.length + this.foldedCount;
  }

  stats(): WriterStats {
    return {
      backend: this.backend.name,
      queued: this.size,
      written: this.counts.written,
      retried: this.counts.retried,
      dropped: { ...this.dropped },
      coalesced: this.counts.coalesced,
      state: this.closed ? 'closed' : this.state,
      lastError: this.lastError,
    };
  }

  /** Resolves once the queue is empty (true), or when `timeoutMs` passes first (false). */
  flush(timeoutMs?: number): Promise<boolean> {
    if (this.size === 0 && !this.running) return Promise.resolve(true);
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
    const dropped = this.dropWaiting();
    this.wakeBackoff?.();
    return flushed && dropped === 0;
  }

  /** Give up everything queued except a batch being written; returns how many occurrences. */
  private dropWaiting(): number {
    const keepItems = this.running ? (this.inflight?.items.length ?? 0) : 0;
    const keepFolded = this.running ? (this.inflight?.folded.reduce((n, f) => n + f.count, 0) ?? 0) : 0;
    if (!this.running) this.inflight = undefined;
    const dropped = this.queue.length - keepItems + (this.foldedCount - keepFolded);
    this.dropped.shutdown += dropped;
    this.queue.length = keepItems;
    this.folded.clear();
    this.foldedCount = keepFolded;
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
    const key = ticketKey(occurrence.appId, occurrence.hash);
    const entry = this.folded.get(key);
    if (entry !== undefined) {
      entry.occurrence = occurrence;
      entry.count++;
    } else if (this.folded.size < this.options.maxFolded) {
      this.folded.set(key, { occurrence, count: 1 });
    } else {
      this.dropped.queue_full++;
      return;
    }
    this.foldedCount++;
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
      this.dropped.rejected++;
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
        continue;
      }
      batch.push(occurrence);
      items.push(item);
    }
    // Folded entries leave the table while they are written (and retried), so
    // that folds arriving meanwhile start a new entry instead of changing this one.
    const folded: Folded[] = [];
    for (const [key, entry] of this.folded) {
      if (batch.length >= limit) break;
      this.folded.delete(key);
      folded.push(entry);
      batch.push({ ...entry.occurrence, count: entry.count * (entry.occurrence.count ?? 1) });
    }
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
          await this.backend.recordBatch(batch, { batchId });
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
            this.unfold(folded);
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
      if (this.size === 0) this.wakeWaiters(true);
    }
  }

  /** Put the folded entries of a batch back (merging with any folded since). */
  private unfold(folded: Folded[]): void {
    for (const entry of folded) {
      const key = ticketKey(entry.occurrence.appId, entry.occurrence.hash);
      const now = this.folded.get(key);
      if (now === undefined) this.folded.set(key, entry);
      else now.count += entry.count;
    }
  }

  /** Remove a written (or given-up) batch from the queue. */
  private settle(items: Captured[], folded: Folded[]): void {
    if (this.isolating > 0) this.isolating = Math.max(0, this.isolating - items.length - folded.length);
    if (items.length > 0) this.queue.splice(0, items.length);
    for (const entry of folded) {
      this.foldedCount -= entry.count;
      this.counts.coalesced += entry.count;
    }
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
