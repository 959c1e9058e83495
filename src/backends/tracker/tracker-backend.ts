/**
 * What every issue-tracker backend (Trac, GitHub) shares: the write path, the
 * delivery loop, and the rules for finding a problem's ticket.
 *
 * Writing never waits for the tracker. `recordBatch` counts the occurrences
 * in the reference store and, in the same write, queues one delivery per
 * problem in the store's durable outbox; an OutboxDeliverer sends them in the
 * background. A delivery:
 * - finds the ticket through a bounded cache, the store's link, then the
 *   tracker's own search for the fingerprint marker; only the process that
 *   wins the link claim creates a ticket, so several processes make one, and a
 *   create whose answer was lost is found by the search when retried;
 * - waits for the ticket's comment slot (one comment per interval across
 *   processes): what arrives meanwhile goes into one digest;
 * - lets the tracker comment, or reopen a ticket closed as solved, or leave a
 *   muted one alone.
 * A subclass says how to talk to its tracker.
 */

import { LRUCache } from 'lru-cache';
import { LogticketsError } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import { parseLevel } from '../../logging/level.js';
import type { JsonValue } from '../../logging/json-safe.js';
import type { BackoffOptions } from '../../ticketing/backoff.js';
import { groupByTicket } from '../batch.js';
import type {
  GetOccurrencesOptions,
  GetTicketsOptions,
  LinkKey,
  OccurrenceInput,
  OutboxEntry,
  OutboxEntryInput,
  RecordOptions,
  RecordOutcome,
  StoredOccurrence,
  Ticket,
  TicketBackend,
  TicketFilter,
  TicketStore,
} from '../contract.js';
import { isTicketStore } from '../contract.js';
import { occurrenceQuery } from '../query-options.js';
import { openBackend } from '../open-backend.js';
import { asSummary, merge, summarize, type OccurrenceSummary } from './occurrence-summary.js';
import { OutboxDeliverer, type DeliveryResult } from './outbox-deliverer.js';
import type { SetupCheck } from './setup-check.js';

export interface TrackerOptions {
  /** At most one comment per ticket per this many ms (default 60 000). */
  readonly commentIntervalMs?: number;
  /** Where links, counts and the outbox live: a store URI or instance (default `sqlite:./logtickets.db`). */
  readonly store?: string | TicketStore;
  /** Called for delivery problems. Default: one line on stderr per kind of problem, at most every 30 s. */
  readonly onError?: (error: LogticketsError) => void;
  readonly retry?: BackoffOptions;
  /** How often to look for waiting deliveries (default 2 000 ms). */
  readonly pollIntervalMs?: number;
}

/** What happened when occurrences were added to an existing ticket. */
export type AddResult = 'commented' | 'reopened' | 'muted' | 'gone' | { readonly postponeUntil: string };

export abstract class TrackerBackend implements TicketBackend {
  abstract readonly name: string;
  /** The store this backend counts occurrences in (do not list it as another target too). */
  readonly countsIn: string;
  readonly store: TicketStore;
  protected readonly commentIntervalMs: number;
  protected readonly warn: (key: string, message: string) => void;
  private readonly ownsStore: boolean;
  private readonly cache = new LRUCache<string, string>({ max: 10_000 });
  private readonly deliverer: OutboxDeliverer;

  constructor(kind: string, options: TrackerOptions) {
    const store = options.store ?? 'sqlite:./logtickets.db';
    if (typeof store === 'string') {
      this.store = openStore(kind, store);
      this.ownsStore = true;
    } else if (isTicketStore(store)) {
      this.store = store;
      this.ownsStore = false;
    } else {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `${kind} options.store must be a store URI or a store (links and outbox)`,
      );
    }
    this.countsIn = this.store.name;
    this.commentIntervalMs = options.commentIntervalMs ?? 60_000;
    const report = rateLimitedStderr();
    this.warn = (key, message) => report(`${this.name}|${key}`, message);
    const onError =
      options.onError ??
      ((e: LogticketsError) =>
        this.warn(e.code, `${this.name}: ${e.code}: ${e.message} (deliveries wait in the outbox)`));
    this.deliverer = new OutboxDeliverer({
      store: this.store,
      tracker: () => this.name,
      deliver: (key, entries) => this.deliver(key, entries),
      onError,
      pollIntervalMs: options.pollIntervalMs,
      retry: options.retry,
    });
  }

  // -- what a tracker implements ---------------------------------------------

  /** The ticket carrying this fingerprint's marker, if the tracker has one. */
  protected abstract findExisting(key: LinkKey): Promise<string | undefined>;
  /** Open a ticket for a problem; returns its id. */
  protected abstract createTicket(key: LinkKey, summary: OccurrenceSummary): Promise<string>;
  /** Add occurrences to an existing ticket: comment, reopen as a regression, or leave a muted one. */
  protected abstract addOccurrences(id: string, summary: OccurrenceSummary): Promise<AddResult>;
  /**
   * Check the live tracker is usable: reachable, authenticated, allowed to
   * create and comment, set up as this backend needs. Changes nothing.
   */
  abstract checkSetup(): Promise<SetupCheck[]>;
  /** Where a person sees the ticket with this external id (a web URL). */
  abstract ticketUrl(externalId: string): string;
  /** When no tracker write may be made before a given time (rate limits, budgets); checked before each delivery. */
  protected writesBlockedUntil(): string | undefined {
    return undefined;
  }

  abstract countTickets(filter?: TicketFilter): Promise<number>;
  abstract getTickets(options?: GetTicketsOptions): Promise<Ticket[]>;
  abstract getTicket(id: number): Promise<Ticket | null>;
  abstract getOccurrences(ticketId: number, options?: GetOccurrencesOptions): Promise<StoredOccurrence[]>;
  abstract solveTicket(id: number): Promise<Ticket>;
  abstract reopenTicket(id: number): Promise<Ticket>;
  abstract deleteTicket(id: number): Promise<void>;

  // -- shared ----------------------------------------------------------------

  async open(): Promise<void> {
    await this.store.open();
    this.deliverer.kick();
  }

  async close(): Promise<void> {
    await this.deliverer.stop();
    if (this.ownsStore) await this.store.close();
  }

  /** Deliver what waits in the outbox now; true when nothing of this tracker is left. */
  deliverPending(options: { timeoutMs?: number } = {}): Promise<boolean> {
    return this.deliverer.drain(options.timeoutMs ?? 30_000);
  }

  get deliveryCounts(): Readonly<{ delivered: number; postponed: number; failed: number }> {
    return this.deliverer.counts;
  }

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const outcomes = await this.store.recordBatch(batch, {
      ...options,
      outbox: [...(options.outbox ?? []), ...this.outboxFor(batch)],
    });
    this.notify();
    return outcomes;
  }

  /**
   * The deliveries a batch asks of this tracker: one per problem. Whoever
   * writes the batch into this tracker's store queues them in the same write
   * (a TrackedStore does, for several trackers sharing one store).
   */
  outboxFor(batch: readonly OccurrenceInput[]): OutboxEntryInput[] {
    return groupByTicket(batch).map((delta) => ({
      tracker: this.name,
      appId: delta.appId,
      hash: delta.hash,
      payload: summarize(delta) as unknown as JsonValue,
    }));
  }

  /** New deliveries were queued: look for work now. */
  notify(): void {
    this.deliverer.kick();
  }

  /**
   * A tracker's ticket in the contract's shape: the tracker knows its id,
   * title (`[LEVEL] channel: message (file:line)`) and state; the counts come
   * from the store.
   */
  protected async asTicket(t: {
    id: number;
    hash: string;
    title: string;
    created: string;
    changed: string;
    closed: boolean;
    closedAt: string | null;
  }): Promise<Ticket> {
    const m = /^\[(\w+)\] (.*?): (.*) \(([^()]*)\)$/.exec(t.title);
    const local = t.hash === '' ? undefined : (await this.store.getTickets({ filter: { hash: t.hash }, limit: 1 }))[0];
    return {
      id: t.id,
      hash: t.hash,
      appId: local?.appId ?? '',
      level: parseLevel(m?.[1] ?? '') ?? local?.level ?? 0,
      channel: m?.[2] ?? local?.channel ?? '',
      location: m?.[4] ?? local?.location ?? '',
      function: local?.function ?? null,
      title: m?.[3] ?? t.title,
      firstSeen: local?.firstSeen ?? t.created,
      lastSeen: local?.lastSeen ?? t.changed,
      occurrenceCount: local?.occurrenceCount ?? 0,
      solved: t.closed,
      solvedAt: t.closed ? t.closedAt : null,
      regressionCount: local?.regressionCount ?? 0,
      lastRegressionAt: local?.lastRegressionAt ?? null,
    };
  }

  /** Occurrences as a tracker shows them: the ticket's creation, then its comments, ordered and paged. */
  protected pageOccurrences(
    ticket: Ticket,
    comments: ReadonlyArray<{ id: number; time: string; author: string; text: string }>,
    options: GetOccurrencesOptions,
  ): StoredOccurrence[] {
    const q = occurrenceQuery(options);
    const items: StoredOccurrence[] = [
      { id: 0, ticketId: ticket.id, time: ticket.firstSeen, data: { comment: ticket.title } },
      ...comments.map((c) => ({
        id: c.id,
        ticketId: ticket.id,
        time: c.time,
        data: { author: c.author, comment: c.text },
      })),
    ];
    items.sort((a, b) => (a.time === b.time ? a.id - b.id : a.time < b.time ? -1 : 1));
    if (q.descending) items.reverse();
    return items.slice(q.offset, q.offset + q.limit);
  }

  /** The external id of a fingerprint's ticket, if it is known. */
  protected async knownTicket(key: LinkKey): Promise<string | undefined> {
    const cached = this.cache.get(cacheKey(key));
    if (cached !== undefined) return cached;
    const link = await this.store.getLink(key);
    if (link?.externalId == null) return undefined;
    this.cache.set(cacheKey(key), link.externalId);
    return link.externalId;
  }

  private async deliver(key: LinkKey, entries: readonly OutboxEntry[]): Promise<DeliveryResult> {
    const blocked = this.writesBlockedUntil();
    if (blocked !== undefined) return { postponeUntil: blocked };
    const summary = merge(entries.map((e) => asSummary(e.payload)));
    const found = await this.findOrCreate(key, summary);
    if (found === 'pending') return { postponeUntil: new Date(Date.now() + 2_000).toISOString() };
    if (found.created) {
      // The new ticket describes these occurrences; its comment window starts now.
      await this.store.claimCommentSlot(key, this.commentIntervalMs);
      return 'done';
    }
    const slot = await this.store.claimCommentSlot(key, this.commentIntervalMs);
    if (!slot.granted) return { postponeUntil: slot.nextAt };
    const result = await this.addOccurrences(found.id, summary);
    if (result === 'gone') {
      // Deleted in the tracker: forget the link; the next round opens a new ticket.
      this.cache.delete(cacheKey(key));
      await this.store.deleteLink(key);
      return { postponeUntil: new Date().toISOString() };
    }
    if (typeof result === 'object') return result;
    return 'done';
  }

  private async findOrCreate(
    key: LinkKey,
    summary: OccurrenceSummary,
  ): Promise<{ id: string; created: boolean } | 'pending'> {
    const known = await this.knownTicket(key);
    if (known !== undefined) return { id: known, created: false };
    const owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const claim = await this.store.claimLink(key, owner, 120_000);
    if (claim.state === 'pending') return 'pending';
    if (claim.state === 'linked') {
      this.cache.set(cacheKey(key), claim.externalId);
      return { id: claim.externalId, created: false };
    }
    try {
      // A ticket may exist already: the link was lost, or a create's answer was.
      let id = await this.findExisting(key);
      const created = id === undefined;
      id ??= await this.createTicket(key, summary);
      await this.store.completeLink(key, owner, id);
      this.cache.set(cacheKey(key), id);
      return { id, created };
    } catch (error) {
      await this.store.releaseLink(key, owner).catch(() => undefined);
      throw error;
    }
  }
}

function cacheKey(key: LinkKey): string {
  return `${key.appId}\u0000${key.hash}`;
}

function openStore(kind: string, uri: string): TicketStore {
  let backend: TicketBackend;
  try {
    backend = openBackend(uri);
  } catch (error) {
    if (error instanceof LogticketsError)
      throw new LogticketsError(error.code, `${kind} options.store: ${error.message}`);
    throw error;
  }
  if (!isTicketStore(backend)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `${kind} options.store: ${backend.name} cannot keep links and an outbox`,
    );
  }
  return backend;
}
