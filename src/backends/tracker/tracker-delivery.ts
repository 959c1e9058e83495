/**
 * How one tracker's deliveries are made from a store: the rules for finding a
 * problem's ticket, comment windows and digests. A TrackedStore runs one of
 * these (with its OutboxDeliverer) per tracker.
 *
 * A delivery:
 * - finds the ticket through a bounded cache, the store's link, then the
 *   tracker's own search for the problem's marker; only the process that wins
 *   the link claim creates a ticket, so several processes make one, and a
 *   create whose answer was lost is found by the search when retried;
 * - waits for the ticket's comment slot (one comment per interval across
 *   processes): what arrives meanwhile is merged into one digest;
 * - lets the tracker comment, reopen a ticket closed as solved, or leave a
 *   muted one alone; a ticket deleted in the tracker loses its link and is
 *   made again on the next round.
 */

import { LRUCache } from 'lru-cache';
import type { LogticketsError } from '../../errors.js';
import type { JsonValue } from '../../logging/json-safe.js';
import type { BackoffOptions } from '../../ticketing/backoff.js';
import { groupByTicket } from '../batch.js';
import type { LinkKey, OccurrenceInput, OutboxEntry, OutboxEntryInput, TicketStore } from '../contract.js';
import { asSummary, merge, summarize, type OccurrenceSummary } from './occurrence-summary.js';
import { OutboxDeliverer, type DeliveryResult } from './outbox-deliverer.js';
import type { Tracker } from './tracker.js';

/** How a tracker's deliveries are paced; each may be set per tracker or for all of a TrackedStore's. */
export interface DeliveryOptions {
  /** At most one comment per ticket per this many ms (default 60 000). */
  readonly commentIntervalMs?: number;
  /** How often to look for waiting deliveries (default 2 000 ms). */
  readonly pollIntervalMs?: number;
  /** Backoff after a failed delivery. */
  readonly retry?: BackoffOptions;
}

// How long a process may hold a link claim while it creates the ticket.
const CLAIM_MS = 120_000;

export class TrackerDelivery {
  readonly deliverer: OutboxDeliverer;
  private readonly commentIntervalMs: number;
  private readonly cache = new LRUCache<string, string>({ max: 10_000 });

  constructor(
    readonly tracker: Tracker,
    private readonly store: TicketStore,
    options: DeliveryOptions & { readonly onError: (error: LogticketsError) => void },
  ) {
    this.commentIntervalMs = options.commentIntervalMs ?? 60_000;
    this.deliverer = new OutboxDeliverer({
      store,
      tracker: () => tracker.name,
      deliver: (key, entries) => this.deliver(key, entries),
      onError: options.onError,
      pollIntervalMs: options.pollIntervalMs,
      retry: options.retry,
    });
  }

  /** The deliveries a batch asks of this tracker: one per problem, queued in the same write as the batch. */
  outboxFor(batch: readonly OccurrenceInput[]): OutboxEntryInput[] {
    return groupByTicket(batch).map((delta) => ({
      tracker: this.tracker.name,
      appId: delta.appId,
      hash: delta.hash,
      payload: summarize(delta) as unknown as JsonValue,
    }));
  }

  private async deliver(key: LinkKey, entries: readonly OutboxEntry[]): Promise<DeliveryResult> {
    const blocked = this.tracker.writesBlockedUntil?.();
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
    const result = await this.tracker.addOccurrences(found.id, summary);
    if (result === 'gone') {
      this.cache.delete(cacheKey(key));
      await this.store.deleteLink(key);
      return { postponeUntil: new Date().toISOString() };
    }
    if (typeof result === 'object') return result;
    return 'done';
  }

  private async knownTicket(key: LinkKey): Promise<string | undefined> {
    const cached = this.cache.get(cacheKey(key));
    if (cached !== undefined) return cached;
    const link = await this.store.getLink(key);
    if (link?.externalId == null) return undefined;
    this.cache.set(cacheKey(key), link.externalId);
    return link.externalId;
  }

  private async findOrCreate(
    key: LinkKey,
    summary: OccurrenceSummary,
  ): Promise<{ id: string; created: boolean } | 'pending'> {
    const known = await this.knownTicket(key);
    if (known !== undefined) return { id: known, created: false };
    const owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const claim = await this.store.claimLink(key, owner, CLAIM_MS);
    if (claim.state === 'pending') return 'pending';
    if (claim.state === 'linked') {
      this.cache.set(cacheKey(key), claim.externalId);
      return { id: claim.externalId, created: false };
    }
    try {
      // A ticket may exist already: the link was lost, or a create's answer was.
      const problem = { appId: key.appId, hash: key.hash };
      let id = await this.tracker.find(problem);
      const created = id === undefined;
      id ??= await this.tracker.create(problem, summary);
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
