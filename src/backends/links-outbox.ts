/**
 * Links and outbox: what a store keeps for its trackers (part of the backend
 * contract, contract.ts). A link says where a problem's ticket lives in one
 * tracker and what state that ticket was last known to be in; the outbox
 * holds what waits to be told to a tracker.
 */

import type { JsonValue } from '../logging/json-safe.js';
import type { SettableState } from './ticket-state.js';

/** A fingerprint's ticket in an external tracker (Trac, GitHub). */
export interface Link {
  readonly hash: string;
  readonly appId: string;
  /** Which tracker: e.g. `trac:https://trac.example.org`, `github:owner/repo`. */
  readonly tracker: string;
  /** The external ticket id, or null while a claim is pending. */
  readonly externalId: string | null;
  readonly owner: string | null;
  readonly claimedUntil: string | null;
  /**
   * The state the tracker's ticket was last known to be in (set when the
   * deliverer changed it, or two-way sync saw it change); null when not known.
   * Sync learns from a tracker only a state that differs from this one.
   */
  readonly state: SettableState | null;
  /** When `state` was set (the tracker's time of the change, or of the write). */
  readonly stateAt: string | null;
}

export type LinkClaim =
  /** The caller won: it must create the external ticket, then `completeLink`. */
  | { readonly state: 'claimed' }
  /** The external ticket exists already. */
  | { readonly state: 'linked'; readonly externalId: string }
  /** Another owner holds an unexpired claim: wait and ask again. */
  | { readonly state: 'pending'; readonly owner: string; readonly claimedUntil: string };

export interface LinkKey {
  readonly hash: string;
  readonly appId: string;
  readonly tracker: string;
}

export interface LinkStore {
  getLink(key: LinkKey): Promise<Link | null>;
  /**
   * Atomically claim the right to create the external ticket. At most one
   * owner holds an unexpired claim; an expired claim (its owner crashed) can
   * be taken over.
   */
  claimLink(key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim>;
  /** Record the external id. Only the current claim owner may complete; returns false otherwise. */
  completeLink(key: LinkKey, owner: string, externalId: string): Promise<boolean>;
  /** Give up a claim without an external id (creation failed for good). */
  releaseLink(key: LinkKey, owner: string): Promise<void>;
  /** Point a fingerprint at an external ticket unconditionally (rebuilt from a marker). */
  setLink(key: LinkKey, externalId: string): Promise<void>;
  /**
   * Atomically take the right to comment on a linked ticket now, if no comment
   * was made in the last `intervalMs` (across all processes). Otherwise says
   * when the next comment may be made.
   */
  claimCommentSlot(key: LinkKey, intervalMs: number): Promise<{ granted: true } | { granted: false; nextAt: string }>;
  deleteLink(key: LinkKey): Promise<void>;
  /** Record the state of a linked ticket in the tracker (a link without an external id, or none, is left alone). */
  setLinkState(key: LinkKey, state: SettableState, at: string): Promise<void>;
  /** The finished links of one problem, in every tracker the store knows (by tracker name). */
  getProblemLinks(problem: { readonly appId: string; readonly hash: string }): Promise<Link[]>;
  /** The finished links of `tracker` to these external ids (any order; unknown ids are left out). */
  getLinksByExternalId(tracker: string, externalIds: readonly string[]): Promise<Link[]>;
}

/**
 * A delivery waiting for a tracker. A row is `pending` while none of it has
 * been sent: new deliveries of the same (tracker, app id, hash) merge into it
 * (outbox-summary.ts), and there is at most one pending row per problem.
 * Leasing freezes it: its content never changes while frozen (later
 * occurrences start a new pending row), and it gets a `deliveryId`, a UUID
 * version 7 stamped with the lease time (delivery-id.ts), that the tracker's
 * text will carry. Then:
 * - delivered: the row goes (`completeOutbox`);
 * - maybe sent (a failure, `retryOutbox`, or a lease that ran out): the row
 *   stays frozen and keeps its id, so the next lease is `attempted`;
 * - not sent (`postponeOutbox`): the row gives its id back and is pending
 *   again, or, when its problem has a pending row by then, merges into that
 *   row and goes.
 * While a problem has a frozen row with a delivery id (in flight, or maybe
 * sent), its pending row is not leased: that row goes first. So a problem has
 * at most one pending and one frozen row (rows of a version 1 store aside),
 * however long its deliveries keep being postponed, retried, or leased again
 * after a holder stalled or died.
 */
export interface OutboxEntry {
  readonly id: number;
  readonly tracker: string;
  readonly hash: string;
  readonly appId: string;
  readonly payload: JsonValue;
  readonly attempts: number;
  readonly availableAt: string;
  readonly lastError: string | null;
  /** Set by a lease (see above); null while pending or after a postpone. */
  readonly deliveryId: string | null;
  readonly state: 'pending' | 'frozen';
  /**
   * True when this lease kept a delivery id handed out by an earlier lease:
   * an earlier attempt may have reached the tracker, so the deliverer looks
   * for the id in the ticket before writing. False on a first lease and after
   * a postpone.
   */
  readonly attempted: boolean;
}

export interface OutboxEntryInput {
  readonly tracker: string;
  readonly hash: string;
  readonly appId: string;
  readonly payload: JsonValue;
}

export interface OutboxStore {
  /**
   * Queue deliveries: each merges into its problem's pending row (one write,
   * atomic against other writers), or starts one. A summary payload is
   * digested (outbox-summary.ts); any other payload replaces the pending one.
   */
  enqueueOutbox(entries: readonly OutboxEntryInput[]): Promise<void>;
  /**
   * Atomically lease up to `limit` entries of a tracker that are due and not
   * leased by a live owner, oldest first. A lease expires after `leaseMs`, so
   * the deliveries of a crashed process are picked up by another. Leased
   * entries are frozen (see OutboxEntry) and carry their delivery id. A
   * pending row is left alone while its problem has a frozen row with a
   * delivery id, whoever holds it and whenever it is due (see OutboxEntry).
   * `options.dueBy` (ISO 8601) leases entries due by that time instead of now
   * (a closing process sending held digests).
   */
  leaseOutbox(
    tracker: string,
    owner: string,
    limit: number,
    leaseMs: number,
    options?: { readonly dueBy?: string },
  ): Promise<OutboxEntry[]>;
  /** Delivered: remove the entries (only those this owner still leases). */
  completeOutbox(ids: readonly number[], owner: string): Promise<void>;
  /** Not delivered: release the entry, due again at `availableAt`, attempts + 1. */
  retryOutbox(id: number, owner: string, availableAt: string, error: string): Promise<void>;
  /**
   * Not sent (a comment window or the write budget said not yet, and nothing
   * of these entries reached the tracker: an `attempted` entry only once its
   * id was looked for and not found). Each entry this owner still leases is
   * pending again, without a delivery id (the next lease gives a new one,
   * `attempted` false), due at `availableAt`, attempts unchanged. If its
   * problem has a pending row already, the entry merges into that row as the
   * older content (summaries are digested, any other payload gives way to
   * the pending one) and is removed; the pending row is due at the later of
   * its time and `availableAt`, with the larger number of attempts. Several
   * entries of one problem end as one pending row. Atomic against enqueues
   * and postpones in other processes: never two pending rows of a problem,
   * nothing counted twice or lost.
   */
  postponeOutbox(ids: readonly number[], owner: string, availableAt: string): Promise<void>;
  countOutbox(tracker?: string): Promise<number>;
}
