/**
 * One store shared by several trackers (a Trac and a GitHub repository, say).
 *
 * Each tracker alone would count every occurrence in the store again. A
 * TrackedStore writes each batch into the store once, with one delivery per
 * problem and tracker queued in the same write, then wakes each tracker's
 * deliverer. Reads, solve and delete are the store's.
 */

import type {
  GetOccurrencesOptions,
  GetTicketsOptions,
  OccurrenceInput,
  RecordOptions,
  RecordOutcome,
  StoredOccurrence,
  Ticket,
  TicketBackend,
  TicketFilter,
  TicketStore,
} from '../contract.js';
import type { TrackerBackend } from './tracker-backend.js';

export class TrackedStore implements TicketBackend {
  readonly name: string;

  constructor(
    readonly store: TicketStore,
    readonly trackers: readonly TrackerBackend[],
    /** Close the store with this (it was opened for it). */
    private readonly ownsStore = false,
  ) {
    this.name = [store.name, ...trackers.map((t) => t.name)].join(' + ');
  }

  async open(): Promise<void> {
    await this.store.open();
    await Promise.all(this.trackers.map((t) => t.open()));
  }

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const outbox = [...(options.outbox ?? []), ...this.trackers.flatMap((t) => t.outboxFor(batch))];
    const outcomes = await this.store.recordBatch(batch, { ...options, outbox });
    for (const tracker of this.trackers) tracker.notify();
    return outcomes;
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

  async close(): Promise<void> {
    await Promise.all(this.trackers.map((t) => t.close().catch(() => undefined)));
    if (this.ownsStore) await this.store.close();
  }
}
