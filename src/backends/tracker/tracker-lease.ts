/**
 * A deliverer's hold on its tracker's lease (docs/design/fleet-delivery.md):
 * one process in the whole fleet delivers to a tracker at a time.
 *
 * Every deliverer asks for the lease at each turn of its loop; the holder
 * renews it then and, while it is delivering, every third of the lease's
 * length from a timer, so a delivery that takes long never lets it run out.
 * When it dies its lease runs out and another process takes over within
 * `leaseMs` (plus one poll). If a renewal finds the lease lost (the process
 * stalled past its end and another took over), the holder's requests are
 * aborted: every write is also fenced by the store (a write is only granted
 * to the holder), so a stalled holder cannot write behind its successor.
 */

import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { TrackerStateStore } from '../tracker-state.js';

export class TrackerLease {
  /** Who holds it, as the store and `stats()` show: host, process and a random part. */
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private held = false;
  private renewer: NodeJS.Timeout | undefined;
  private lost = new AbortController();

  constructor(
    private readonly store: TrackerStateStore,
    private readonly tracker: string,
    readonly leaseMs: number,
  ) {}

  /** Whether this process delivers now (as of the last acquire or renewal). */
  get holds(): boolean {
    return this.held;
  }

  /** Aborted when the lease is found lost while delivering: requests under way stop. */
  get signal(): AbortSignal {
    return this.lost.signal;
  }

  /** Take the lease when free or run out, or renew it; true when this process holds it. */
  async acquire(): Promise<boolean> {
    const was = this.held;
    try {
      this.held = await this.store.acquireTrackerLease(this.tracker, this.owner, this.leaseMs);
    } catch (error) {
      this.held = false;
      throw error;
    } finally {
      if (was && !this.held) this.lose();
    }
    if (this.held && this.lost.signal.aborted) this.lost = new AbortController();
    return this.held;
  }

  /** Renew from a timer while a delivery runs; `stop` returned ends it. */
  keepWhile(): () => void {
    if (this.renewer !== undefined) clearInterval(this.renewer);
    const timer = setInterval(
      () => {
        void this.acquire().catch(() => undefined);
      },
      Math.max(10, Math.floor(this.leaseMs / 3)),
    );
    timer.unref();
    this.renewer = timer;
    return () => {
      clearInterval(timer);
      if (this.renewer === timer) this.renewer = undefined;
    };
  }

  /** Give the lease up so that another process takes over at once (closing). */
  async release(): Promise<void> {
    if (this.renewer !== undefined) clearInterval(this.renewer);
    this.renewer = undefined;
    if (!this.held) return;
    this.held = false;
    await this.store.releaseTrackerLease(this.tracker, this.owner).catch(() => undefined);
  }

  private lose(): void {
    this.lost.abort(new Error('the delivery lease was taken over by another process'));
  }
}
