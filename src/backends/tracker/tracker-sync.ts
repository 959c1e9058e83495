/**
 * Two-way sync, the tracker → store half: what a person changed in a
 * tracker (closed as fixed, closed as not to be fixed, reopened, labelled
 * muted) reaches the store. The deliverer holding a tracker's lease calls
 * `poll` every `syncIntervalMs`: one listing of the tickets changed since
 * the cursor (Tracker.changedSince), one store lookup for their links, then
 * for each ticket whose state differs from the one its link last knew:
 * - the later change wins: the tracker's change is applied to the store when
 *   it is newer than the store ticket's last state change (a person's mute
 *   also beats a regression the store counted before it knew of the mute);
 *   the other trackers then follow, through the outbox;
 * - else the store's state stands and the tracker is told it again.
 * Changes the store made itself are never echoed back: the deliverer records
 * on the link the state it left the ticket in, so the listing shows no
 * difference. A full poll (`sync --full`) reads every ticket and compares
 * each with the store, whatever its link knew.
 */

import type { Link, LinkKey, OutboxEntryInput, Ticket, TicketStore } from '../contract.js';
import { syncPayload } from '../outbox-summary.js';
import { settable, type SettableState } from '../ticket-state.js';
import type { Tracker, TrackerChange } from './tracker.js';

/** What a poll saw and did. */
export interface PollResult {
  /** Tickets the tracker listed as changed. */
  readonly changes: number;
  /** Store tickets whose state was changed to the tracker's. */
  readonly applied: number;
  /** Tickets told the store's state again (the store's change was the later one). */
  readonly restated: number;
  /** Where the next poll starts (the newest change seen), or null when there was none and no cursor before. */
  readonly cursor: string | null;
}

// The next poll starts this long before the newest change seen: trackers keep whole seconds.
const CURSOR_OVERLAP_MS = 1_000;
// Links looked up per store query.
const LOOKUP_PAGE = 500;

export class TrackerSync {
  /**
   * @param others the names of the store's other trackers, which follow a change learned here
   */
  constructor(
    readonly tracker: Tracker,
    private readonly store: TicketStore,
    private readonly others: () => readonly string[],
  ) {}

  /** Read the tickets changed since `cursor` (null: since ever) and bring store and tracker together. */
  async poll(
    cursor: string | null,
    options: { readonly full?: boolean; readonly signal?: AbortSignal } = {},
  ): Promise<PollResult> {
    const since = cursor === null ? new Date(0) : new Date(Date.parse(cursor) - CURSOR_OVERLAP_MS);
    const changes = await this.tracker.changedSince(since, { ...(options.signal ? { signal: options.signal } : {}) });
    const links = await this.linksOf(changes.map((c) => c.externalId));
    let applied = 0;
    let restated = 0;
    for (const change of changes) {
      options.signal?.throwIfAborted();
      const link = links.get(change.externalId);
      if (link === undefined) continue;
      const outcome = await this.reconcile(change, link, options.full === true);
      if (outcome === 'applied') applied++;
      else if (outcome === 'restated') restated++;
    }
    const newest = changes.reduce<string | null>(
      (max, c) => (max === null || c.updatedAt > max ? c.updatedAt : max),
      null,
    );
    return { changes: changes.length, applied, restated, cursor: newest ?? cursor };
  }

  /** Bring one ticket's store and tracker states together after the tracker showed `change`. */
  async reconcile(change: TrackerChange, link: Link, full: boolean): Promise<'applied' | 'restated' | 'same'> {
    const key: LinkKey = { tracker: link.tracker, appId: link.appId, hash: link.hash };
    const tracked = change.ticketState;
    // Nothing changed in the tracker since the deliverer or the last poll saw it (comments, edits, our own writes).
    if (!full && link.state === tracked) return 'same';
    const ticket = await this.storeTicket(key);
    if (ticket === null) return 'same';
    const stored = settable(ticket.state);
    if (stored === tracked) {
      await this.store.setLinkState(key, tracked, change.stateAt);
      return 'same';
    }
    if (this.trackerWins(change, link, ticket)) {
      // Never earlier than the store's last change, which the store would refuse (a mute beating a regression).
      const at =
        ticket.stateChangedAt !== null && ticket.stateChangedAt > change.stateAt
          ? ticket.stateChangedAt
          : change.stateAt;
      const after = await this.store.setTicketState(ticket.id, tracked, { at });
      await this.store.setLinkState(key, tracked, change.stateAt);
      if (settable(after.state) !== tracked) return 'same';
      await this.follow(key, this.others(), { state: tracked, at });
      return 'applied';
    }
    // The store's change is the later one: the tracker is told it (again; a pending delivery merges with this).
    await this.store.setLinkState(key, tracked, change.stateAt);
    await this.follow(key, [this.tracker.name], { state: stored, at: ticket.stateChangedAt ?? change.stateAt });
    return 'restated';
  }

  /**
   * Whether the tracker's state is a person's change later than the store's.
   * - A link that never knew a state (made before two-way sync, or a restored
   *   store) counts an open ticket as made open, not reopened: the store's state stands.
   * - When the tracker was last left in the store's state, the tracker moved
   *   since: its change is the later one, whatever the clocks (trackers keep
   *   whole seconds).
   * - Else the store has a change the tracker was not told yet: the later time wins.
   */
  private trackerWins(change: TrackerChange, link: Link, ticket: Ticket): boolean {
    if (link.state === null && change.ticketState === 'open') return false;
    if (change.ticketState === 'muted' && ticket.state === 'regressed') return true;
    if (link.state !== null && link.state === settable(ticket.state)) return true;
    return ticket.stateChangedAt === null || change.stateAt > ticket.stateChangedAt;
  }

  private async follow(
    key: LinkKey,
    trackers: readonly string[],
    sync: { state: SettableState; at: string },
  ): Promise<void> {
    const entries: OutboxEntryInput[] = trackers.map((tracker) => ({
      tracker,
      appId: key.appId,
      hash: key.hash,
      payload: syncPayload(sync),
    }));
    if (entries.length > 0) await this.store.enqueueOutbox(entries);
  }

  private async linksOf(externalIds: readonly string[]): Promise<Map<string, Link>> {
    const byId = new Map<string, Link>();
    const unique = [...new Set(externalIds)];
    for (let i = 0; i < unique.length; i += LOOKUP_PAGE) {
      const links = await this.store.getLinksByExternalId(this.tracker.name, unique.slice(i, i + LOOKUP_PAGE));
      for (const link of links) if (link.externalId !== null) byId.set(link.externalId, link);
    }
    return byId;
  }

  private async storeTicket(key: LinkKey): Promise<Ticket | null> {
    const [ticket] = await this.store.getTickets({ filter: { appId: key.appId, hash: key.hash }, limit: 1 });
    return ticket ?? null;
  }
}
