/**
 * The MongoDB store: one shared store for many processes on many hosts, and
 * the reference store of the tracker backends (links and outbox).
 *
 * No write needs a multi-document transaction (not every deployment has
 * them):
 * - a ticket is changed by one atomic findOneAndUpdate per batch; a new one is
 *   created by an upsert guarded by the unique (appId, hash) index;
 * - a regression is a separate update that only matches a ticket solved
 *   before the occurrence's grace window, so exactly one writer reopens it;
 * - a state change is one conditional update that only matches the ticket
 *   as it was read, with no later change (mongodb-ticket-state.ts);
 * - the event a state change or a regression adds to the ticket's history
 *   is put on the ticket by that same update (mongodb-ticket-events.ts);
 * - a batch the pipeline retries carries the same batch id, and is
 *   recognised exactly even after a partial write (mongodb-record.ts);
 * - ids users see are numbers from an atomic counter.
 *
 * Analytics are aggregations the server runs (mongodb-analytics.ts).
 *
 * The client is closed after a short idle time, so the store never keeps a process alive
 * (mongodb-connection.ts). Opened read-only, it creates nothing and refuses every write.
 */

import { StateShortcuts } from '../state-shortcuts.js';
import type { Document, MongoClient, MongoClientOptions } from 'mongodb';
import { randomUUID } from 'node:crypto';
import type { SecretMatchers } from '../../errors.js';
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
import { groupByTicket } from '../batch.js';
import { leaseDueBy } from '../delivery-id.js';
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
} from '../contract.js';
import {
  checkFilter,
  checkLinkState,
  checkTicketId,
  occurrenceQuery,
  regressionGrace,
  ticketNotFound,
  ticketQuery,
} from '../query-options.js';
import { changeRelease, changeTime, checkSettableState } from '../ticket-state.js';
import { DEFAULT_IDLE_CLOSE_MS, MongoConnection, type Collections, type MongoAccess } from './mongodb-connection.js';
import { MongoAnalytics } from './mongodb-analytics.js';
import { filterQuery, ORDER_FIELDS, toOccurrence, toTicket } from './mongodb-documents.js';
import { classifyMongoError } from './mongodb-errors.js';
import { takeCommentSlot, takeLink } from './mongodb-claims.js';
import * as links from './mongodb-links.js';
import { mergeOutbox, retryRow, takeLeases } from './mongodb-outbox.js';
import { postponeRows } from './mongodb-outbox-postpone.js';
import { recordDeltas, type RecordContext } from './mongodb-record.js';
import { changeTicketState } from './mongodb-ticket-state.js';
import * as ts from './mongodb-tracker-state.js';
import type { BudgetWindow, TrackerLease, TrackerState, TrackerStatePatch, WriteGrant } from '../tracker-state.js';
import { readTarget, type MongoClientLike, type MongoDBBackendOptions } from './mongodb-options.js';

export type { MongoClientLike, MongoDBBackendOptions, MongoWriteConcern } from './mongodb-options.js';

type LeaseArgs = Parameters<TicketStore['leaseOutbox']>;

export class MongoDBBackend extends StateShortcuts implements TicketStore, TicketAnalytics {
  readonly name: string;
  private readonly connection: MongoConnection;
  private readonly analytics: MongoAnalytics;
  private readonly access: MongoAccess;
  private readonly now: () => Date;
  private readonly rc: RecordContext;
  // A private field: util.inspect and snapshots of this object never show it.
  readonly #secrets: SecretMatchers;

  /** `target`: a `mongodb://` / `mongodb+srv://` URI, or a MongoClient you already have (you keep closing it). */
  constructor(target: string | MongoClientLike, options: MongoDBBackendOptions = {}) {
    super();
    const settings = readTarget(target, options);
    this.name = settings.name;
    this.#secrets = settings.secrets;
    this.access = options.readOnly === true ? 'read-only' : options.createIfMissing === false ? 'existing' : 'create';
    this.now = options.now ?? (() => new Date());
    this.rc = { name: this.name, now: this.now, retention: options.retention, lastPrune: 0 };
    this.connection = new MongoConnection({
      name: this.name,
      // The driver's own types from here on: the public ones only describe them (mongodb-options.ts).
      target: settings.source as { readonly uri: string } | { readonly client: MongoClient },
      database: settings.database,
      prefix: settings.prefix,
      access: this.access,
      writeConcern: options.writeConcern,
      serverSelectionTimeoutMs: options.serverSelectionTimeoutMs,
      clientOptions: options.clientOptions as MongoClientOptions | undefined,
      idleCloseMs: options.idleCloseMs ?? DEFAULT_IDLE_CLOSE_MS,
      secrets: this.#secrets,
    });
    this.analytics = new MongoAnalytics(this.name, (action, fn) => this.run(action, fn));
  }

  /** Whether writes are refused (opened with `readOnly`). */
  get readOnly(): boolean {
    return this.access === 'read-only';
  }

  open(): Promise<void> {
    return this.connection.use(async () => undefined);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /** Close the idle client now rather than after `idleCloseMs` (the next call connects again). */
  release(): Promise<void> {
    return this.connection.release();
  }

  // -- writes ----------------------------------------------------------------

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const deltas = groupByTicket(batch);
    const graceMs = regressionGrace(options);
    if (deltas.length === 0) return [];
    const named = options.batchId !== undefined;
    const batchId = options.batchId ?? randomUUID();
    return this.write('record occurrences', (c) =>
      recordDeltas(this.rc, c, deltas, batchId, named, options.outbox ?? [], graceMs),
    );
  }

  // -- reads -----------------------------------------------------------------

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    const checked = checkFilter(filter);
    return this.run('count tickets', async (c) => c.tickets.countDocuments(await filterQuery(c, checked)));
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const dir = q.descending ? -1 : 1;
    const field = ORDER_FIELDS[q.field];
    const sort: Record<string, 1 | -1> = field === '_id' ? { _id: dir } : { [field]: dir, _id: dir };
    const docs = await this.run('list tickets', (c) =>
      q.limit === 0
        ? Promise.resolve([])
        : filterQuery(c, q.filter).then((query) =>
            c.tickets.find(query).sort(sort).skip(q.offset).limit(q.limit).toArray(),
          ),
    );
    return docs.map(toTicket);
  }

  async getTicket(id: number): Promise<Ticket | null> {
    checkTicketId(id);
    const doc = await this.run('read a ticket', (c) => c.tickets.findOne({ _id: id as never }));
    return doc === null ? null : toTicket(doc);
  }

  async getOccurrences(ticketId: number, options: GetOccurrencesOptions = {}): Promise<StoredOccurrence[]> {
    const q = occurrenceQuery(options);
    if ((await this.getTicket(ticketId)) === null) throw ticketNotFound(ticketId, this.name);
    const dir = q.descending ? -1 : 1;
    const docs = await this.run('list occurrences', (c) =>
      q.limit === 0
        ? Promise.resolve([])
        : c.occurrences.find({ ticketId }).sort({ time: dir, _id: dir }).skip(q.offset).limit(q.limit).toArray(),
    );
    return docs.map(toOccurrence);
  }

  // -- changes ---------------------------------------------------------------

  async setTicketState(id: number, state: SettableState, options?: StateChangeOptions): Promise<Ticket> {
    checkTicketId(id);
    checkSettableState(state);
    const at = new Date(changeTime(options, this.now()));
    const release = changeRelease(options);
    return this.change('change the state of a ticket', id, (c) =>
      changeTicketState(this.name, c, id, state, at, release),
    );
  }

  async deleteTicket(id: number): Promise<void> {
    checkTicketId(id);
    const deleted = await this.write('delete a ticket', async (c) => {
      const result = await c.tickets.deleteOne({ _id: id as never });
      await c.occurrences.deleteMany({ ticketId: id });
      await c.ticketEvents.deleteMany({ ticketId: id });
      return result.deletedCount;
    });
    if (deleted === 0) throw ticketNotFound(id, this.name);
  }

  // -- analytics (mongodb-analytics.ts) ---------------------------------------

  histogram(ticketId: number | null, options: HistogramOptions): Promise<BucketCount[]> {
    return this.analytics.histogram(ticketId, options);
  }
  newTickets(options: HistogramOptions): Promise<BucketCount[]> {
    return this.analytics.newTickets(options);
  }
  sparklines(ticketIds: readonly number[], options: SparklineOptions): Promise<Map<number, number[]>> {
    return this.analytics.sparklines(ticketIds, options);
  }
  topTickets(
    options: TimeWindow & { readonly limit?: number; readonly filter?: TicketFilter },
  ): Promise<TicketCount[]> {
    return this.analytics.topTickets(options);
  }
  messages(ticketId: number, options?: MessagesOptions): Promise<MessageCount[]> {
    return this.analytics.messages(ticketId, options);
  }
  ticketEvents(ticketId: number): Promise<TicketEvent[]> {
    return this.analytics.ticketEvents(ticketId);
  }

  // -- links -----------------------------------------------------------------

  getLink(key: LinkKey): Promise<Link | null> {
    return this.run('read a link', (c) => links.getLink(c, key));
  }

  async claimLink(key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim> {
    const now = this.now();
    return this.write('claim a link', (c) => takeLink(c, key, owner, now, new Date(now.getTime() + leaseMs)));
  }

  completeLink(key: LinkKey, owner: string, externalId: string): Promise<boolean> {
    return this.write('complete a link', (c) => links.completeLink(c, key, owner, externalId));
  }

  releaseLink(key: LinkKey, owner: string): Promise<void> {
    return this.write('release a link', (c) => links.releaseLink(c, key, owner));
  }

  setLink(key: LinkKey, externalId: string): Promise<void> {
    return this.write('set a link', (c) => links.setLink(c, key, externalId));
  }

  async setLinkState(key: LinkKey, state: SettableState, at: string): Promise<void> {
    const set = checkLinkState(state, at);
    await this.write('set the state of a link', (c) => links.setLinkState(c, key, set.state, new Date(set.at)));
  }

  getProblemLinks(problem: { readonly appId: string; readonly hash: string }): Promise<Link[]> {
    return this.run("read a problem's links", (c) => links.problemLinks(c, problem.appId, problem.hash));
  }
  getLinksByExternalId(tracker: string, externalIds: readonly string[]): Promise<Link[]> {
    return this.run('read links by external id', (c) => links.linksByExternalId(c, tracker, externalIds));
  }
  async claimCommentSlot(
    key: LinkKey,
    intervalMs: number,
  ): Promise<{ granted: true } | { granted: false; nextAt: string }> {
    const now = this.now();
    return this.write('claim a comment slot', (c) => takeCommentSlot(c, key, now, intervalMs));
  }

  deleteLink(key: LinkKey): Promise<void> {
    return this.write('delete a link', (c) => links.deleteLink(c, key));
  }

  // -- outbox ----------------------------------------------------------------

  async enqueueOutbox(entries: readonly OutboxEntryInput[]): Promise<void> {
    if (entries.length === 0) return;
    await this.write('enqueue deliveries', (c) => mergeOutbox(this.name, c, entries, this.now(), undefined));
  }

  async postponeOutbox(ids: readonly number[], owner: string, availableAt: string): Promise<void> {
    if (ids.length === 0) return;
    const at = new Date(availableAt);
    await this.write('postpone deliveries', (c) => postponeRows(this.name, c, ids, owner, at));
  }

  async leaseOutbox(...[tracker, owner, limit, leaseMs, options]: LeaseArgs): Promise<OutboxEntry[]> {
    const now = this.now();
    const times = { now, dueBy: leaseDueBy(now, options), until: new Date(now.getTime() + leaseMs) };
    return this.write('lease deliveries', (c) => takeLeases(c, tracker, owner, limit, times));
  }

  async completeOutbox(ids: readonly number[], owner: string): Promise<void> {
    if (ids.length === 0) return;
    await this.write('complete deliveries', (c) => c.outbox.deleteMany({ _id: { $in: [...ids] as never[] }, owner }));
  }

  async retryOutbox(id: number, owner: string, availableAt: string, error: string): Promise<void> {
    await this.write('postpone a delivery', (c) => retryRow(c, id, owner, new Date(availableAt), error));
  }

  async countOutbox(tracker?: string): Promise<number> {
    return this.run('count deliveries', (c) => c.outbox.countDocuments(tracker === undefined ? {} : { tracker }));
  }

  // -- tracker state (mongodb-tracker-state.ts) -------------------------------

  acquireTrackerLease(tracker: string, owner: string, ttlMs: number): Promise<boolean> {
    return this.write('take a tracker lease', (c) => ts.acquireLease(c, tracker, owner, ttlMs, this.now()));
  }

  async releaseTrackerLease(tracker: string, owner: string): Promise<void> {
    await this.write('release a tracker lease', (c) => ts.releaseLease(c, tracker, owner));
  }

  getTrackerLease(tracker: string): Promise<TrackerLease | null> {
    return this.run('read a tracker lease', (c) => ts.readLease(c, tracker));
  }

  getTrackerState(tracker: string): Promise<TrackerState> {
    return this.run('read a tracker state', (c) => ts.readState(c, tracker));
  }

  updateTrackerState(tracker: string, owner: string, patch: TrackerStatePatch): Promise<boolean> {
    return this.write('change a tracker state', (c) => ts.updateState(c, tracker, owner, patch, this.now()));
  }

  takeTrackerWrite(tracker: string, owner: string, windows: readonly BudgetWindow[]): Promise<WriteGrant> {
    return this.write('take a tracker write', (c) => ts.takeWrite(this.name, c, tracker, owner, windows, this.now()));
  }

  // -- plumbing --------------------------------------------------------------

  private async run<T>(action: string, fn: (c: Collections) => Promise<T>): Promise<T> {
    try {
      return await this.connection.use(fn);
    } catch (error) {
      throw classifyMongoError(error, this.name, action, this.#secrets);
    }
  }

  /** A write: refused on a store opened read-only, before anything is sent. */
  private write<T>(action: string, fn: (c: Collections) => Promise<T>): Promise<T> {
    if (this.access === 'read-only') return Promise.reject(readOnlyError(this.name, action));
    return this.run(action, fn);
  }

  private async change(action: string, id: number, fn: (c: Collections) => Promise<Document | null>): Promise<Ticket> {
    const doc = await this.write(action, fn);
    if (doc === null) throw ticketNotFound(id, this.name);
    return toTicket(doc);
  }
}
