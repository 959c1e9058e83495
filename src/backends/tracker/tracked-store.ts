/**
 * A store with its trackers: the one backend a handler writes to when tickets
 * also go to Trac, GitHub or another Tracker.
 *
 * Each batch is written into the store once, with one delivery per problem
 * and tracker queued in the same write; then each tracker's deliverer is
 * woken. Reads, solve, reopen and delete are the store's; a ticket's links to
 * its trackers come from the store too (`links`).
 */

import { LogticketsError } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import { checkOptions } from '../../options.js';
import {
  isTicketStore,
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
import { openBackend } from '../open-backend.js';
import { ticketLinks, type TicketLink } from './ticket-links.js';
import type { Tracker } from './tracker.js';
import { TrackerDelivery, type DeliveryOptions } from './tracker-delivery.js';

/** A tracker with pacing of its own (else the TrackedStore's). */
export interface TrackerEntry extends DeliveryOptions {
  readonly tracker: Tracker;
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

export class TrackedStore implements TicketBackend {
  readonly name: string;
  readonly store: TicketStore;
  readonly trackers: readonly Tracker[];
  private readonly deliveries: readonly TrackerDelivery[];
  private readonly closeStore: boolean;

  constructor(options: TrackedStoreOptions) {
    checkOptions('TrackedStore options', options, {
      store: 'any',
      trackers: 'array',
      commentIntervalMs: { integer: { min: 0 } },
      pollIntervalMs: { integer: { min: 10 } },
      retry: 'object',
      onError: 'function',
      closeStore: 'boolean',
    });
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
    this.deliveries = entries.map(({ tracker, ...pacing }) => {
      const onError =
        options.onError ??
        ((e: LogticketsError) =>
          report(
            `${tracker.name}|${e.code}`,
            `${tracker.name}: ${e.code}: ${e.message} (deliveries wait in the outbox)`,
          ));
      return new TrackerDelivery(tracker, this.store, {
        commentIntervalMs: pacing.commentIntervalMs ?? options.commentIntervalMs,
        pollIntervalMs: pacing.pollIntervalMs ?? options.pollIntervalMs,
        retry: pacing.retry ?? options.retry,
        onError,
      });
    });
    registerCountsIn(this, this.store);
  }

  async open(): Promise<void> {
    await this.store.open();
    for (const d of this.deliveries) d.deliverer.kick();
  }

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const outbox = [...(options.outbox ?? []), ...this.deliveries.flatMap((d) => d.outboxFor(batch))];
    const outcomes = await this.store.recordBatch(batch, { ...options, outbox });
    for (const d of this.deliveries) d.deliverer.kick();
    return outcomes;
  }

  /**
   * Deliver what waits in the outbox now, for every tracker or the one named;
   * true when nothing of theirs is left within `timeoutMs` (default 30 000).
   */
  async deliverPending(options: { timeoutMs?: number; tracker?: string } = {}): Promise<boolean> {
    const results = await Promise.all(
      this.select(options.tracker).map((d) => d.deliverer.drain(options.timeoutMs ?? 30_000)),
    );
    return results.every(Boolean);
  }

  /** Deliveries made, postponed, and rounds that failed since this backend was made (all trackers, or the one named). */
  deliveryCounts(tracker?: string): DeliveryCounts {
    const total = { delivered: 0, postponed: 0, failed: 0 };
    for (const d of this.select(tracker)) {
      total.delivered += d.deliverer.counts.delivered;
      total.postponed += d.deliverer.counts.postponed;
      total.failed += d.deliverer.counts.failed;
    }
    return total;
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

  solveTicket(id: number): Promise<Ticket> {
    return this.store.solveTicket(id);
  }

  reopenTicket(id: number): Promise<Ticket> {
    return this.store.reopenTicket(id);
  }

  deleteTicket(id: number): Promise<void> {
    return this.store.deleteTicket(id);
  }

  /** Stops the deliverers (a delivery under way finishes), closes the trackers, and the store if it is this backend's. */
  async close(): Promise<void> {
    await Promise.all(this.deliveries.map((d) => d.deliverer.stop()));
    await Promise.all(this.trackers.map((t) => t.close().catch(() => undefined)));
    if (this.closeStore) await this.store.close();
  }

  private select(tracker: string | undefined): readonly TrackerDelivery[] {
    if (tracker === undefined) return this.deliveries;
    const found = this.deliveries.filter((d) => d.tracker.name === tracker);
    if (found.length === 0)
      throw new LogticketsError('INVALID_ARGUMENT', `no tracker named ${tracker} in ${this.name}`);
    return found;
  }
}

function isTracker(value: unknown): value is Tracker {
  const t = value as Partial<Tracker> | null;
  return (
    t !== null &&
    typeof t === 'object' &&
    typeof t.name === 'string' &&
    t.name !== '' &&
    typeof t.find === 'function' &&
    typeof t.create === 'function' &&
    typeof t.addOccurrences === 'function'
  );
}

function asEntry(item: Tracker | TrackerEntry, index: number): TrackerEntry {
  if (isTracker(item)) return { tracker: item };
  const entry = item as Partial<TrackerEntry> | null;
  if (entry !== null && typeof entry === 'object' && isTracker(entry.tracker)) {
    checkOptions(`TrackedStore options.trackers[${index}]`, entry, {
      tracker: 'any',
      commentIntervalMs: { integer: { min: 0 } },
      pollIntervalMs: { integer: { min: 10 } },
      retry: 'object',
    });
    return entry as TrackerEntry;
  }
  throw new LogticketsError(
    'INVALID_ARGUMENT',
    `TrackedStore options.trackers[${index}] must be a Tracker or { tracker, commentIntervalMs?, pollIntervalMs?, retry? }`,
  );
}

function checkStore(store: unknown): TicketStore {
  const b = store as TicketBackend | null;
  if (b === null || typeof b !== 'object' || typeof b.recordBatch !== 'function' || !isTicketStore(b)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      'TrackedStore options.store must be a store URI or a store that keeps links and an outbox',
    );
  }
  return b;
}

function openStore(uri: string): TicketStore {
  let backend: TicketBackend;
  try {
    backend = openBackend(uri);
  } catch (error) {
    if (error instanceof LogticketsError)
      throw new LogticketsError(error.code, `TrackedStore options.store: ${error.message}`);
    throw error;
  }
  if (!isTicketStore(backend)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `TrackedStore options.store: ${backend.name} cannot keep links and an outbox`,
    );
  }
  return backend;
}
