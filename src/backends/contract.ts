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
 *   unless the occurrence came less than `regressionGraceMs` (60 s) after
 *   the solve (it was already in flight); a muted ticket never regresses.
 *   A ticket solved in a release is reopened by an occurrence from a later
 *   release only, whenever it came (ticket-merge.ts, release-order.ts).
 * - A state change carries a time and is applied only when it is not older
 *   than the ticket's last one (ticket-state.ts).
 * - Paged reads have a stable order: ties are broken by ticket id.
 * - Failures are `LogticketsError`s; `retryable` says whether the pipeline
 *   should keep the batch and try again.
 */

import { LogticketsError } from '../errors.js';
import type { CloseOptions, DelivererStats, DeliveryReport } from './delivery-report.js';
import type { JsonValue } from '../logging/json-safe.js';
import type { LinkStore, OutboxEntryInput, OutboxStore } from './links-outbox.js';
import type { SettableState, StateChangeOptions, TicketState } from './ticket-state.js';
import type { TrackerStateStore } from './tracker-state.js';

export type {
  Link,
  LinkClaim,
  LinkKey,
  LinkStore,
  OutboxEntry,
  OutboxEntryInput,
  OutboxStore,
} from './links-outbox.js';
export type { SettableState, StateChangeOptions, TicketState } from './ticket-state.js';

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
  /**
   * The release the occurrence came from (a version, a commit), or null
   * (also when absent): one line of at most 200 characters.
   */
  readonly release?: string | null;
  /** The environment it came from (`production`, `staging`), or null (also when absent); same form. */
  readonly environment?: string | null;
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
  /** Muted: counted, never reopened by a recurrence, never told to a tracker again (ticket-state.ts). */
  readonly muted: boolean;
  readonly mutedAt: string | null;
  /** When the state last changed (solved, reopened, muted, unmuted, regressed); null for a ticket never changed. */
  readonly stateChangedAt: string | null;
  /** open, solved, regressed or muted (derived with `stateOf`, ticket-state.ts). */
  readonly state: TicketState;
  /** The release of the earliest occurrence that carried one; null when none did. */
  readonly firstRelease: string | null;
  /** The release of the latest occurrence (by its time) that carried one; null when none did. */
  readonly lastRelease: string | null;
  /**
   * The environments occurrences came from, distinct and sorted: at most
   * MAX_ENVIRONMENTS (50), the first ones seen (later ones are not added).
   */
  readonly environments: readonly string[];
  /**
   * The release the problem was solved in, while it is solved (null when
   * solved without one, or not solved): an occurrence from a release ordered
   * after it (release-order.ts) reopens the ticket, one from it or an older
   * one does not.
   */
  readonly solvedInRelease: string | null;
}

export interface StoredOccurrence {
  readonly id: number;
  readonly ticketId: number;
  readonly time: string;
  readonly data: JsonValue;
  readonly release: string | null;
  readonly environment: string | null;
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
  /**
   * An occurrence less than this many ms after its ticket was solved is
   * counted without reopening it (it was in flight): default
   * REGRESSION_GRACE_MS (60 s), 0 for none.
   */
  readonly regressionGraceMs?: number;
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
  /** Only tickets in this state, or in one of these. */
  readonly state?: TicketState | readonly TicketState[];
  /** With false, muted tickets are left out; with true, only they. */
  readonly muted?: boolean;
  /** Exactly this level. */
  readonly level?: number;
  /** This level or above. */
  readonly minLevel?: number;
  readonly appId?: string;
  readonly channel?: string;
  /** Only tickets with an occurrence from this release (that the store still keeps). */
  readonly release?: string;
  /** Only tickets whose `environments` include this one. */
  readonly environment?: string;
  /** Only tickets whose title contains this text, ignoring case (at most 200 characters). */
  readonly search?: string;
  /** Only tickets seen at or after this time (ISO 8601): `lastSeen >= seenSince`. */
  readonly seenSince?: string;
  /** Only tickets seen before this time (ISO 8601): `firstSeen < seenBefore`. */
  readonly seenBefore?: string;
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

  /**
   * Set a ticket's state (ticket-state.ts) at `options.at` (default now):
   * applied only when that time is not older than the ticket's
   * `stateChangedAt` (the later change wins), else the ticket is returned as
   * it is. `solved` sets solvedAt and solvedInRelease (`options.release`, by
   * default the newest release seen for the ticket's app); `open` clears
   * solved and muted (not a regression); `muted` sets mutedAt; both clear
   * solvedInRelease. Throws TICKET_NOT_FOUND. Returns the ticket after the
   * change.
   */
  setTicketState(id: number, state: SettableState, options?: StateChangeOptions): Promise<Ticket>;
  /** setTicketState(id, 'solved'). */
  solveTicket(id: number, options?: StateChangeOptions): Promise<Ticket>;
  /** setTicketState(id, 'open'): unsolved by hand, not a regression. */
  reopenTicket(id: number, options?: StateChangeOptions): Promise<Ticket>;
  /** setTicketState(id, 'muted'). */
  muteTicket(id: number, options?: StateChangeOptions): Promise<Ticket>;
  /** setTicketState(id, 'open'). */
  unmuteTicket(id: number, options?: StateChangeOptions): Promise<Ticket>;
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

  /**
   * Optional: a handler that writes here was made (it calls this when it is
   * made). A backend that delivers to trackers begins its background work now
   * — deliver what waits, look for changes made in the trackers — so a quiet
   * service still carries out state changes; a store whose code loads on first
   * use (SqlBackend) loads it, so the first error does not wait for it.
   * Opens nothing; never throws.
   */
  start?(): void;
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
