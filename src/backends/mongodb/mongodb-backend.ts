/**
 * The MongoDB store: one shared store for many processes on many hosts, and
 * the reference store of the tracker backends (links and outbox).
 *
 * No write needs a multi-document transaction (not every deployment has
 * them):
 * - a ticket is changed by one atomic findOneAndUpdate per batch; a new one is
 *   created by an upsert guarded by the unique (appId, hash) index;
 * - a regression is a separate update that only matches a ticket solved
 *   before the occurrence, so exactly one writer reopens it;
 * - a batch the pipeline retries carries the same batch id: tickets remember
 *   the last batch ids applied to them and occurrences are unique per
 *   (batch, index), so a retry after a partial write counts nothing twice;
 * - ids users see are numbers from an atomic counter.
 */

import type { Collection, Db, Document, MongoClient, MongoClientOptions, WriteConcernSettings } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { LogticketsError } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type { JsonValue } from '../../logging/json-safe.js';
import { groupByTicket, type TicketDelta } from '../batch.js';
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
  StoredOccurrence,
  Ticket,
  TicketFilter,
  TicketOrderField,
  TicketStore,
} from '../contract.js';
import { checkFilter, checkTicketId, occurrenceQuery, ticketNotFound, ticketQuery } from '../query-options.js';
import { fromBsonKeys, toBsonKeys } from './bson-keys.js';
import { classifyMongoError, isDuplicateKey } from './mongodb-errors.js';
import { parseMongoUri } from './mongodb-uri.js';

export interface MongoDBBackendOptions {
  /** Database name (default: the one in the URI, else `logtickets`). */
  readonly database?: string;
  /** Collection name prefix (default `logtickets_`). */
  readonly prefix?: string;
  /** Write concern of every write (default `{ w: 'majority' }`). */
  readonly writeConcern?: WriteConcernSettings;
  /** Keep only the newest N occurrences of each ticket (counts stay exact). Default: keep all. */
  readonly retention?: number;
  /** How long to look for a server before a write fails and is retried later (default 5 000 ms). */
  readonly serverSelectionTimeoutMs?: number;
  /** Extra driver options, for a URI. */
  readonly clientOptions?: MongoClientOptions;
  /** The clock used for solvedAt, claims and leases (tests pass their own). */
  readonly now?: () => Date;
}

const ORDER_FIELDS: Record<TicketOrderField, string> = {
  id: '_id',
  lastSeen: 'lastSeen',
  firstSeen: 'firstSeen',
  occurrenceCount: 'occurrenceCount',
  level: 'level',
  regressionCount: 'regressionCount',
};

// How many batch ids a ticket remembers: far more than a writer retries at once.
const REMEMBERED_BATCHES = 32;

interface Collections {
  tickets: Collection<Document>;
  occurrences: Collection<Document>;
  links: Collection<Document>;
  outbox: Collection<Document>;
  counters: Collection<Document>;
}

export class MongoDBBackend implements TicketStore {
  readonly name: string;
  private readonly uri: string | undefined;
  private readonly given: MongoClient | undefined;
  private readonly databaseName: string;
  private readonly prefix: string;
  private readonly options: MongoDBBackendOptions;
  private readonly now: () => Date;
  private client: MongoClient | undefined;
  private c: Collections | undefined;
  private opening: Promise<void> | undefined;
  private closed = false;

  /** `target`: a `mongodb://` / `mongodb+srv://` URI, or a MongoClient you already have (you keep closing it). */
  constructor(target: string | MongoClient, options: MongoDBBackendOptions = {}) {
    checkOptions('MongoDBBackend options', options, {
      database: 'string',
      prefix: 'string',
      writeConcern: 'object',
      retention: 'any',
      serverSelectionTimeoutMs: { integer: { min: 1 } },
      clientOptions: 'object',
      now: 'function',
    });
    const prefix = options.prefix ?? 'logtickets_';
    if (!/^[A-Za-z0-9_.-]{0,60}$/.test(prefix)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `prefix must be letters, digits, _ . or -; got ${JSON.stringify(prefix)}`,
      );
    }
    if (options.retention !== undefined && (!Number.isInteger(options.retention) || options.retention < 1)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `retention must be a positive integer, got ${String(options.retention)}`,
      );
    }
    if (typeof target === 'string') {
      const parsed = parseMongoUri(target);
      this.uri = target;
      this.databaseName = options.database ?? parsed.database ?? 'logtickets';
      this.name = parsed.name.replace(/\/[^/]*$/, `/${this.databaseName}`);
    } else if (target !== null && typeof target === 'object' && typeof (target as MongoClient).db === 'function') {
      this.given = target;
      this.databaseName = options.database ?? 'logtickets';
      this.name = `mongodb:${this.databaseName}`;
    } else {
      throw new LogticketsError('INVALID_ARGUMENT', 'target must be a mongodb:// URI or a MongoClient');
    }
    this.prefix = prefix;
    this.options = options;
    this.now = options.now ?? (() => new Date());
  }

  open(): Promise<void> {
    if (this.closed) return Promise.reject(new LogticketsError('CLOSED', 'backend is closed', { backend: this.name }));
    this.opening ??= this.connect().catch(async (error: unknown) => {
      this.opening = undefined;
      // A client that never connected is thrown away: the next open starts afresh.
      if (this.given === undefined) await this.client?.close().catch(() => undefined);
      this.client = undefined;
      this.c = undefined;
      throw classifyMongoError(error, this.name, 'open the store');
    });
    return this.opening;
  }

  private async connect(): Promise<void> {
    let client = this.given;
    if (client === undefined) {
      const { MongoClient } = await import('mongodb');
      client = new MongoClient(this.uri!, {
        serverSelectionTimeoutMS: this.options.serverSelectionTimeoutMs ?? 5_000,
        ...this.options.clientOptions,
      });
      this.client = client;
      await client.connect();
    }
    const db: Db = client.db(this.databaseName, { writeConcern: this.options.writeConcern ?? { w: 'majority' } });
    const c: Collections = {
      tickets: db.collection(`${this.prefix}tickets`),
      occurrences: db.collection(`${this.prefix}occurrences`),
      links: db.collection(`${this.prefix}links`),
      outbox: db.collection(`${this.prefix}outbox`),
      counters: db.collection(`${this.prefix}counters`),
    };
    await Promise.all([
      c.tickets.createIndex({ appId: 1, hash: 1 }, { unique: true, name: 'ticket_key' }),
      c.tickets.createIndex({ solved: 1, level: 1, lastSeen: -1 }, { name: 'triage' }),
      c.tickets.createIndex({ lastSeen: -1, _id: -1 }, { name: 'recent' }),
      c.occurrences.createIndex({ ticketId: 1, time: -1, _id: -1 }, { name: 'by_ticket' }),
      c.occurrences.createIndex({ b: 1, i: 1 }, { unique: true, name: 'batch_entry' }),
      c.links.createIndex({ tracker: 1, appId: 1, hash: 1 }, { unique: true, name: 'link_key' }),
      c.outbox.createIndex({ tracker: 1, availableAt: 1, _id: 1 }, { name: 'due' }),
      c.outbox.createIndex({ b: 1, i: 1 }, { unique: true, name: 'batch_entry' }),
    ]);
    this.c = c;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.given === undefined) await this.client?.close().catch(() => undefined);
  }

  // -- writes ----------------------------------------------------------------

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const deltas = groupByTicket(batch);
    if (deltas.length === 0) return [];
    const batchId = options.batchId ?? randomUUID();
    return this.run('record occurrences', async (c) => {
      const outcomes: RecordOutcome[] = [];
      const docs: Document[] = [];
      let index = 0;
      for (const delta of deltas) {
        const outcome = await this.applyDelta(c, delta, batchId);
        outcomes.push(outcome);
        for (const item of delta.occurrences) {
          docs.push({
            ticketId: outcome.ticketId,
            time: new Date(item.time),
            data: toBsonKeys(item.data),
            b: batchId,
            i: index++,
          });
        }
      }
      await this.insertOnce(c, c.occurrences, 'occurrences', docs, batchId);
      if (options.outbox !== undefined && options.outbox.length > 0) {
        await this.insertOutbox(c, options.outbox, batchId);
      }
      if (this.options.retention !== undefined) await this.trim(c, outcomes, this.options.retention);
      return outcomes;
    });
  }

  /** Count a batch's occurrences into one ticket, creating or reopening it as needed. */
  private async applyDelta(c: Collections, delta: TicketDelta, batchId: string): Promise<RecordOutcome> {
    const key = { appId: delta.appId, hash: delta.hash };
    const first = new Date(delta.firstSeen);
    const last = new Date(delta.lastSeen);
    const notYet = { batches: { $ne: batchId } };
    // Typed as plain documents: the driver's update typings cannot describe
    // fields of a collection without a schema.
    const count: Document = {
      $inc: { occurrenceCount: delta.count },
      $max: { lastSeen: last },
      $min: { firstSeen: first },
      $push: { batches: { $each: [batchId], $slice: -REMEMBERED_BATCHES } },
    };
    const outcome = (doc: Document, regressed: boolean): RecordOutcome => ({
      hash: delta.hash,
      appId: delta.appId,
      ticketId: Number(doc._id),
      created: Number(doc.occurrenceCount) === delta.count,
      regressed,
      occurrenceCount: Number(doc.occurrenceCount),
    });
    for (let attempt = 0; attempt < 3; attempt++) {
      // 1. The usual case: an open ticket, or one solved after this occurrence happened.
      const counted = await c.tickets.findOneAndUpdate(
        { ...key, ...notYet, $or: [{ solved: false }, { solvedAt: { $gte: last } }] },
        count,
        { returnDocument: 'after' },
      );
      if (counted !== null) return outcome(counted, false);
      // 2. A ticket solved before this occurrence: reopen it as a regression.
      const reopened = await c.tickets.findOneAndUpdate(
        { ...key, ...notYet, solved: true, solvedAt: { $lt: last } },
        {
          ...count,
          $inc: { occurrenceCount: delta.count, regressionCount: 1 },
          $set: { solved: false, solvedAt: null, lastRegressionAt: last },
        },
        { returnDocument: 'after' },
      );
      if (reopened !== null) return outcome(reopened, true);
      // 3. No ticket (or this batch was applied already): create it.
      const id = await this.allocate(c, 'tickets', 1);
      try {
        const created = await c.tickets.findOneAndUpdate(
          { ...key, ...notYet },
          {
            ...count,
            $setOnInsert: {
              _id: id,
              level: delta.level,
              channel: delta.channel,
              location: delta.location,
              function: delta.function,
              title: delta.title,
              solved: false,
              solvedAt: null,
              regressionCount: 0,
              lastRegressionAt: null,
            },
          },
          { upsert: true, returnDocument: 'after' },
        );
        if (created !== null) return outcome(created, false);
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        // Either another writer created it a moment ago (count again), or this
        // batch was applied by an earlier attempt (report it as it stands).
        const existing = await c.tickets.findOne(key);
        if (existing !== null && (existing.batches as unknown[] | undefined)?.includes(batchId)) {
          return { ...outcome(existing, false), created: false };
        }
      }
    }
    throw new LogticketsError('BACKEND_BUSY', `ticket ${delta.hash} kept changing under this write; will retry`, {
      backend: this.name,
      retryable: true,
    });
  }

  /**
   * Insert a batch's documents (numbered by `i`) exactly once. Entries an
   * earlier attempt stored are skipped through the unique (b, i) index; any
   * other collision (an id range handed out twice, e.g. after a server crash)
   * is found by checking what is stored, and the missing entries go in again
   * under fresh ids.
   */
  private async insertOnce(
    c: Collections,
    into: Collection<Document>,
    sequence: string,
    docs: Document[],
    batchId: string,
  ): Promise<void> {
    let pending = docs;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const first = await this.allocate(c, sequence, pending.length);
      pending.forEach((doc, k) => (doc._id = first + k));
      try {
        await into.insertMany(pending, { ordered: false });
        return;
      } catch (error) {
        if (!isDuplicateKey(error) || attempt >= 5) throw error;
      }
      const stored = await into.find({ b: batchId }, { projection: { i: 1 } }).toArray();
      const present = new Set(stored.map((d) => Number(d.i)));
      pending = pending.filter((doc) => !present.has(Number(doc.i)));
    }
  }

  /** Reserve `n` consecutive ids of a sequence; returns the first. */
  private async allocate(c: Collections, sequence: string, n: number): Promise<number> {
    if (n === 0) return 0;
    for (;;) {
      try {
        const doc = await c.counters.findOneAndUpdate(
          { _id: sequence as never },
          { $inc: { seq: n } },
          { upsert: true, returnDocument: 'after' },
        );
        return Number(doc!.seq) - n + 1;
      } catch (error) {
        // Two first-ever allocations raced to create the counter: the loser simply asks again.
        if (!isDuplicateKey(error)) throw error;
      }
    }
  }

  private async trim(c: Collections, outcomes: RecordOutcome[], keep: number): Promise<void> {
    for (const { ticketId, occurrenceCount } of outcomes) {
      if (occurrenceCount <= keep) continue;
      const [boundary] = await c.occurrences
        .find({ ticketId })
        .sort({ time: -1, _id: -1 })
        .skip(keep)
        .limit(1)
        .toArray();
      if (boundary === undefined) continue;
      await c.occurrences.deleteMany({
        ticketId,
        $or: [{ time: { $lt: boundary.time } }, { time: boundary.time, _id: { $lte: boundary._id } }],
      });
    }
  }

  // -- reads -----------------------------------------------------------------

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    const query = mongoFilter(checkFilter(filter));
    return this.run('count tickets', (c) => c.tickets.countDocuments(query));
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const dir = q.descending ? -1 : 1;
    const field = ORDER_FIELDS[q.field];
    const sort: Record<string, 1 | -1> = field === '_id' ? { _id: dir } : { [field]: dir, _id: dir };
    const docs = await this.run('list tickets', (c) =>
      q.limit === 0
        ? Promise.resolve([])
        : c.tickets.find(mongoFilter(q.filter)).sort(sort).skip(q.offset).limit(q.limit).toArray(),
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
    return docs.map((doc) => ({
      id: Number(doc._id),
      ticketId: Number(doc.ticketId),
      time: (doc.time as Date).toISOString(),
      data: fromBsonKeys(doc.data as JsonValue),
    }));
  }

  // -- changes ---------------------------------------------------------------

  async solveTicket(id: number): Promise<Ticket> {
    checkTicketId(id);
    const now = this.now();
    return this.change('solve a ticket', id, async (c) => {
      // Only the solved fields change; solving twice keeps the first time.
      const doc = await c.tickets.findOneAndUpdate(
        { _id: id as never, solved: false },
        { $set: { solved: true, solvedAt: now } },
        { returnDocument: 'after' },
      );
      return doc ?? c.tickets.findOne({ _id: id as never });
    });
  }

  async reopenTicket(id: number): Promise<Ticket> {
    checkTicketId(id);
    return this.change('reopen a ticket', id, (c) =>
      c.tickets.findOneAndUpdate(
        { _id: id as never },
        { $set: { solved: false, solvedAt: null } },
        { returnDocument: 'after' },
      ),
    );
  }

  async deleteTicket(id: number): Promise<void> {
    checkTicketId(id);
    const deleted = await this.run('delete a ticket', async (c) => {
      const result = await c.tickets.deleteOne({ _id: id as never });
      await c.occurrences.deleteMany({ ticketId: id });
      return result.deletedCount;
    });
    if (deleted === 0) throw ticketNotFound(id, this.name);
  }

  // -- links -----------------------------------------------------------------

  async getLink(key: LinkKey): Promise<Link | null> {
    const doc = await this.run('read a link', (c) => c.links.findOne(linkFilter(key)));
    return doc === null ? null : toLink(doc);
  }

  async claimLink(key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim> {
    const now = this.now();
    const until = new Date(now.getTime() + leaseMs);
    return this.run('claim a link', async (c) => {
      try {
        // Matches only a free, expired or own claim; otherwise the upsert collides with the unique key.
        await c.links.findOneAndUpdate(
          {
            ...linkFilter(key),
            externalId: null,
            $or: [{ owner }, { owner: null }, { claimedUntil: { $lt: now } }],
          },
          { $set: { owner, claimedUntil: until } },
          { upsert: true, returnDocument: 'after' },
        );
        return { state: 'claimed' } as const;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const doc = await c.links.findOne(linkFilter(key));
      if (doc === null) return this.claimLink(key, owner, leaseMs);
      const link = toLink(doc);
      if (link.externalId !== null) return { state: 'linked', externalId: link.externalId } as const;
      return {
        state: 'pending',
        owner: link.owner ?? '',
        claimedUntil: link.claimedUntil ?? now.toISOString(),
      } as const;
    });
  }

  async completeLink(key: LinkKey, owner: string, externalId: string): Promise<boolean> {
    const result = await this.run('complete a link', (c) =>
      c.links.updateOne(
        { ...linkFilter(key), owner, externalId: null },
        { $set: { externalId, owner: null, claimedUntil: null } },
      ),
    );
    return result.modifiedCount > 0;
  }

  async releaseLink(key: LinkKey, owner: string): Promise<void> {
    await this.run('release a link', (c) => c.links.deleteOne({ ...linkFilter(key), owner, externalId: null }));
  }

  async setLink(key: LinkKey, externalId: string): Promise<void> {
    await this.run('set a link', (c) =>
      c.links.updateOne(linkFilter(key), { $set: { externalId, owner: null, claimedUntil: null } }, { upsert: true }),
    );
  }

  async claimCommentSlot(
    key: LinkKey,
    intervalMs: number,
  ): Promise<{ granted: true } | { granted: false; nextAt: string }> {
    const now = this.now();
    const since = new Date(now.getTime() - intervalMs);
    return this.run('claim a comment slot', async (c) => {
      const won = await c.links.findOneAndUpdate(
        { ...linkFilter(key), $or: [{ lastCommentAt: null }, { lastCommentAt: { $lte: since } }] },
        { $set: { lastCommentAt: now } },
      );
      if (won !== null) return { granted: true } as const;
      const doc = await c.links.findOne(linkFilter(key));
      if (doc === null || !(doc.lastCommentAt instanceof Date)) return { granted: true } as const;
      return { granted: false, nextAt: new Date(doc.lastCommentAt.getTime() + intervalMs).toISOString() } as const;
    });
  }

  async deleteLink(key: LinkKey): Promise<void> {
    await this.run('delete a link', (c) => c.links.deleteOne(linkFilter(key)));
  }

  // -- outbox ----------------------------------------------------------------

  async enqueueOutbox(entries: readonly OutboxEntryInput[]): Promise<void> {
    if (entries.length === 0) return;
    await this.run('enqueue deliveries', (c) => this.insertOutbox(c, entries, randomUUID()));
  }

  /** Insert deliveries; entries of a batch an earlier attempt stored already are skipped. */
  private async insertOutbox(c: Collections, entries: readonly OutboxEntryInput[], batchId: string): Promise<void> {
    const now = this.now();
    await this.insertOnce(
      c,
      c.outbox,
      'outbox',
      entries.map((e, i) => ({
        tracker: e.tracker,
        appId: e.appId,
        hash: e.hash,
        payload: toBsonKeys(e.payload),
        attempts: 0,
        availableAt: now,
        owner: null,
        leasedUntil: null,
        lastError: null,
        b: batchId,
        i,
      })),
      batchId,
    );
  }

  async postponeOutbox(ids: readonly number[], owner: string, availableAt: string): Promise<void> {
    if (ids.length === 0) return;
    await this.run('postpone deliveries', (c) =>
      c.outbox.updateMany(
        { _id: { $in: [...ids] as never[] }, owner },
        { $set: { owner: null, leasedUntil: null, availableAt: new Date(availableAt) } },
      ),
    );
  }

  async leaseOutbox(tracker: string, owner: string, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    const now = this.now();
    const until = new Date(now.getTime() + leaseMs);
    return this.run('lease deliveries', async (c) => {
      const leased: OutboxEntry[] = [];
      // One atomic take per entry: two owners can never hold the same one.
      while (leased.length < limit) {
        const doc = await c.outbox.findOneAndUpdate(
          { tracker, availableAt: { $lte: now }, $or: [{ owner: null }, { leasedUntil: { $lt: now } }] },
          { $set: { owner, leasedUntil: until } },
          { sort: { _id: 1 }, returnDocument: 'after' },
        );
        if (doc === null) break;
        leased.push(toOutboxEntry(doc));
      }
      return leased;
    });
  }

  async completeOutbox(ids: readonly number[], owner: string): Promise<void> {
    if (ids.length === 0) return;
    await this.run('complete deliveries', (c) => c.outbox.deleteMany({ _id: { $in: [...ids] as never[] }, owner }));
  }

  async retryOutbox(id: number, owner: string, availableAt: string, error: string): Promise<void> {
    await this.run('postpone a delivery', (c) =>
      c.outbox.updateOne(
        { _id: id as never, owner },
        {
          $set: { owner: null, leasedUntil: null, availableAt: new Date(availableAt), lastError: error },
          $inc: { attempts: 1 },
        },
      ),
    );
  }

  async countOutbox(tracker?: string): Promise<number> {
    return this.run('count deliveries', (c) => c.outbox.countDocuments(tracker === undefined ? {} : { tracker }));
  }

  // -- plumbing --------------------------------------------------------------

  private async run<T>(action: string, fn: (c: Collections) => Promise<T>): Promise<T> {
    await this.open();
    try {
      return await fn(this.c!);
    } catch (error) {
      throw classifyMongoError(error, this.name, action);
    }
  }

  private async change(action: string, id: number, fn: (c: Collections) => Promise<Document | null>): Promise<Ticket> {
    const doc = await this.run(action, fn);
    if (doc === null) throw ticketNotFound(id, this.name);
    return toTicket(doc);
  }
}

function mongoFilter(f: TicketFilter): Document {
  const query: Document = {};
  if (f.hash !== undefined) query.hash = f.hash;
  if (f.solved !== undefined) query.solved = f.solved;
  if (f.level !== undefined) query.level = f.level;
  if (f.minLevel !== undefined)
    query.level = f.level === undefined ? { $gte: f.minLevel } : f.level >= f.minLevel ? f.level : { $in: [] };
  if (f.appId !== undefined) query.appId = f.appId;
  if (f.channel !== undefined) query.channel = f.channel;
  return query;
}

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

function toTicket(doc: Document): Ticket {
  return {
    id: Number(doc._id),
    hash: String(doc.hash),
    appId: String(doc.appId),
    level: Number(doc.level),
    channel: String(doc.channel),
    location: String(doc.location),
    function: doc.function == null ? null : String(doc.function),
    title: String(doc.title),
    firstSeen: iso(doc.firstSeen)!,
    lastSeen: iso(doc.lastSeen)!,
    occurrenceCount: Number(doc.occurrenceCount),
    solved: Boolean(doc.solved),
    solvedAt: iso(doc.solvedAt),
    regressionCount: Number(doc.regressionCount ?? 0),
    lastRegressionAt: iso(doc.lastRegressionAt),
  };
}

function linkFilter(key: LinkKey): Document {
  return { tracker: key.tracker, appId: key.appId, hash: key.hash };
}

function toLink(doc: Document): Link {
  return {
    tracker: String(doc.tracker),
    appId: String(doc.appId),
    hash: String(doc.hash),
    externalId: doc.externalId == null ? null : String(doc.externalId),
    owner: doc.owner == null ? null : String(doc.owner),
    claimedUntil: iso(doc.claimedUntil),
  };
}

function toOutboxEntry(doc: Document): OutboxEntry {
  return {
    id: Number(doc._id),
    tracker: String(doc.tracker),
    hash: String(doc.hash),
    appId: String(doc.appId),
    payload: fromBsonKeys(doc.payload as JsonValue),
    attempts: Number(doc.attempts),
    availableAt: iso(doc.availableAt)!,
    lastError: doc.lastError == null ? null : String(doc.lastError),
  };
}
