/**
 * The loop that empties one tracker's part of the durable outbox. Every
 * process runs one per configured tracker, but only the process holding the
 * tracker's lease in the store delivers (tracker-lease.ts); the others only
 * ask for the lease now and then, to take over when its holder dies.
 *
 * A turn of the holder: read the tracker's fleet-wide state; while it is
 * paused (a rate limit, a backoff after failures) do nothing until the pause
 * ends; else lease the due entries, and deliver them problem by problem
 * (tracker-delivery.ts). Each tracker write takes one write of the budget
 * from the store first (write-gate.ts); a budget that is used up postpones
 * what is left until it has room. A failure pauses the tracker as a whole
 * (tracker-pause.ts) and releases the entries, never drops them. Then, when
 * due, it looks for changes made in the tracker (sync-poller.ts).
 *
 * `settle` (a closing process) delivers what is due, and held digests when
 * asked, until a deadline; `stop` then lets the turn hand its entries back
 * before it gives the lease up. Timers are unref'd: no process is kept alive.
 */

import { asLogticketsError, type LogticketsError } from '../../errors.js';
import type { LinkKey, OutboxEntry, TicketStore } from '../contract.js';
import type { DelivererStats } from '../delivery-report.js';
import type { TrackerState } from '../tracker-state.js';
import type { DelivererOptions, SettleOptions } from './deliverer-options.js';
import type { ProblemOutcome, TrackerDelivery } from './tracker-delivery.js';
import { TrackerLease } from './tracker-lease.js';
import { afterFailure, releaseFailed } from './tracker-pause.js';
import { Abandoned, before, groupByProblem, handBack, retriesFirst, sleep, unlessAbandoned } from './outbox-groups.js';
import { DeliveryWrites, WriteRefused, writeGate } from './write-gate.js';

export type { DelivererOptions, SettleOptions } from './deliverer-options.js';

// Entries per lease: large enough that a burst of one problem becomes one delivery.
const ROUND = 1_000;
// What a closing process told to send held digests leases: everything, whenever it is due.
const FAR_FUTURE = Date.UTC(9999, 11, 31);
// Least time between two turns started by new batches.
const KICK_GAP_MS = 100;

export class OutboxDeliverer {
  readonly lease: TrackerLease;
  private readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | undefined;
  private lastTurn = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private abort = new AbortController();
  private state: TrackerState | undefined;
  private pending = 0;
  /** Whether this process was the deliverer when it stopped (what close() reports). */
  private heldAtStop = false;
  private readonly counts = { delivered: 0, postponed: 0, failed: 0, writes: 0 };

  constructor(private readonly options: DelivererOptions) {
    this.name = options.delivery.tracker.name;
    this.lease = new TrackerLease(options.store, this.name, options.leaseMs);
  }

  get delivery(): TrackerDelivery {
    return this.options.delivery;
  }

  stats(): DelivererStats {
    return {
      tracker: this.name,
      ...this.counts,
      pending: this.pending,
      delivering: this.stopped ? this.heldAtStop : this.lease.holds,
      pausedUntil: this.state?.pausedUntil ?? null,
      reason: this.state?.reason ?? null,
      ...(this.options.poller === undefined ? {} : { sync: this.options.poller.stats() }),
    };
  }

  /** Look for work soon (new entries came): cheap when this process cannot deliver, one turn per KICK_GAP_MS at most. */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    // Not the holder, or paused: the timer already says when to look again; a new batch changes nothing.
    if (this.timer !== undefined && (!this.lease.holds || this.pausedUntil() > Date.now())) return;
    const wait = this.lastTurn + KICK_GAP_MS - Date.now();
    if (wait > 0) {
      if (this.timerAt === undefined || this.timerAt > Date.now() + wait) this.schedule(wait);
      return;
    }
    this.running = this.turn(undefined).finally(() => {
      this.running = undefined;
      this.lastTurn = Date.now();
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Deliver until this tracker's outbox is empty (true) or `timeoutMs` passes; another lease holder delivers meanwhile. */
  async drain(timeoutMs: number, deliverHeld = false, retryNow = false): Promise<boolean> {
    const run = { deadline: Date.now() + timeoutMs, deliverHeld, retryNow };
    for (;;) {
      await this.exclusiveTurn(run);
      this.pending = await this.options.store.countOutbox(this.name);
      if (this.pending === 0) return true;
      // The holder waits for what it knows (a pause, a window, the budget); the others look again soon.
      const wait = this.lease.holds ? this.nextWait(run) : Math.min(this.options.pollIntervalMs, 250);
      if (wait === undefined || Date.now() >= run.deadline) return false;
      await sleep(Math.min(run.deadline - Date.now(), Math.max(wait, 50)));
    }
  }

  /**
   * Deliver what can be within the deadline: what is due, what comment windows or a pause release in time (or,
   * with `deliverHeld`, held digests at once). Requests under way at the deadline are aborted. Resolves what is left.
   */
  async settle(settle: SettleOptions): Promise<number> {
    const cut = new AbortController();
    const timer = setTimeout(
      () => {
        cut.abort();
        // A request of the loop's own turn would outlast the deadline too.
        this.cutRequests();
      },
      Math.max(0, settle.deadline - Date.now()),
    );
    const run = { ...settle, signal: cut.signal };
    try {
      while (Date.now() < settle.deadline) {
        const before = this.counts.delivered;
        await this.exclusiveTurn(run);
        this.pending = await this.options.store.countOutbox(this.name).catch(() => this.pending);
        const wait = this.nextWait(settle);
        if (this.pending === 0 || wait === undefined) break;
        if (wait > 0) await sleep(wait, cut.signal);
        else if (this.counts.delivered === before) break;
      }
    } finally {
      clearTimeout(timer);
    }
    return this.pending;
  }

  /** Stop the loop; with a deadline, first settle within it. Gives the lease up. Resolves the entries left. */
  async stop(settle?: SettleOptions): Promise<number> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    // Without time to settle, requests under way stop now.
    if (settle === undefined) this.abort.abort();
    try {
      if (settle !== undefined && Date.now() < settle.deadline) await this.settle(settle);
    } finally {
      this.abort.abort();
      // A turn still running holds leased entries: left to hand them back after the lease went and the store
      // closed, they would stay frozen until their lease ran out while the next holder froze the same problems'
      // pending rows (three rows a problem). Its requests are cut, a call ignoring that abandoned: it ends soon.
      while (this.running !== undefined) await this.running.catch(() => undefined);
      this.heldAtStop = this.lease.holds;
      await this.lease.release();
    }
    return this.pending;
  }

  /** Abort the requests under way; later turns get a fresh signal unless the deliverer stopped. */
  private cutRequests(): void {
    this.abort.abort();
    if (!this.stopped) this.abort = new AbortController();
  }

  private pausedUntil(): number {
    return this.state?.pausedUntil == null ? 0 : Date.parse(this.state.pausedUntil);
  }

  /** While settling: how long to wait before the next turn can do something, or undefined when nothing can within the deadline. */
  private nextWait(settle: SettleOptions): number | undefined {
    const now = Date.now();
    if (now >= settle.deadline || !this.lease.holds) return undefined;
    const paused = this.pausedUntil();
    if (paused > now) return paused < settle.deadline ? paused - now : undefined;
    const at = this.heldUntil;
    if (at !== undefined && at > now) return at < settle.deadline ? at - now : undefined;
    return 0;
  }

  /** The earliest time a delivery postponed in the last turn can go (a comment window, the budget). */
  private heldUntil: number | undefined;

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const delay = Math.max(10, Math.min(ms, 2 ** 31 - 1));
    this.timerAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.lastTurn = 0;
      this.kick();
    }, delay);
    this.timer.unref();
  }

  /** A turn of drain or settle, never at the same time as the loop's own. */
  private async exclusiveTurn(settle: SettleOptions): Promise<void> {
    // A turn stuck in a request that ignores its abort signal must not hold a close past its deadline.
    while (this.running !== undefined) if (!(await before(this.running, settle.deadline))) return;
    const turn = this.turn(settle).finally(() => {
      if (this.running === turn) this.running = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      }
    });
    this.running = turn;
    await before(turn, settle.deadline);
  }

  /** One turn: take or renew the lease, respect a pause, deliver what is due. */
  private async turn(settle: SettleOptions | undefined): Promise<void> {
    const { store, pollIntervalMs } = this.options;
    let next = pollIntervalMs;
    try {
      await this.options.prepare?.();
      const held = await this.lease.acquire();
      // Every process keeps what stats() shows current: the fleet-wide pause, and what waits.
      this.state = await store.getTrackerState(this.name);
      this.pending = await store.countOutbox(this.name);
      if (!held) return;
      if (
        settle?.retryNow === true &&
        this.pausedUntil() > Date.now() &&
        !this.state.reason?.startsWith('BACKEND_BUSY')
      ) {
        // A person asked (sync after fixing the config): try now; a rate limit is still waited out.
        await store.updateTrackerState(this.name, this.lease.owner, { pausedUntil: null });
        this.state = { ...this.state, pausedUntil: null };
      }
      const paused = this.pausedUntil() - Date.now();
      if (paused > 0) {
        next = Math.min(paused, Math.max(pollIntervalMs, this.options.leaseMs / 3));
        return;
      }
      const stopRenewing = this.lease.keepWhile();
      try {
        next = await this.deliverDue(settle);
        const poller = settle === undefined ? this.options.poller : undefined;
        if (poller !== undefined) next = Math.min(next, await poller.turn(this.lease.owner, this.abort.signal));
      } finally {
        stopRenewing();
      }
      this.pending = await store.countOutbox(this.name);
    } catch (thrown) {
      this.report(thrown);
    } finally {
      if (settle === undefined) this.schedule(next);
    }
  }

  /** Lease and deliver due entries; returns when to look again. */
  private async deliverDue(settle: SettleOptions | undefined): Promise<number> {
    const { store, leaseMs, pollIntervalMs } = this.options;
    const dueBy = settle === undefined ? undefined : new Date(settle.deliverHeld ? FAR_FUTURE : settle.deadline);
    const cut = () => this.abort.signal.aborted || settle?.signal?.aborted === true;
    this.heldUntil = undefined;
    for (;;) {
      // Cut (closing) or no longer the holder: lease nothing more.
      if (cut() || !this.lease.holds) return pollIntervalMs;
      const entries = await store.leaseOutbox(this.name, this.lease.owner, ROUND, leaseMs, {
        ...(dueBy === undefined ? {} : { dueBy: dueBy.toISOString() }),
      });
      if (entries.length === 0) return pollIntervalMs;
      const leasedAt = Date.now();
      const groups = groupByProblem(this.name, entries);
      for (let i = 0; i < groups.length; i++) {
        const rest = groups.slice(i).flatMap(([, g]) => g);
        // Our hold on these entries ends with leaseMs: hand back what is left before it does, and lease again.
        if (Date.now() - leasedAt > leaseMs * 0.6 || !this.lease.holds || cut()) {
          await handBack(store, this.lease.owner, rest, new Date(Date.now()).toISOString(), 'handed back unsent');
          return this.lease.holds && !cut() ? 0 : pollIntervalMs;
        }
        const [key, all] = groups[i]!;
        const { now: group, later } = retriesFirst(all);
        if (later.length > 0)
          await store.postponeOutbox(
            later.map((e) => e.id),
            this.lease.owner,
            new Date(Date.now()).toISOString(),
          );
        const outcome = await this.deliverOne(key, group, settle);
        if (outcome === 'continue') continue;
        // The tracker is paused, the budget is used up, or requests were cut: nothing else goes this turn.
        const others = groups.slice(i + 1).flatMap(([, g]) => g);
        const at = new Date(outcome.now === true ? Date.now() : outcome.until).toISOString();
        await handBack(store, this.lease.owner, others, at, 'handed back unsent');
        return Math.max(10, outcome.until - Date.now());
      }
      if (entries.length < ROUND) return pollIntervalMs;
    }
  }

  /** Deliver one problem's entries; 'continue', or the time before which this tracker takes no more. */
  private async deliverOne(
    key: LinkKey,
    group: readonly OutboxEntry[],
    settle: SettleOptions | undefined,
  ): Promise<'continue' | { until: number; now?: boolean }> {
    const { store, delivery, leaseMs } = this.options;
    const [owner, ids] = [this.lease.owner, group.map((e) => e.id)];
    let outcome: ProblemOutcome;
    const signal = AbortSignal.any([this.abort.signal, this.lease.signal, ...(settle?.signal ? [settle.signal] : [])]);
    const gate = writeGate(store, this.name, owner, delivery.tracker.writeBudget ?? [], () => this.counts.writes++);
    const writes = new DeliveryWrites(gate, signal);
    try {
      const call = delivery.deliver(key, group, {
        ...{ owner, claimMs: leaseMs, signal, beforeWrite: writes.beforeWrite },
        ignoreWindow: settle?.deliverHeld ?? false,
      });
      outcome = await unlessAbandoned(call, signal);
    } catch (thrown) {
      if (thrown instanceof WriteRefused) {
        // Nothing of this delivery was sent: it waits, as does everything else, until a write fits.
        await store.postponeOutbox(ids, owner, thrown.notBefore);
        this.counts.postponed += ids.length;
        const until = Date.parse(thrown.notBefore);
        this.hold(until);
        return { until };
      }
      // A call given up on writes nothing more; a write it had asked for may still be made (ids kept).
      return this.failed(thrown, group, signal, thrown instanceof Abandoned ? writes.abandon() : writes.granted);
    }
    await store.completeOutbox(outcome.done, owner);
    this.counts.delivered += outcome.done.length;
    if (outcome.later !== undefined) {
      const later = group.filter((e) => outcome.later!.ids.includes(e.id));
      // Entries looked for in the tracker and not found are unsent; the others keep their ids.
      if (outcome.later.checked) await store.postponeOutbox(outcome.later.ids, owner, outcome.later.at);
      else await handBack(store, owner, later, outcome.later.at, 'put off before it was looked for');
      this.counts.postponed += outcome.later.ids.length;
      this.hold(Date.parse(outcome.later.at));
    }
    if (this.state !== undefined && this.state.failures > 0) {
      await store.updateTrackerState(this.name, owner, { failures: 0, pausedUntil: null, reason: null });
      this.state = { ...this.state, failures: 0, pausedUntil: null, reason: null };
    }
    return 'continue';
  }

  private async failed(
    thrown: unknown,
    group: readonly OutboxEntry[],
    signal: AbortSignal,
    wrote: boolean,
  ): Promise<'continue' | { until: number; now?: boolean }> {
    const { store } = this.options;
    const owner = this.lease.owner;
    const release = (at: string, message: string) => releaseFailed(store, owner, group, wrote, at, message);
    if (signal.aborted) {
      // Cut by this process (closing, or its lease lost), not a failure of the tracker.
      await release(new Date(Date.now()).toISOString(), 'cut at shutdown');
      return { until: Date.now() };
    }
    this.counts.failed++;
    const error = this.report(thrown);
    const attempts = Math.max(...group.map((e) => e.attempts));
    const outcome = afterFailure(error, {
      failures: this.state?.failures ?? 0,
      attempts,
      now: new Date(Date.now()),
      retry: this.options.retry,
    });
    const message = `${error.code}: ${error.message}`;
    if (outcome.scope === 'problem') {
      await release(outcome.retryAt.toISOString(), message);
      return 'continue';
    }
    const until = outcome.pausedUntil.toISOString();
    const patch = { pausedUntil: until, failures: outcome.failures, reason: outcome.reason };
    await store.updateTrackerState(this.name, owner, patch);
    this.state = { ...(this.state ?? { tracker: this.name, cursor: null }), ...patch };
    // The entries stay due: the pause (in the store) is what holds them back, so lifting it lets them go at once.
    await release(new Date(Date.now()).toISOString(), message);
    return { until: outcome.pausedUntil.getTime(), now: true };
  }

  private hold(at: number): void {
    if (Number.isFinite(at)) this.heldUntil = this.heldUntil === undefined ? at : Math.min(this.heldUntil, at);
  }

  private report(thrown: unknown): LogticketsError {
    const error = asLogticketsError(thrown, { code: 'TRACKER_FAULT', backend: this.name });
    try {
      this.options.onError(error);
    } catch {
      // A throwing hook must not stop deliveries.
    }
    return error;
  }
}
