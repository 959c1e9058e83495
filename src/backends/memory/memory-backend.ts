/**
 * The in-memory reference backend.
 *
 * It states the contract in the plainest code: the conformance suite runs
 * against it first, and users can pass it to a TicketingHandler in their own
 * tests. Nothing survives the process. The ids of applied batches are kept
 * for a day and at most the last 10 000 of them (applied-batches.ts).
 */

import { StateShortcuts } from '../state-shortcuts.js';
import type {
  BucketCount,
  HistogramOptions,
  MessageCount,
  MessagesOptions,
  SparklineOptions,
  TicketAnalytics,
  TicketCount,
  TicketEvent,
  TimeWindow,
} from '../analytics.js';
import { stateChangeEvent } from '../analytics-rules.js';
import {
  readOnlyError,
  type GetOccurrencesOptions,
  type GetTicketsOptions,
  type Link,
  type LinkClaim,
  type LinkKey,
  type OccurrenceInput,
  type OutboxEntry,
  type OutboxEntryInput,
  type RecordOptions,
  type RecordOutcome,
  type SettableState,
  type StateChangeOptions,
  type StoredOccurrence,
  type Ticket,
  type TicketFilter,
  type TicketStore,
  type StoreAccessOptions,
} from '../contract.js';
import { AppliedBatches } from '../applied-batches.js';
import { groupByTicket } from '../batch.js';
import {
  checkFilter,
  checkLinkState,
  checkTicketId,
  occurrenceQuery,
  regressionGrace,
  ticketNotFound,
  ticketQuery,
} from '../query-options.js';
import { changeRelease, changeTime, checkSettableState, stateOf } from '../ticket-state.js';
import { checkOptions } from '../../options.js';
import type { BudgetWindow, TrackerLease, TrackerState, TrackerStatePatch, WriteGrant } from '../tracker-state.js';
import { MemoryAnalytics } from './memory-analytics.js';
import { MemoryLinks } from './memory-links.js';
import { clone, MemoryOutbox } from './memory-outbox.js';
import { MemoryTickets, view, type StoredTicket } from './memory-tickets.js';
import { MemoryTrackerState } from './memory-tracker-state.js';

export interface MemoryBackendOptions extends Pick<StoreAccessOptions, 'readOnly'> {
  /** The clock used for solvedAt, claims, leases and batch ids (tests pass their own). */
  readonly now?: () => Date;
}

export class MemoryBackend extends StateShortcuts implements TicketStore, TicketAnalytics {
  readonly name = 'memory';
  private readonly now: () => Date;
  private readonly store = new MemoryTickets();
  private readonly analytics = new MemoryAnalytics(this.store, this.name);
  private readonly links: MemoryLinks;
  private readonly appliedBatches: AppliedBatches;
  private readonly readOnly: boolean;
  private readonly outbox: MemoryOutbox;
  private readonly trackerState: MemoryTrackerState;

  constructor(options: MemoryBackendOptions = {}) {
    super();
    checkOptions('MemoryBackend options', options, { now: 'function', readOnly: 'boolean' });
    this.now = options.now ?? (() => new Date());
    this.readOnly = options.readOnly === true;
    this.appliedBatches = new AppliedBatches(() => this.now().getTime());
    this.outbox = new MemoryOutbox(this.now);
    this.links = new MemoryLinks(this.now);
    this.trackerState = new MemoryTrackerState(this.now);
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    this.writable('record occurrences');
    const deltas = groupByTicket(batch);
    const grace = regressionGrace(options);
    if (options.batchId !== undefined) {
      if (this.appliedBatches.has(options.batchId))
        return deltas.map((d) => this.store.currentOutcome(d.appId, d.hash));
      // Nothing below can fail, so the batch is applied whole once it is marked.
      this.appliedBatches.add(options.batchId);
    }
    if (options.outbox !== undefined) this.outbox.enqueue(options.outbox);
    return deltas.map((delta) => this.store.record(delta, grace));
  }

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    const matches = this.store.matcher(checkFilter(filter));
    let n = 0;
    for (const ticket of this.store.tickets.values()) if (matches(view(ticket))) n++;
    return n;
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const sign = q.descending ? -1 : 1;
    const rows = [...this.store.tickets.values()].map(view).filter(this.store.matcher(q.filter));
    rows.sort((a, b) => {
      const x = a[q.field];
      const y = b[q.field];
      if (x !== y) return (x < y ? -1 : 1) * sign;
      return (a.id - b.id) * sign;
    });
    return rows.slice(q.offset, q.offset + q.limit);
  }

  async getTicket(id: number): Promise<Ticket | null> {
    const ticket = this.store.tickets.get(checkTicketId(id));
    return ticket === undefined ? null : view(ticket);
  }

  async getOccurrences(ticketId: number, options: GetOccurrencesOptions = {}): Promise<StoredOccurrence[]> {
    const q = occurrenceQuery(options);
    const list = this.store.occurrences.get(checkTicketId(ticketId));
    if (list === undefined) throw ticketNotFound(ticketId, this.name);
    const sign = q.descending ? -1 : 1;
    const sorted = [...list].sort((a, b) => (a.time === b.time ? a.id - b.id : a.time < b.time ? -1 : 1) * sign);
    return sorted
      .slice(q.offset, q.offset + q.limit)
      .map(({ weight: _weight, ...o }) => ({ ...o, data: clone(o.data) }));
  }

  async setTicketState(id: number, state: SettableState, options?: StateChangeOptions): Promise<Ticket> {
    this.writable('change the state of a ticket');
    checkTicketId(id);
    checkSettableState(state);
    const at = changeTime(options, this.now());
    const release = changeRelease(options);
    const ticket = this.mustGet(id);
    // The later change wins: one older than the last is ignored.
    if (ticket.stateChangedAt !== null && ticket.stateChangedAt > at) return view(ticket);
    const before = stateOf(ticket);
    ticket.solved = state === 'solved';
    ticket.solvedAt = state === 'solved' ? at : null;
    ticket.solvedInRelease =
      state !== 'solved' ? null : release === undefined ? this.store.newestRelease(ticket.appId) : release;
    ticket.mutedAt = state === 'muted' ? at : null;
    ticket.stateChangedAt = at;
    const kind = stateChangeEvent(before, stateOf(ticket));
    if (kind !== null) {
      const release = kind === 'solved' ? ticket.solvedInRelease : null;
      this.store.addEvent({ ticketId: id, kind, at, release });
    }
    return view(ticket);
  }

  async deleteTicket(id: number): Promise<void> {
    this.writable('delete a ticket');
    this.store.delete(this.mustGet(id));
  }

  // -- analytics (memory-analytics.ts) ----------------------------------------

  async histogram(ticketId: number | null, options: HistogramOptions): Promise<BucketCount[]> {
    return this.analytics.histogram(ticketId, options);
  }

  async newTickets(options: HistogramOptions): Promise<BucketCount[]> {
    return this.analytics.newTickets(options);
  }

  async sparklines(ticketIds: readonly number[], options: SparklineOptions): Promise<Map<number, number[]>> {
    return this.analytics.sparklines(ticketIds, options);
  }

  async topTickets(
    options: TimeWindow & { readonly limit?: number; readonly filter?: TicketFilter },
  ): Promise<TicketCount[]> {
    return this.analytics.topTickets(options);
  }

  async messages(ticketId: number, options?: MessagesOptions): Promise<MessageCount[]> {
    return this.analytics.messages(ticketId, options);
  }

  async ticketEvents(ticketId: number): Promise<TicketEvent[]> {
    return this.analytics.ticketEvents(ticketId);
  }

  // -- links (memory-links.ts) ------------------------------------------------

  async getLink(key: LinkKey): Promise<Link | null> {
    return this.links.get(key);
  }

  async claimLink(key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim> {
    this.writable('claim a link');
    return this.links.claim(key, owner, leaseMs);
  }

  async completeLink(key: LinkKey, owner: string, externalId: string): Promise<boolean> {
    this.writable('complete a link');
    return this.links.complete(key, owner, externalId);
  }

  async releaseLink(key: LinkKey, owner: string): Promise<void> {
    this.writable('release a link');
    this.links.release(key, owner);
  }

  async setLink(key: LinkKey, externalId: string): Promise<void> {
    this.writable('set a link');
    this.links.set(key, externalId);
  }

  async claimCommentSlot(
    key: LinkKey,
    intervalMs: number,
  ): Promise<{ granted: true } | { granted: false; nextAt: string }> {
    this.writable('claim a comment slot');
    return this.links.commentSlot(key, intervalMs);
  }

  async deleteLink(key: LinkKey): Promise<void> {
    this.writable('delete a link');
    this.links.delete(key);
  }

  async setLinkState(key: LinkKey, state: SettableState, at: string): Promise<void> {
    this.writable('set the state of a link');
    const checked = checkLinkState(state, at);
    this.links.setState(key, checked.state, checked.at);
  }

  async getProblemLinks(problem: { readonly appId: string; readonly hash: string }): Promise<Link[]> {
    return this.links.ofProblem(problem.appId, problem.hash);
  }

  async getLinksByExternalId(tracker: string, externalIds: readonly string[]): Promise<Link[]> {
    return this.links.byExternalId(tracker, externalIds);
  }

  // -- outbox (memory-outbox.ts) ----------------------------------------------

  async enqueueOutbox(entries: readonly OutboxEntryInput[]): Promise<void> {
    this.writable('enqueue deliveries');
    this.outbox.enqueue(entries);
  }

  async leaseOutbox(
    tracker: string,
    owner: string,
    limit: number,
    leaseMs: number,
    options?: { readonly dueBy?: string },
  ): Promise<OutboxEntry[]> {
    this.writable('lease deliveries');
    return this.outbox.lease(tracker, owner, limit, leaseMs, options);
  }

  async completeOutbox(ids: readonly number[], owner: string): Promise<void> {
    this.writable('complete deliveries');
    this.outbox.complete(ids, owner);
  }

  async retryOutbox(id: number, owner: string, availableAt: string, error: string): Promise<void> {
    this.writable('postpone a delivery');
    this.outbox.retry(id, owner, availableAt, error);
  }

  async postponeOutbox(ids: readonly number[], owner: string, availableAt: string): Promise<void> {
    this.writable('postpone deliveries');
    this.outbox.postpone(ids, owner, availableAt);
  }

  async countOutbox(tracker?: string): Promise<number> {
    return this.outbox.count(tracker);
  }

  // -- tracker state (memory-tracker-state.ts) -------------------------------

  async acquireTrackerLease(tracker: string, owner: string, ttlMs: number): Promise<boolean> {
    this.writable('take a tracker lease');
    return this.trackerState.acquire(tracker, owner, ttlMs);
  }

  async releaseTrackerLease(tracker: string, owner: string): Promise<void> {
    this.writable('release a tracker lease');
    this.trackerState.release(tracker, owner);
  }

  async getTrackerLease(tracker: string): Promise<TrackerLease | null> {
    return this.trackerState.lease(tracker);
  }

  async getTrackerState(tracker: string): Promise<TrackerState> {
    return this.trackerState.state(tracker);
  }

  async updateTrackerState(tracker: string, owner: string, patch: TrackerStatePatch): Promise<boolean> {
    this.writable('change a tracker state');
    return this.trackerState.update(tracker, owner, patch);
  }

  async takeTrackerWrite(tracker: string, owner: string, windows: readonly BudgetWindow[]): Promise<WriteGrant> {
    this.writable('take a tracker write');
    return this.trackerState.takeWrite(tracker, owner, windows);
  }

  private writable(action: string): void {
    if (this.readOnly) throw readOnlyError(this.name, action);
  }

  private mustGet(id: number): StoredTicket {
    const ticket = this.store.tickets.get(checkTicketId(id));
    if (ticket === undefined) throw ticketNotFound(id, this.name);
    return ticket;
  }
}
