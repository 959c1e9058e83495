/**
 * The backend contract: what every place that keeps tickets must do.
 *
 * The ticketing handler decides WHAT to record (the fingerprint, the record
 * snapshot); a backend decides WHERE. Every backend — the SQL store, the
 * in-memory reference, MongoDB, and the tracker backends — implements
 * `TicketBackend`, and every one runs the shared conformance suite in
 * `test/conformance/`.
 *
 * Rules every implementation keeps:
 * - `recordBatch` is atomic per ticket: creating a ticket and counting an
 *   occurrence never race (no find-then-insert), so any number of writers in
 *   any number of processes end with one ticket per fingerprint and an exact
 *   count.
 * - A solved ticket that recurs is reopened and marked as a regression,
 *   unless the occurrence happened before the ticket was solved (it was
 *   already in flight).
 * - Paged reads have a stable order: ties are broken by ticket id.
 * - Failures are `LogticketsError`s; `retryable` says whether the pipeline
 *   should keep the batch and try again.
 */

import { LogticketsError } from '../errors.js';
import type { CloseOptions, DelivererStats, DeliveryReport } from './delivery-report.js';
import type { JsonValue } from '../logging/json-safe.js';
import type { TrackerStateStore } from './tracker-state.js';

export type {
  BudgetWindow,
  TrackerLease,
  TrackerState,
  TrackerStatePatch,
  TrackerStateStore,
  WriteGrant,
} from './tracker-state.js';

/** One occurrence as the pipeline hands it to a backend. */
export interface OccurrenceInput {
  /** The fingerprint: 40 lowercase hex chars. */
  readonly hash: string;
  readonly appId: string;
  readonly level: number;
  /** The logger name. */
  readonly channel: string;
  /** `file:line`, the file relative to the project root. */
  readonly location: string;
  readonly function: string | null;
  /** The formatted message, used as the title of a ticket this creates. */
  readonly title: string;
  /** When the log call happened (ISO 8601, UTC, with `Z`). */
  readonly time: string;
  /** The whole record, JSON-safe. */
  readonly data: JsonValue;
  /**
   * How many occurrences this entry stands for (default 1). More than one
   * when the pipeline had to fold occurrences together (queue overflow):
   * all are counted, `data` is the last one's.
   */
  readonly count?: number;
}

export interface Ticket {
  readonly id: number;
  readonly hash: string;
  readonly appId: string;
  readonly level: number;
  readonly channel: string;
  readonly location: string;
  readonly function: string | null;
  readonly title: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly occurrenceCount: number;
  readonly solved: boolean;
  readonly solvedAt: string | null;
  readonly regressionCount: number;
  readonly lastRegressionAt: string | null;
}

export interface StoredOccurrence {
  readonly id: number;
  readonly ticketId: number;
  readonly time: string;
  readonly data: JsonValue;
}

/**
 * How long a store remembers the id of a batch it applied: a retry of that
 * batch within this time changes nothing. A writer retries a failed batch
 * after at most its backoff ceiling (`retry.maxMs`, 30 s by default) once the
 * store answers again, so this is far longer than any retry horizon; only a
 * batch whose first attempt is more than a day old when its retry arrives
 * could be counted twice.
 */
export const BATCH_ID_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * How a store is opened. The defaults suit a writer: create what is missing.
 * The CLI reads with `readOnly` and changes tickets with `createIfMissing: false`.
 */
export interface StoreAccessOptions {
  /**
   * Read only: nothing is created or changed — no file, table, collection or
   * index, no journal mode; the store must exist and is only verified. Every
   * write fails with READ_ONLY.
   */
  readonly readOnly?: boolean;
  /**
   * Create the store (a SQLite file, tables, collections, indexes) when it is
   * missing (default true). With false the store must exist already: a
   * missing one is STORE_NOT_FOUND, one of another program or version is
   * SCHEMA_MISMATCH.
   */
  readonly createIfMissing?: boolean;
}

/** A store opened read-only refuses writes with this error. */
export function readOnlyError(backend: string, action: string): LogticketsError {
  return new LogticketsError('READ_ONLY', `${action}: the store is open read-only`, { backend });
}

export interface RecordOptions {
  /**
   * Stable across retries of the same batch. A store that sees a batch id it
   * has applied already changes nothing (the first attempt's write may have
   * succeeded with its answer lost), for at least BATCH_ID_RETENTION_MS.
   */
  readonly batchId?: string;
  /**
   * Deliveries to add to the outbox in the same write, all or nothing with the
   * counts (the transactional-outbox pattern). Only stores (`TicketStore`) accept them.
   */
  readonly outbox?: readonly OutboxEntryInput[];
}

/** What recording did to one ticket. */
export interface RecordOutcome {
  readonly hash: string;
  readonly appId: string;
  readonly ticketId: number;
  /** This batch created the ticket. */
  readonly created: boolean;
  /** This batch reopened a solved ticket. */
  readonly regressed: boolean;
  /** The ticket's occurrence count after this batch. */
  readonly occurrenceCount: number;
}

export interface TicketFilter {
  /** The ticket of this fingerprint. */
  readonly hash?: string;
  readonly solved?: boolean;
  /** Exactly this level. */
  readonly level?: number;
  /** This level or above. */
  readonly minLevel?: number;
  readonly appId?: string;
  readonly channel?: string;
}

export const TICKET_ORDER_FIELDS = [
  'id',
  'lastSeen',
  'firstSeen',
  'occurrenceCount',
  'level',
  'regressionCount',
] as const;
export type TicketOrderField = (typeof TICKET_ORDER_FIELDS)[number];
/** A field name, descending when prefixed with `-`. */
export type TicketOrder = TicketOrderField | `-${TicketOrderField}`;

export interface GetTicketsOptions {
  /** Default `-lastSeen` (most recent first); ties broken by id. */
  readonly orderBy?: TicketOrder;
  /** Default 50. */
  readonly limit?: number;
  /** Default 0. */
  readonly offset?: number;
  readonly filter?: TicketFilter;
}

export interface GetOccurrencesOptions {
  /** Default `-time` (newest first); ties broken by occurrence id. */
  readonly orderBy?: 'time' | '-time';
  readonly limit?: number;
  readonly offset?: number;
}

export interface TicketBackend {
  /** A short, credential-free name for stats and error messages (`sqlite:./logtickets.db`). */
  readonly name: string;

  /**
   * Connect and create what is missing (tables, indexes), or, for a store
   * opened with `readOnly` or `createIfMissing: false`, verify that it is
   * there (STORE_NOT_FOUND, SCHEMA_MISMATCH). Idempotent; the pipeline calls
   * it before the first write and again after a retryable failure. An
   * unreachable server is a retryable error.
   */
  open(): Promise<void>;

  /**
   * Record occurrences, creating tickets as needed, atomically per ticket.
   * Entries may share a fingerprint. Returns one outcome per distinct
   * (appId, hash) in the batch.
   *
   * `options.batchId` names the batch: the pipeline retries a failed batch
   * unchanged under the same id. A backend that cannot write a batch all or
   * nothing (no transactions) must use it so that a retry after a partial
   * write counts nothing twice.
   */
  recordBatch(occurrences: readonly OccurrenceInput[], options?: RecordOptions): Promise<RecordOutcome[]>;

  countTickets(filter?: TicketFilter): Promise<number>;
  getTickets(options?: GetTicketsOptions): Promise<Ticket[]>;
  /** The ticket, or null when there is none with that id. */
  getTicket(id: number): Promise<Ticket | null>;
  /** Throws TICKET_NOT_FOUND when the ticket does not exist. */
  getOccurrences(ticketId: number, options?: GetOccurrencesOptions): Promise<StoredOccurrence[]>;

  /** Mark solved (sets solvedAt). Throws TICKET_NOT_FOUND. Returns the updated ticket. */
  solveTicket(id: number): Promise<Ticket>;
  /** Mark unsolved by hand (not a regression). Throws TICKET_NOT_FOUND. */
  reopenTicket(id: number): Promise<Ticket>;
  /** Remove the ticket and all its occurrences. Throws TICKET_NOT_FOUND. */
  deleteTicket(id: number): Promise<void>;

  /**
   * Release connections. Safe to call twice. A backend that delivers to
   * trackers first delivers what it can within `options.timeoutMs` and
   * resolves what still waits (delivery-report.ts); a store ignores the options.
   */
  close(options?: CloseOptions): Promise<void | DeliveryReport>;

  /** Optional (a backend that delivers to trackers): deliver what is due within the timeout, without closing. */
  settle?(options?: CloseOptions): Promise<DeliveryReport>;

  /** Optional (a backend that delivers to trackers): per tracker, what this process delivered and what waits. */
  deliveryStats?(): DelivererStats[];

  /**
   * Optional: let go of idle connections now (the next call connects again).
   * A store whose idle connections would keep the process alive releases them
   * by itself after a short idle time; this does it without waiting, e.g.
   * after a process's exit flush.
   */
  release?(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Links and outbox: what a reference store keeps for the tracker backends.

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
 * So a problem has one pending row plus the frozen rows that may have
 * reached the tracker, however long its deliveries keep being postponed.
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
   * entries are frozen (see OutboxEntry) and carry their delivery id.
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

/** A backend that can also serve as the reference store of tracker backends. */
export interface TicketStore extends TicketBackend, LinkStore, OutboxStore, TrackerStateStore {}

export function isTicketStore(backend: TicketBackend): backend is TicketStore {
  const candidate = backend as Partial<TicketStore>;
  return (
    typeof candidate.claimLink === 'function' &&
    typeof candidate.leaseOutbox === 'function' &&
    typeof candidate.acquireTrackerLease === 'function' &&
    typeof candidate.takeTrackerWrite === 'function'
  );
}
