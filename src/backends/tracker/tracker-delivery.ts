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
 *   meanwhile waits and merges). A regression reopens a ticket closed as
 *   solved; a muted one is left alone; a ticket deleted in the tracker loses
 *   its link and is made again.
 */

import type { JsonValue } from '../../logging/json-safe.js';
import { groupByTicket } from '../batch.js';
import type { LinkKey, OccurrenceInput, OutboxEntry, OutboxEntryInput, TicketStore } from '../contract.js';
import { deliveryIdTime } from '../delivery-id.js';
import { asSummary, merge, summarize } from './occurrence-summary.js';
import type { Tracker } from './tracker.js';

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

  async deliver(key: LinkKey, entries: readonly OutboxEntry[], ctx: DeliverContext): Promise<ProblemOutcome> {
    const problem = { appId: key.appId, hash: key.hash };
    const call = { signal: ctx.signal };
    let id = await this.knownTicket(key);
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
      const rest = entries.filter((e) => !found.includes(e.id));
      if (id === undefined) {
        // No ticket anywhere: these occurrences open it, and its comment window starts now.
        id = await this.tracker.create(problem, digest(rest), { ...call, ...this.writing(rest, ctx) });
        await this.link(key, id, ctx, claimed);
        await this.store.claimCommentSlot(key, this.commentIntervalMs);
        return { done: entries.map((e) => e.id) };
      }
      await this.link(key, id, ctx, claimed);
      if (rest.length === 0) {
        // Found by its marker, already told (a create whose answer was lost): its comment window starts now.
        if (claimed) await this.store.claimCommentSlot(key, this.commentIntervalMs);
        return { done: found };
      }
      const slot = await this.store.claimCommentSlot(key, ctx.ignoreWindow ? 0 : this.commentIntervalMs);
      if (!slot.granted) return { done: found, later: { ids: rest.map((e) => e.id), at: slot.nextAt, checked: true } };
      const result = await this.tracker.addOccurrences(id, digest(rest), { ...call, ...this.writing(rest, ctx) });
      if (result === 'gone') {
        await this.store.deleteLink(key);
        const at = new Date(Date.now()).toISOString();
        return { done: found, later: { ids: rest.map((e) => e.id), at, checked: true } };
      }
      return { done: entries.map((e) => e.id) };
    } catch (error) {
      if (claimed) await this.store.releaseLink(key, ctx.owner).catch(() => undefined);
      throw error;
    }
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
  return merge(entries.map((e) => asSummary(e.payload)));
}

function later(entries: readonly OutboxEntry[], at: string): ProblemOutcome {
  return { done: [], later: { ids: entries.map((e) => e.id), at, checked: false } };
}
