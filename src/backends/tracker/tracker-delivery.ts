/**
 * One problem's delivery to one tracker: the rules for finding its ticket,
 * comment windows, digests and exactly-once text. The OutboxDeliverer calls
 * `deliver` with the problem's leased outbox entries, only while its process
 * holds the tracker's lease.
 *
 * - The ticket is found through the store's link (read each time: a link
 *   deleted or changed by another process counts at once), then the tracker's search for the problem's marker; only the holder of the link
 *   claim creates a ticket, so a problem gets one ticket.
 * - Entries that an earlier attempt may have sent (`attempted`) are first
 *   looked for in the ticket's text by their delivery ids; those found are
 *   done without writing again. So a create or a comment whose answer was
 *   lost (a timeout, a cut connection, a 5xx, a kill) is told once.
 * - The rest become one text: the ticket's description, or one comment when
 *   the ticket's comment window is open (one comment per interval; what comes
 *   meanwhile waits and merges). A ticket deleted in the tracker loses its
 *   link and is made again.
 * - The store's state decides (two-way sync, docs/design/two-way-sync.md):
 *   a state change made in the store (`sync` in the payload) is carried out
 *   with `setState` before the comment; a regression reopens the ticket with
 *   the comment; occurrences counted in the grace window after a solve are
 *   commented without reopening; a muted problem is never commented or made.
 *   The link keeps the state the tracker's ticket was left in.
 */

import type { JsonValue } from '../../logging/json-safe.js';
import { groupByTicket } from '../batch.js';
import type { LinkKey, OccurrenceInput, OutboxEntry, OutboxEntryInput, TicketStore } from '../contract.js';
import { deliveryIdTime } from '../delivery-id.js';
import { isSummary, latestSync, syncOf, syncPayload, type StateSync } from '../outbox-summary.js';
import { settable, type SettableState } from '../ticket-state.js';
import { asSummary, merge, summarize } from './occurrence-summary.js';
import type { Tracker } from './tracker.js';
import type { TrackerSync } from './tracker-sync.js';

/** How a problem's delivery ended: entries told to the tracker (or found there), and entries to try at a later time. */
export interface ProblemOutcome {
  readonly done: readonly number[];
  /** Entries to try at `at`; `checked`: those an earlier attempt may have sent were looked for and not found. */
  readonly later?: { readonly ids: readonly number[]; readonly at: string; readonly checked: boolean };
}

export interface DeliverContext {
  /** The lease holder's id (link claims are its). */
  readonly owner: string;
  /** How long a link claim lasts (the lease's length: a dead creator's claim runs out with its lease). */
  readonly claimMs: number;
  readonly signal: AbortSignal;
  readonly beforeWrite: () => Promise<void>;
  /** Send even if the ticket's comment window is closed (a closing process told to deliver held digests). */
  readonly ignoreWindow: boolean;
}

// Comments made this long before a delivery id's time still count when looking for it (clocks differ).
const CLOCK_MARGIN_MS = 10 * 60_000;
// A state change queued before the store made it: how long to wait for the store's write, and how often to look.
const UNCOMMITTED_WAIT_MS = 30_000;
const UNCOMMITTED_LOOK_MS = 1_000;

export class TrackerDelivery {
  constructor(
    readonly tracker: Tracker,
    private readonly store: TicketStore,
    private readonly commentIntervalMs: number,
  ) {}

  /** The deliveries a batch asks of this tracker: one per problem, queued in the same write as the batch. */
  outboxFor(batch: readonly OccurrenceInput[]): OutboxEntryInput[] {
    return groupByTicket(batch).map((delta) => ({
      tracker: this.tracker.name,
      appId: delta.appId,
      hash: delta.hash,
      payload: summarize(delta) as unknown as JsonValue,
    }));
  }

  /** Set by the TrackedStore: how a change made in the tracker meets the store's (two-way sync). */
  sync: TrackerSync | undefined;

  /** Set by the TrackedStore: reads every ticket of the tracker (a `sync --full` asked for through the outbox). */
  fullSync: ((owner: string, signal: AbortSignal) => Promise<unknown>) | undefined;

  async deliver(key: LinkKey, entries: readonly OutboxEntry[], ctx: DeliverContext): Promise<ProblemOutcome> {
    if (isFullSyncKey(key)) {
      await this.fullSync?.(ctx.owner, ctx.signal);
      return { done: entries.map((e) => e.id) };
    }
    const problem = { appId: key.appId, hash: key.hash };
    const call = { signal: ctx.signal };
    const sync = latestSync(entries.map((e) => syncOf(e.payload)));
    const ticket = await this.storeTicket(key);
    if (sync !== undefined && ticket !== null && !committed(sync, ticket)) {
      // Queued just before the store's own write (or that write failed): wait for it a little, then go on without it.
      if (Date.now() - Date.parse(sync.at) < UNCOMMITTED_WAIT_MS)
        return later(entries, new Date(Date.now() + UNCOMMITTED_LOOK_MS).toISOString());
    }
    let target = ticket === null ? undefined : settable(ticket.state);
    const told = (e: OutboxEntry) => isSummary(e.payload) && asSummary(e.payload).count > 0;
    const muted = target === 'muted';
    let id = await this.knownTicket(key);
    if (id === undefined && (muted || !entries.some(told))) {
      // Nothing to open a ticket with: a muted problem, or a state change of a problem the tracker never got.
      return { done: entries.map((e) => e.id) };
    }
    let claimed = false;
    if (id === undefined) {
      const claim = await this.store.claimLink(key, ctx.owner, ctx.claimMs);
      if (claim.state === 'pending') return later(entries, claim.claimedUntil);
      if (claim.state === 'linked') id = claim.externalId;
      else {
        claimed = true;
        try {
          // A ticket may exist already: the link was lost, or a create's answer was.
          id = await this.tracker.find(problem, call);
        } catch (error) {
          await this.store.releaseLink(key, ctx.owner).catch(() => undefined);
          throw error;
        }
      }
    }
    try {
      const found = id === undefined ? [] : await this.alreadyTold(id, entries, ctx);
      // Told already: done now, whatever happens to the rest (a refused write must not hand them back).
      if (found.length > 0) await this.store.completeOutbox(found, ctx.owner);
      const rest = entries.filter((e) => !found.includes(e.id) && told(e));
      if (id === undefined) {
        // No ticket anywhere: these occurrences open it, and its comment window starts now.
        id = await this.tracker.create(problem, digest(rest), { ...call, ...this.writing(rest, ctx) });
        await this.link(key, id, ctx, claimed);
        await this.store.claimCommentSlot(key, this.commentIntervalMs);
        await this.store.setLinkState(key, 'open', now());
        // A store ticket that is not open: its state follows as a delivery of its own.
        if (target !== undefined && target !== 'open')
          await this.store.enqueueOutbox([
            this.stateEntry(key, { state: target, at: ticket!.stateChangedAt ?? now() }),
          ]);
        return { done: entries.map((e) => e.id) };
      }
      await this.link(key, id, ctx, claimed);
      // A regression is told by the comment that reopens the ticket; any other change of the store goes first.
      const byComment = ticket?.state === 'regressed' && rest.length > 0;
      if (sync !== undefined && target !== undefined && !byComment) {
        const seen = await this.tracker.readState(id, call);
        if (seen === undefined) return this.gone(key, found, rest);
        const link = await this.store.getLink(key);
        if (
          link !== null &&
          seen.ticketState !== link.state &&
          seen.ticketState !== target &&
          this.sync !== undefined
        ) {
          // Changed in the tracker too since it was last seen: the later change wins (tracker-sync.ts).
          await this.sync.reconcile(seen, link, false);
          target = settable((await this.storeTicket(key))?.state ?? target);
        }
        const result = await this.tracker.setState(id, target, { ...call, beforeWrite: ctx.beforeWrite });
        if (result === 'gone') return this.gone(key, found, rest);
        await this.store.setLinkState(key, target, now());
      }
      // Muted (in the store, or just learned from the tracker): counted there, never commented.
      if (rest.length === 0 || target === 'muted') {
        // Found by its marker, already told (a create whose answer was lost): its comment window starts now.
        if (claimed) await this.store.claimCommentSlot(key, this.commentIntervalMs);
        return { done: entries.map((e) => e.id) };
      }
      const slot = await this.store.claimCommentSlot(key, ctx.ignoreWindow ? 0 : this.commentIntervalMs);
      if (!slot.granted) {
        const done = entries.filter((e) => !rest.includes(e)).map((e) => e.id);
        return { done, later: { ids: rest.map((e) => e.id), at: slot.nextAt, checked: true } };
      }
      const result = await this.tracker.addOccurrences(id, digest(rest), {
        ...call,
        ...this.writing(rest, ctx),
        reopen: target === undefined || target === 'open',
      });
      if (result === 'gone') return this.gone(key, found, rest);
      if (result === 'reopened') await this.store.setLinkState(key, 'open', now());
      return { done: entries.map((e) => e.id) };
    } catch (error) {
      if (claimed) await this.store.releaseLink(key, ctx.owner).catch(() => undefined);
      throw error;
    }
  }

  /** A delivery asking this tracker to carry out a store state change. */
  stateEntry(key: Pick<LinkKey, 'appId' | 'hash'>, sync: StateSync): OutboxEntryInput {
    return { tracker: this.tracker.name, appId: key.appId, hash: key.hash, payload: syncPayload(sync) };
  }

  /** The ticket was deleted in the tracker: forget the link; what was not told makes a new ticket. */
  private async gone(key: LinkKey, found: readonly number[], rest: readonly OutboxEntry[]): Promise<ProblemOutcome> {
    await this.store.deleteLink(key);
    if (rest.length === 0) return { done: found };
    return { done: found, later: { ids: rest.map((e) => e.id), at: now(), checked: true } };
  }

  private async storeTicket(key: LinkKey) {
    const [ticket] = await this.store.getTickets({ filter: { appId: key.appId, hash: key.hash }, limit: 1 });
    return ticket ?? null;
  }

  /** Entries an earlier attempt may have sent whose delivery id the ticket's text carries. */
  private async alreadyTold(id: string, entries: readonly OutboxEntry[], ctx: DeliverContext): Promise<number[]> {
    const sent = entries.filter((e) => e.attempted && e.deliveryId !== null);
    if (sent.length === 0) return [];
    const times = sent.map((e) => deliveryIdTime(e.deliveryId!)?.getTime() ?? 0);
    const since = new Date(Math.max(0, Math.min(...times) - CLOCK_MARGIN_MS));
    const ids = sent.map((e) => e.deliveryId!);
    const carried = new Set(
      (await this.tracker.deliveredIn(id, ids, since, { signal: ctx.signal })).map((x) => x.toLowerCase()),
    );
    return sent.filter((e) => carried.has(e.deliveryId!.toLowerCase())).map((e) => e.id);
  }

  private writing(entries: readonly OutboxEntry[], ctx: DeliverContext) {
    return {
      deliveryIds: entries.map((e) => e.deliveryId).filter((d): d is string => d !== null),
      beforeWrite: ctx.beforeWrite,
    };
  }

  private async link(key: LinkKey, id: string, ctx: DeliverContext, claimed: boolean): Promise<void> {
    if (claimed) await this.store.completeLink(key, ctx.owner, id);
  }

  private async knownTicket(key: LinkKey): Promise<string | undefined> {
    const link = await this.store.getLink(key);
    return link?.externalId ?? undefined;
  }
}

function digest(entries: readonly OutboxEntry[]) {
  const { sync: _sync, ...summary } = merge(entries.map((e) => asSummary(e.payload)));
  return summary;
}

/** The outbox key under which `sync --full` is asked of whichever process delivers to a tracker. */
export const FULL_SYNC_KEY = { appId: 'logtickets:sync', hash: '0'.repeat(40) } as const;

function isFullSyncKey(key: Pick<LinkKey, 'appId' | 'hash'>): boolean {
  return key.appId === FULL_SYNC_KEY.appId && key.hash === FULL_SYNC_KEY.hash;
}

function now(): string {
  return new Date(Date.now()).toISOString();
}

/** Whether the store has made the change (or a later one) that a delivery was queued for. */
function committed(
  sync: StateSync,
  ticket: { readonly state: Parameters<typeof settable>[0]; readonly stateChangedAt: string | null },
): boolean {
  return settable(ticket.state) === sync.state || (ticket.stateChangedAt ?? '') >= sync.at;
}

function later(entries: readonly OutboxEntry[], at: string): ProblemOutcome {
  return { done: [], later: { ids: entries.map((e) => e.id), at, checked: false } };
}
