/**
 * The SQL store: SQLite (the zero-setup default) and PostgreSQL.
 *
 * Every write is one statement per ticket that both creates and counts,
 * inside one transaction per batch, so concurrent writers in many processes
 * never race (sql-record.ts). A state change is one conditional update that
 * only matches a ticket whose last change is not later, so of two processes
 * changing a ticket at once the later change wins.
 *
 * Opened with `readOnly`, the store is only verified (sql-schema.ts) and
 * never written: SQLite's file is opened read-only (or with query_only, see
 * sql-dialect.ts), no table or journal mode is changed, and every write fails
 * with READ_ONLY before anything is sent. With `createIfMissing: false` it is
 * verified the same way and then written as usual.
 *
 * This class is what applications hold; the work is done by SqlStore
 * (sql-store.ts), which is loaded, and kysely with it (about 120 ms and
 * 11 MB), on the first call of any method: importing logtickets, or making
 * a store that is never written, costs no query builder. What needs no query
 * is answered here: the options, the URI and the prefix are checked by the
 * constructor (a mistake throws there), and `name`, `dialect` and `readOnly`
 * are read from them.
 */

import { checkOptions } from '../../options.js';
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
import type {
  GetOccurrencesOptions,
  GetTicketsOptions,
  Link,
  LinkClaim,
  LinkKey,
  OccurrenceInput,
  OutboxEntry,
  OutboxEntryInput,
  RecordOptions,
  RecordOutcome,
  SettableState,
  StateChangeOptions,
  StoreAccessOptions,
  StoredOccurrence,
  Ticket,
  TicketFilter,
  TicketStore,
} from '../contract.js';
import { StateShortcuts } from '../state-shortcuts.js';
import type { BudgetWindow, TrackerLease, TrackerState, TrackerStatePatch, WriteGrant } from '../tracker-state.js';
import type { SqlConnectOptions } from './sql-dialect.js';
import type { SqlStore } from './sql-store.js';
import { tableNames } from './sql-table-names.js';
import { parseSqlUri } from './sql-uri.js';

export interface SqlBackendOptions extends SqlConnectOptions, StoreAccessOptions {
  /** Table name prefix (default `logtickets_`). */
  readonly prefix?: string;
  /** The clock used for solvedAt, claims and leases (tests pass their own). */
  readonly now?: () => Date;
}

export class SqlBackend extends StateShortcuts implements TicketStore, TicketAnalytics {
  readonly name: string;
  readonly #dialect: 'sqlite' | 'postgres';
  readonly #readOnly: boolean;
  // Private fields: the URI may hold a password, which util.inspect must never show.
  readonly #uri: string;
  readonly #options: SqlBackendOptions;
  #loading: Promise<SqlStore> | undefined;
  #closed = false;

  /** `uri`: `sqlite:PATH`, `sqlite::memory:`, `postgres://…`. */
  constructor(uri: string, options: SqlBackendOptions = {}) {
    super();
    checkOptions('SqlBackend options', options, {
      prefix: 'string',
      now: 'function',
      busyTimeoutMs: { integer: { min: 0 } },
      sqliteWorker: 'boolean',
      poolSize: { integer: { min: 1 } },
      connectTimeoutMs: { integer: { min: 1 } },
      onIdleError: 'function',
      readOnly: 'boolean',
      createIfMissing: 'boolean',
    });
    const target = parseSqlUri(uri);
    // A bad prefix is refused now, not when the store first loads.
    tableNames(options.prefix ?? 'logtickets_');
    this.name = target.name;
    this.#dialect = target.dialect;
    this.#readOnly = options.readOnly === true;
    this.#uri = uri;
    this.#options = { ...options };
  }

  get dialect(): 'sqlite' | 'postgres' {
    return this.#dialect;
  }

  /** Whether writes are refused (opened with `readOnly`). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  async open(): Promise<void> {
    return (await this.store()).open();
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Never used: nothing to close, and no query builder is loaded just to close it (a process that logged no error).
    if (this.#loading === undefined) return;
    const store = await this.#loading.catch(() => undefined);
    await store?.close();
  }

  /** Nothing to let go of: SQLite holds no handles, and idle PostgreSQL connections do not keep a process alive. */
  async release(): Promise<void> {}

  /**
   * A handler that writes here was made: load the store's code now (nothing
   * is opened or connected), so the first error logged does not wait for it.
   * A load that fails is tried again, and reported, by the first write.
   */
  start(): void {
    if (!this.#closed) this.store().catch(() => undefined);
  }

  // -- writes, reads and changes (sql-store.ts) ------------------------------

  async recordBatch(batch: readonly OccurrenceInput[], options?: RecordOptions): Promise<RecordOutcome[]> {
    return (await this.store()).recordBatch(batch, options);
  }
  async countTickets(filter?: TicketFilter): Promise<number> {
    return (await this.store()).countTickets(filter);
  }
  async getTickets(options?: GetTicketsOptions): Promise<Ticket[]> {
    return (await this.store()).getTickets(options);
  }
  async getTicket(id: number): Promise<Ticket | null> {
    return (await this.store()).getTicket(id);
  }
  async getOccurrences(ticketId: number, options?: GetOccurrencesOptions): Promise<StoredOccurrence[]> {
    return (await this.store()).getOccurrences(ticketId, options);
  }
  async setTicketState(id: number, state: SettableState, options?: StateChangeOptions): Promise<Ticket> {
    return (await this.store()).setTicketState(id, state, options);
  }
  async deleteTicket(id: number): Promise<void> {
    return (await this.store()).deleteTicket(id);
  }

  // -- analytics (sql-analytics.ts) --------------------------------------------

  async histogram(ticketId: number | null, options: HistogramOptions): Promise<BucketCount[]> {
    return (await this.store()).histogram(ticketId, options);
  }
  async newTickets(options: HistogramOptions): Promise<BucketCount[]> {
    return (await this.store()).newTickets(options);
  }
  async sparklines(ticketIds: readonly number[], options: SparklineOptions): Promise<Map<number, number[]>> {
    return (await this.store()).sparklines(ticketIds, options);
  }
  async topTickets(
    options: TimeWindow & { readonly limit?: number; readonly filter?: TicketFilter },
  ): Promise<TicketCount[]> {
    return (await this.store()).topTickets(options);
  }
  async messages(ticketId: number, options?: MessagesOptions): Promise<MessageCount[]> {
    return (await this.store()).messages(ticketId, options);
  }
  async ticketEvents(ticketId: number): Promise<TicketEvent[]> {
    return (await this.store()).ticketEvents(ticketId);
  }

  // -- links and outbox --------------------------------------------------------

  async getLink(key: LinkKey): Promise<Link | null> {
    return (await this.store()).getLink(key);
  }
  async claimLink(key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim> {
    return (await this.store()).claimLink(key, owner, leaseMs);
  }
  async completeLink(key: LinkKey, owner: string, externalId: string): Promise<boolean> {
    return (await this.store()).completeLink(key, owner, externalId);
  }
  async releaseLink(key: LinkKey, owner: string): Promise<void> {
    return (await this.store()).releaseLink(key, owner);
  }
  async setLink(key: LinkKey, externalId: string): Promise<void> {
    return (await this.store()).setLink(key, externalId);
  }
  async claimCommentSlot(
    key: LinkKey,
    intervalMs: number,
  ): Promise<{ granted: true } | { granted: false; nextAt: string }> {
    return (await this.store()).claimCommentSlot(key, intervalMs);
  }
  async deleteLink(key: LinkKey): Promise<void> {
    return (await this.store()).deleteLink(key);
  }
  async setLinkState(key: LinkKey, state: SettableState, at: string): Promise<void> {
    return (await this.store()).setLinkState(key, state, at);
  }
  async getProblemLinks(problem: { readonly appId: string; readonly hash: string }): Promise<Link[]> {
    return (await this.store()).getProblemLinks(problem);
  }
  async getLinksByExternalId(tracker: string, externalIds: readonly string[]): Promise<Link[]> {
    return (await this.store()).getLinksByExternalId(tracker, externalIds);
  }
  async enqueueOutbox(entries: readonly OutboxEntryInput[]): Promise<void> {
    return (await this.store()).enqueueOutbox(entries);
  }
  async leaseOutbox(...args: Parameters<TicketStore['leaseOutbox']>): Promise<OutboxEntry[]> {
    return (await this.store()).leaseOutbox(...args);
  }
  async completeOutbox(ids: readonly number[], owner: string): Promise<void> {
    return (await this.store()).completeOutbox(ids, owner);
  }
  async retryOutbox(id: number, owner: string, availableAt: string, error: string): Promise<void> {
    return (await this.store()).retryOutbox(id, owner, availableAt, error);
  }
  async postponeOutbox(ids: readonly number[], owner: string, availableAt: string): Promise<void> {
    return (await this.store()).postponeOutbox(ids, owner, availableAt);
  }
  async countOutbox(tracker?: string): Promise<number> {
    return (await this.store()).countOutbox(tracker);
  }

  // -- tracker state -------------------------------------------------------------

  async acquireTrackerLease(tracker: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.store()).acquireTrackerLease(tracker, owner, ttlMs);
  }
  async releaseTrackerLease(tracker: string, owner: string): Promise<void> {
    return (await this.store()).releaseTrackerLease(tracker, owner);
  }
  async getTrackerLease(tracker: string): Promise<TrackerLease | null> {
    return (await this.store()).getTrackerLease(tracker);
  }
  async getTrackerState(tracker: string): Promise<TrackerState> {
    return (await this.store()).getTrackerState(tracker);
  }
  async updateTrackerState(tracker: string, owner: string, patch: TrackerStatePatch): Promise<boolean> {
    return (await this.store()).updateTrackerState(tracker, owner, patch);
  }
  async takeTrackerWrite(tracker: string, owner: string, windows: readonly BudgetWindow[]): Promise<WriteGrant> {
    return (await this.store()).takeTrackerWrite(tracker, owner, windows);
  }

  // -- plumbing --------------------------------------------------------------

  /** The store, loaded on the first call; a load that failed is tried again by the next one. */
  private store(): Promise<SqlStore> {
    this.#loading ??= this.load().catch((error: unknown) => {
      this.#loading = undefined;
      throw error;
    });
    return this.#loading;
  }

  private async load(): Promise<SqlStore> {
    const { SqlStore } = await import('./sql-store.js');
    const store = new SqlStore(this.#uri, this.#options);
    // Closed before its first use: it answers as a closed store does (CLOSED), having opened nothing.
    if (this.#closed) await store.close();
    return store;
  }
}
