/**
 * The background loop that empties a tracker's part of the durable outbox.
 *
 * Each round leases due entries (a lease expires, so entries of a crashed
 * process are taken over), groups them by problem, and hands each group to
 * `deliver`, which answers "done" or "not before T" (a comment window is
 * closed). A failed delivery is released with backoff and reported through a
 * rate-limited hook, never dropped: it waits in the store until the tracker
 * is back. After a failure the round stops, so a tracker that is down is not
 * hammered by every waiting entry. Timers are unref'd: the loop never keeps a
 * process alive.
 */

import { randomUUID } from 'node:crypto';
import { asLogticketsError, type LogticketsError } from '../../errors.js';
import { backoffDelay, type BackoffOptions } from '../../ticketing/backoff.js';
import type { LinkKey, OutboxEntry, TicketStore } from '../contract.js';

export type DeliveryResult = 'done' | { readonly postponeUntil: string };

export interface DelivererOptions {
  readonly store: TicketStore;
  /** The tracker's name in the outbox. */
  readonly tracker: () => string;
  readonly deliver: (key: LinkKey, entries: readonly OutboxEntry[]) => Promise<DeliveryResult>;
  readonly onError: (error: LogticketsError) => void;
  /** How often to look for entries left by other processes or postponed (default 2 000 ms). */
  readonly pollIntervalMs?: number;
  /** How long a lease lasts (default 120 000 ms). */
  readonly leaseMs?: number;
  readonly retry?: BackoffOptions;
  readonly now?: () => Date;
}

// Entries per lease: large enough that a burst of one problem becomes one delivery.
const ROUND = 1_000;

export class OutboxDeliverer {
  private readonly owner = randomUUID();
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Entries delivered, and rounds that ended in a failure. */
  readonly counts = { delivered: 0, postponed: 0, failed: 0 };

  constructor(private readonly options: DelivererOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Look for work now (new entries were just enqueued). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.round().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      } else {
        this.schedule(this.options.pollIntervalMs ?? 2_000);
      }
    });
  }

  /** Run rounds until nothing of this tracker is due, or `timeoutMs` passes. Resolves true when the outbox is empty. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.running;
      const before = this.counts.failed;
      await this.round();
      if ((await this.options.store.countOutbox(this.options.tracker())) === 0) return true;
      if (Date.now() > deadline) return false;
      // Something is postponed or failing: wait a little rather than spin.
      await new Promise((r) => setTimeout(r, this.counts.failed > before ? 200 : 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), ms);
    this.timer.unref();
  }

  /** One pass over the due entries; returns after the first failure. */
  private async round(): Promise<void> {
    const { store } = this.options;
    const tracker = this.options.tracker();
    for (;;) {
      let entries: OutboxEntry[];
      try {
        entries = await store.leaseOutbox(tracker, this.owner, ROUND, this.options.leaseMs ?? 120_000);
      } catch (error) {
        this.report(error);
        return;
      }
      if (entries.length === 0) return;
      const leasedAt = Date.now();
      const leaseMs = this.options.leaseMs ?? 120_000;
      const handled = new Set<number>();
      for (const [key, group] of groupByProblem(tracker, entries)) {
        // A slow tracker must not let the lease run out under us (another process would deliver the same entries):
        // hand back what is left while the lease still holds.
        if (Date.now() - leasedAt > leaseMs * 0.7) {
          const rest = entries.filter((e) => !handled.has(e.id)).map((e) => e.id);
          await store.postponeOutbox(rest, this.owner, this.now().toISOString()).catch(() => undefined);
          break;
        }
        const ids = group.map((e) => e.id);
        for (const id of ids) handled.add(id);
        try {
          const result = await this.options.deliver(key, group);
          if (result === 'done') {
            await store.completeOutbox(ids, this.owner);
            this.counts.delivered += group.length;
          } else {
            await store.postponeOutbox(ids, this.owner, result.postponeUntil);
            this.counts.postponed += group.length;
          }
        } catch (thrown) {
          this.counts.failed++;
          const error = this.report(thrown);
          const attempts = Math.max(...group.map((e) => e.attempts)) + 1;
          // A configuration problem (password, permission) will not fix itself soon: wait at least a minute.
          const floor = error.retryable ? 0 : 60_000;
          const delay = Math.max(
            floor,
            backoffDelay(attempts, { initialMs: 1_000, maxMs: 600_000, ...this.options.retry }),
          );
          const at = new Date(this.now().getTime() + delay).toISOString();
          // Release everything leased this round: this group with an attempt counted, the rest as it was.
          await Promise.all(
            ids.map((id) => store.retryOutbox(id, this.owner, at, `${error.code}: ${error.message}`)),
          ).catch(() => undefined);
          const rest = entries.filter((e) => !ids.includes(e.id)).map((e) => e.id);
          await store.postponeOutbox(rest, this.owner, at).catch(() => undefined);
          return;
        }
      }
      if (entries.length < ROUND) return;
    }
  }

  private report(thrown: unknown): LogticketsError {
    const error = asLogticketsError(thrown, { code: 'TRACKER_FAULT', backend: this.options.tracker() });
    try {
      this.options.onError(error);
    } catch {
      // A throwing hook must not stop deliveries.
    }
    return error;
  }
}

function groupByProblem(tracker: string, entries: readonly OutboxEntry[]): Map<LinkKey, OutboxEntry[]> {
  const byKey = new Map<string, { key: LinkKey; entries: OutboxEntry[] }>();
  for (const entry of entries) {
    const k = `${entry.appId}\u0000${entry.hash}`;
    let group = byKey.get(k);
    if (group === undefined) {
      group = { key: { tracker, appId: entry.appId, hash: entry.hash }, entries: [] };
      byKey.set(k, group);
    }
    group.entries.push(entry);
  }
  return new Map([...byKey.values()].map((g) => [g.key, g.entries]));
}
