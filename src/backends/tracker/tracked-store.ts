/**
 * A store with its trackers: the one backend a handler writes to when tickets
 * also go to Trac, GitHub or another Tracker.
 *
 * Each batch is written into the store once, with one delivery per problem
 * and tracker queued in the same write; then each tracker's deliverer is
 * woken. Reads and delete are the store's; a ticket's links to its trackers
 * come from the store too (`links`). A state change (solve, reopen, mute,
 * unmute) is queued for every tracker, then made in the store: the trackers
 * follow it, and changes made in a tracker come back (two-way sync,
 * tracker-sync.ts).
 *
 * Every process of a fleet runs a deliverer per tracker, and the store
 * decides which one delivers (a lease) and keeps the limits all of them obey
 * (docs/design/fleet-delivery.md). `close({ timeoutMs, deliverHeld })` hands
 * over at once and resolves, within its timeout, how many deliveries still
 * wait.
 */

import { StateShortcuts } from '../state-shortcuts.js';
import { LogticketsError } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import { checkOptions } from '../../options.js';
import {
  type GetOccurrencesOptions,
  type GetTicketsOptions,
  type OccurrenceInput,
  type RecordOptions,
  type RecordOutcome,
  type StoredOccurrence,
  type Ticket,
  type TicketBackend,
  type TicketFilter,
  type TicketStore,
} from '../contract.js';
import { registerCountsIn } from '../counts-in.js';
import type { SettableState, StateChangeOptions } from '../ticket-state.js';
import { changeState } from './state-change.js';
import { SyncPoller, DEFAULT_SYNC_INTERVAL_MS } from './sync-poller.js';
import { ticketLinks, type TicketLink } from './ticket-links.js';
import {
  asEntry,
  checkCloseOptions,
  checkPacing,
  checkStore,
  openStore,
  PACING_KINDS,
  type DeliveryOptions,
  type TrackerEntry,
} from './tracked-store-options.js';
import { TrackerSync } from './tracker-sync.js';
import type { Tracker } from './tracker.js';
import type { CloseOptions, DelivererStats, DeliveryReport } from '../delivery-report.js';
import { OutboxDeliverer } from './outbox-deliverer.js';
import { FULL_SYNC_KEY, TrackerDelivery } from './tracker-delivery.js';

export type { CloseOptions, DelivererStats, DeliveryReport } from '../delivery-report.js';
export type { DeliveryOptions, TrackerEntry } from './tracked-store-options.js';

export interface DeliverPendingOptions {
  readonly timeoutMs?: number;
  /** Only this tracker (its name). */
  readonly tracker?: string;
  readonly deliverHeld?: boolean;
  readonly retryNow?: boolean;
}

export interface TrackedStoreOptions extends DeliveryOptions {
  /** Where tickets, links and the outbox live: a store URI or instance (default `sqlite:./logtickets.db`). */
  readonly store?: string | TicketStore;
  readonly trackers: ReadonlyArray<Tracker | TrackerEntry>;
  /** Called for delivery problems. Default: one line on stderr per tracker and kind of problem, at most every 30 s. */
  readonly onError?: (error: LogticketsError) => void;
  /** Close the store with this backend (default: only a store opened here from a URI). */
  readonly closeStore?: boolean;
}

export interface DeliveryCounts {
  readonly delivered: number;
  readonly postponed: number;
  readonly failed: number;
}

// Settling stops this long before the caller's deadline, to leave time for giving the lease up and closing.
const CLOSE_MARGIN_MS = 100;
// How long after start() the deliverers begin.
const START_DELAY_MS = 1_000;

export class TrackedStore extends StateShortcuts implements TicketBackend {
  readonly name: string;
  readonly store: TicketStore;
  readonly trackers: readonly Tracker[];
  private readonly deliverers: readonly OutboxDeliverer[];
  private readonly closeStore: boolean;
  private closing: Promise<DeliveryReport> | undefined;
  private opened = false;
  private starting: NodeJS.Timeout | undefined;

  constructor(options: TrackedStoreOptions) {
    super();
    checkOptions('TrackedStore options', options, {
      store: 'any',
      trackers: 'array',
      ...PACING_KINDS,
      onError: 'function',
      closeStore: 'boolean',
    });
    checkPacing('TrackedStore options', options);
    const entries = (options.trackers ?? []).map((item, index) => asEntry(item, index));
    const names = entries.map((e) => e.tracker.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined)
      throw new LogticketsError('INVALID_ARGUMENT', `TrackedStore options.trackers: ${twice} is listed twice`);
    const store = options.store ?? 'sqlite:./logtickets.db';
    this.store = typeof store === 'string' ? openStore(store) : checkStore(store);
    this.closeStore = options.closeStore ?? typeof store === 'string';
    this.trackers = entries.map((e) => e.tracker);
    this.name = [this.store.name, ...names].join(' + ');
    const report = rateLimitedStderr();
    this.deliverers = entries.map(({ tracker, ...pacing }) => {
      const onError =
        options.onError ??
        ((e: LogticketsError) =>
          report(
            `${tracker.name}|${e.code}`,
            `${tracker.name}: ${e.code}: ${e.message} (deliveries wait in the outbox)`,
          ));
      const delivery = new TrackerDelivery(
        tracker,
        this.store,
        pacing.commentIntervalMs ?? options.commentIntervalMs ?? 60_000,
      );
      const others = () => names.filter((n) => n !== tracker.name);
      const interval = pacing.syncIntervalMs ?? options.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
      const sync = new TrackerSync(tracker, this.store, others);
      const poller = new SyncPoller(sync, this.store, interval, onError);
      delivery.sync = sync;
      delivery.fullSync = (owner, signal) => poller.full(owner, signal);
      return new OutboxDeliverer({
        store: this.store,
        prepare: () => (this.opened ? Promise.resolve() : this.open()),
        delivery,
        poller,
        pollIntervalMs: pacing.pollIntervalMs ?? options.pollIntervalMs ?? 2_000,
        leaseMs: pacing.leaseMs ?? options.leaseMs ?? 10_000,
        retry: pacing.retry ?? options.retry,
        onError,
      });
    });
    registerCountsIn(this, this.store);
  }

  async open(): Promise<void> {
    await this.store.open();
    this.opened = true;
    for (const d of this.deliverers) d.kick();
  }

  /**
   * Deliver and look for changes made in the trackers from a second from now
   * on, before any write (a handler starts its backends when it is made; one
   * closed at once, as by an integration that turns itself off, never starts).
   * The store is opened by the first turn, and again after a failure.
   */
  start(): void {
    if (this.starting !== undefined || this.closing !== undefined) return;
    this.store.start?.();
    this.starting = setTimeout(() => {
      if (this.closing === undefined) for (const d of this.deliverers) d.kick();
    }, START_DELAY_MS);
    this.starting.unref();
  }

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const outbox = [...(options.outbox ?? []), ...this.deliverers.flatMap((d) => d.delivery.outboxFor(batch))];
    const outcomes = await this.store.recordBatch(batch, { ...options, outbox });
    for (const d of this.deliverers) d.kick();
    return outcomes;
  }

  /**
   * Deliver what waits in the outbox now, for every tracker or the one named;
   * true when nothing of theirs is left within `timeoutMs` (default 30 000).
   * The fleet's limits hold: while another process holds a tracker's lease,
   * this waits for that process to deliver; a pause or the write budget is
   * waited out within the timeout. `deliverHeld` sends digests held by
   * comment windows at once; `retryNow` lifts a pause after failures (not a
   * rate limit) first, for a person who just fixed the cause.
   */
  async deliverPending(options: DeliverPendingOptions = {}): Promise<boolean> {
    checkOptions('deliverPending options', options, {
      timeoutMs: { integer: { min: 0 } },
      tracker: 'string',
      deliverHeld: 'boolean',
      retryNow: 'boolean',
    });
    const { timeoutMs = 30_000, deliverHeld = false, retryNow = false } = options;
    const results = await Promise.all(
      this.select(options.tracker).map((d) => d.drain(timeoutMs, deliverHeld, retryNow)),
    );
    return results.every(Boolean);
  }

  /** Deliveries made, postponed, and attempts that failed in this process (all trackers, or the one named). */
  deliveryCounts(tracker?: string): DeliveryCounts {
    const total = { delivered: 0, postponed: 0, failed: 0 };
    for (const d of this.select(tracker)) {
      const s = d.stats();
      total.delivered += s.delivered;
      total.postponed += s.postponed;
      total.failed += s.failed;
    }
    return total;
  }

  /** Per tracker: what this process delivered, whether it delivers now, the fleet-wide pause, and what waits. */
  deliveryStats(): DelivererStats[] {
    return this.deliverers.map((d) => d.stats());
  }

  /**
   * Deliver what is due within `timeoutMs` without closing (what a handler
   * does at its close for a TrackedStore it does not own).
   */
  async settle(options: CloseOptions = {}): Promise<DeliveryReport> {
    checkCloseOptions('settle', options);
    const deadline = Date.now() + Math.max(0, (options.timeoutMs ?? 10_000) - CLOSE_MARGIN_MS);
    const settle = { deadline, deliverHeld: options.deliverHeld ?? false };
    await Promise.all(this.deliverers.map((d) => d.settle(settle).catch(() => undefined)));
    return this.report();
  }

  /** Where the ticket lives in each tracker (from the store's links). */
  links(ticket: Pick<Ticket, 'appId' | 'hash'>): Promise<TicketLink[]> {
    return ticketLinks(this.store, this.trackers, ticket);
  }

  countTickets(filter?: TicketFilter): Promise<number> {
    return this.store.countTickets(filter);
  }

  getTickets(options?: GetTicketsOptions): Promise<Ticket[]> {
    return this.store.getTickets(options);
  }

  getTicket(id: number): Promise<Ticket | null> {
    return this.store.getTicket(id);
  }

  getOccurrences(ticketId: number, options?: GetOccurrencesOptions): Promise<StoredOccurrence[]> {
    return this.store.getOccurrences(ticketId, options);
  }

  /** Change a ticket's state in the store and in every tracker (state-change.ts). */
  async setTicketState(id: number, state: SettableState, options?: StateChangeOptions): Promise<Ticket> {
    const names = this.trackers.map((t) => t.name);
    const after = await changeState(this.store, names, id, state, options);
    for (const d of this.deliverers) d.kick();
    return after;
  }

  /**
   * Read the state of every ticket of every tracker (or the one named) and
   * bring store and trackers together: after a long outage or a restored
   * backup. Asked through the outbox, so whichever process delivers to a
   * tracker does it; what waits in the outbox goes too, held digests
   * included. True when all was done within `timeoutMs` (default 120 000).
   */
  async syncAll(options: { readonly timeoutMs?: number; readonly tracker?: string } = {}): Promise<boolean> {
    checkOptions('syncAll options', options, { timeoutMs: { integer: { min: 0 } }, tracker: 'string' });
    const deliverers = this.select(options.tracker);
    const at = new Date(Date.now()).toISOString();
    await this.store.enqueueOutbox(
      deliverers.map((d) => ({ tracker: d.delivery.tracker.name, ...FULL_SYNC_KEY, payload: { fullSync: at } })),
    );
    const { timeoutMs = 120_000 } = options;
    // What waits is delivered with it, held digests included (as `sync` does): the read is done once the outbox is empty.
    const results = await Promise.all(deliverers.map((d) => d.drain(timeoutMs, true, true)));
    return results.every(Boolean);
  }

  deleteTicket(id: number): Promise<void> {
    return this.store.deleteTicket(id);
  }

  /**
   * Deliver what is due (waiting for comment windows that end in time, or
   * sending held digests at once with `deliverHeld`), give each tracker's
   * lease up so another process takes over at once, then close the trackers,
   * and the store if it is this backend's. Returns within `timeoutMs`
   * (default 10 000) plus a small margin: requests still under way are
   * aborted. Resolves what still waits in the outbox.
   */
  close(options: CloseOptions = {}): Promise<DeliveryReport> {
    try {
      checkCloseOptions('close', options);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.starting !== undefined) clearTimeout(this.starting);
    this.closing ??= (async () => {
      const timeoutMs = options.timeoutMs ?? 10_000;
      const deadline = Date.now() + Math.max(0, timeoutMs - CLOSE_MARGIN_MS);
      const settle = timeoutMs > 0 ? { deadline, deliverHeld: options.deliverHeld ?? false } : undefined;
      await Promise.all(this.deliverers.map((d) => d.stop(settle).catch(() => undefined)));
      const report = this.report();
      await Promise.all(this.trackers.map((t) => t.close().catch(() => undefined)));
      if (this.closeStore) await this.store.close();
      return report;
    })();
    return this.closing;
  }

  private report(): DeliveryReport {
    const trackers = this.deliveryStats();
    return { pending: trackers.reduce((n, s) => n + s.pending, 0), trackers };
  }

  private select(tracker: string | undefined): readonly OutboxDeliverer[] {
    if (tracker === undefined) return this.deliverers;
    const found = this.deliverers.filter((d) => d.delivery.tracker.name === tracker);
    if (found.length === 0)
      throw new LogticketsError('INVALID_ARGUMENT', `no tracker named ${tracker} in ${this.name}`);
    return found;
  }
}
