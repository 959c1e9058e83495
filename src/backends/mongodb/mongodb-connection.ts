/**
 * The MongoDB store's connection: one client, its collections, and what the
 * store must find or create in the database.
 *
 * Nothing keeps a process alive by accident. The driver's connection pool and
 * server monitors hold sockets and timers that would keep a process running
 * forever after its last write (there is no driver option to unreference
 * them). So a client that has had no call for `idleCloseMs` is closed, and the
 * next call connects again; a process that just ends exits at most that long
 * after its last write. A client passed in by the application is its own to
 * close and is never closed here.
 */

import type { Collection, Db, Document, MongoClient, MongoClientOptions, WriteConcernSettings } from 'mongodb';
import { LogticketsError } from '../../errors.js';
import { loadDriver } from '../optional-driver.js';
import { classifyMongoError } from './mongodb-errors.js';
import { prepareOutbox } from './mongodb-outbox.js';
import type { SecretMatchers } from '../../errors.js';

export interface Collections {
  tickets: Collection<Document>;
  occurrences: Collection<Document>;
  links: Collection<Document>;
  outbox: Collection<Document>;
  counters: Collection<Document>;
  /** Ids of batches applied in full, with when: how a retried batch is recognised. */
  batches: Collection<Document>;
  /** Per tracker: the deliverer's lease, its state and recent writes (mongodb-tracker-state.ts). */
  trackers: Collection<Document>;
  /** Per app and release: its first sighting (mongodb-releases.ts). */
  releases: Collection<Document>;
  /** Each ticket's history of state changes and regressions (mongodb-ticket-events.ts). */
  ticketEvents: Collection<Document>;
}

/** `create`: make missing indexes (a writer); `existing`: the store must be there; `read-only`: never write. */
export type MongoAccess = 'create' | 'existing' | 'read-only';

export interface ConnectionSettings {
  readonly name: string;
  readonly target: { readonly uri: string } | { readonly client: MongoClient };
  readonly database: string;
  readonly prefix: string;
  readonly access: MongoAccess;
  readonly writeConcern: WriteConcernSettings | undefined;
  readonly serverSelectionTimeoutMs: number | undefined;
  readonly clientOptions: MongoClientOptions | undefined;
  /** 0: keep the client until close(). */
  readonly idleCloseMs: number;
  /** The URI's password, replaced by value in errors (see error-sanitizer.ts). */
  readonly secrets: SecretMatchers;
}

export const DEFAULT_IDLE_CLOSE_MS = 1_000;

export class MongoConnection {
  private client: MongoClient | undefined;
  private connecting: Promise<Collections> | undefined;
  private closing: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private busy = 0;
  private schemaChecked = false;
  private closed = false;

  // A private field: the settings hold the URI with its password, which util.inspect must never show.
  readonly #s: ConnectionSettings;

  constructor(settings: ConnectionSettings) {
    this.#s = settings;
  }

  /**
   * Run `fn` with the collections, connecting first when needed. While any
   * call runs the client stays; when the last one ends, the idle countdown
   * starts.
   */
  async use<T>(fn: (c: Collections) => Promise<T>): Promise<T> {
    if (this.closed) throw new LogticketsError('CLOSED', 'backend is closed', { backend: this.#s.name });
    this.busy++;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    try {
      return await fn(await this.collections());
    } finally {
      this.busy--;
      if (this.busy === 0) this.armIdle();
    }
  }

  /** Close the client now if no call is running (the next call connects again). */
  async release(): Promise<void> {
    if (this.busy > 0 || this.connecting === undefined || 'client' in this.#s.target) return;
    const connecting = this.connecting;
    const client = this.client;
    this.connecting = undefined;
    this.client = undefined;
    this.closing = (async () => {
      await connecting.catch(() => undefined);
      await client?.close().catch(() => undefined);
    })();
    await this.closing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    const connecting = this.connecting;
    this.connecting = undefined;
    await connecting?.catch(() => undefined);
    if (!('client' in this.#s.target)) await this.client?.close().catch(() => undefined);
    this.client = undefined;
  }

  private armIdle(): void {
    if (this.closed || this.#s.idleCloseMs === 0 || this.connecting === undefined || 'client' in this.#s.target) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      void this.release();
    }, this.#s.idleCloseMs);
    // The countdown itself must not keep the process alive either.
    this.idleTimer.unref();
  }

  private collections(): Promise<Collections> {
    this.connecting ??= this.connect().catch(async (error: unknown) => {
      this.connecting = undefined;
      // A client that never connected is thrown away: the next call starts afresh.
      if (!('client' in this.#s.target)) await this.client?.close().catch(() => undefined);
      this.client = undefined;
      throw classifyMongoError(error, this.#s.name, 'open the store', this.#s.secrets);
    });
    return this.connecting;
  }

  private async connect(): Promise<Collections> {
    // A client being closed for idleness finishes closing before a new one starts.
    await this.closing;
    let client: MongoClient;
    if ('client' in this.#s.target) {
      client = this.#s.target.client;
    } else {
      // An optional peer dependency: only MongoDB users install it (optional-driver.ts).
      const { MongoClient } = await loadDriver<typeof import('mongodb')>('mongodb', 'mongodb:// stores');
      client = new MongoClient(this.#s.target.uri, {
        serverSelectionTimeoutMS: this.#s.serverSelectionTimeoutMs ?? 5_000,
        ...this.#s.clientOptions,
      });
      this.client = client;
      await client.connect();
    }
    const db: Db = client.db(this.#s.database, { writeConcern: this.#s.writeConcern ?? { w: 'majority' } });
    const name = (what: string) => `${this.#s.prefix}${what}`;
    const c: Collections = {
      tickets: db.collection(name('tickets')),
      occurrences: db.collection(name('occurrences')),
      links: db.collection(name('links')),
      outbox: db.collection(name('outbox')),
      counters: db.collection(name('counters')),
      batches: db.collection(name('batches')),
      trackers: db.collection(name('trackers')),
      releases: db.collection(name('releases')),
      ticketEvents: db.collection(name('ticket_events')),
    };
    if (!this.schemaChecked) {
      if (this.#s.access === 'create') await createIndexes(c);
      else await verifyStore(db, c, this.#s.prefix, this.#s.name);
      this.schemaChecked = true;
    }
    return c;
  }
}

/** Create the indexes (and with them the collections) the store relies on. Idempotent. */
async function createIndexes(c: Collections): Promise<void> {
  await Promise.all([
    c.tickets.createIndex({ appId: 1, hash: 1 }, { unique: true, name: 'ticket_key' }),
    c.tickets.createIndex({ solved: 1, level: 1, lastSeen: -1 }, { name: 'triage' }),
    c.tickets.createIndex({ lastSeen: -1, _id: -1 }, { name: 'recent' }),
    c.occurrences.createIndex({ ticketId: 1, time: -1, _id: -1 }, { name: 'by_ticket' }),
    c.occurrences.createIndex({ b: 1, i: 1 }, { unique: true, name: 'batch_entry' }),
    // The release filter finds the tickets with an occurrence from a release.
    c.occurrences.createIndex({ release: 1, ticketId: 1 }, { name: 'by_release' }),
    // Analytics of all tickets: the occurrences of a window, and the tickets first seen in one.
    c.occurrences.createIndex({ time: 1 }, { name: 'by_time' }),
    c.tickets.createIndex({ firstSeen: 1 }, { name: 'first_seen' }),
    c.ticketEvents.createIndex({ ticketId: 1, at: 1 }, { name: 'by_ticket' }),
    c.releases.createIndex({ appId: 1, release: 1 }, { unique: true, name: 'release_key' }),
    c.links.createIndex({ tracker: 1, appId: 1, hash: 1 }, { unique: true, name: 'link_key' }),
    // Two-way sync finds the links of the tickets a tracker changed.
    c.links.createIndex({ tracker: 1, externalId: 1 }, { name: 'by_external_id' }),
    c.outbox.createIndex({ tracker: 1, availableAt: 1, _id: 1 }, { name: 'due' }),
    c.outbox.createIndex({ b: 1, i: 1 }, { unique: true, name: 'batch_entry' }),
    // Old ids are deleted by age (there are no TTL indexes everywhere: FerretDB lacks them).
    c.batches.createIndex({ at: 1 }, { name: 'age' }),
    // The trackers collection needs no index beyond its _id; creating it makes it exist.
    c.trackers.createIndex({ until: 1 }, { name: 'lease_until' }),
  ]);
  // After the others: the client is connected by then (a client passed in may connect only on its first command).
  await prepareOutbox(c);
}

/**
 * Check, without creating anything, that the database holds a logtickets
 * store under this prefix: its tickets and occurrences, and the unique index
 * that makes tickets ours.
 */
async function verifyStore(db: Db, c: Collections, prefix: string, backend: string): Promise<void> {
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((x) => String(x.name));
  const present = new Set(names);
  if (!present.has(c.tickets.collectionName)) {
    const others = names
      .filter((n) => n.endsWith('tickets') && present.has(`${n.slice(0, -'tickets'.length)}occurrences`))
      .map((n) => n.slice(0, -'tickets'.length) || '""')
      .sort();
    throw new LogticketsError(
      'STORE_NOT_FOUND',
      `no collection ${c.tickets.collectionName} in ${backend}: not a logtickets store, or one written with another prefix` +
        (others.length === 0 ? '' : ` (it has logtickets collections with prefix ${others.join(', ')})`),
      { backend },
    );
  }
  if (!present.has(c.occurrences.collectionName)) {
    throw new LogticketsError(
      'SCHEMA_MISMATCH',
      `no collection ${c.occurrences.collectionName} in ${backend}: the store is incomplete`,
      { backend },
    );
  }
  const indexes = await c.tickets.listIndexes().toArray();
  if (!indexes.some((index) => index.name === 'ticket_key')) {
    throw new LogticketsError(
      'SCHEMA_MISMATCH',
      `collection ${prefix}tickets in ${backend} has no index ticket_key: not made by logtickets`,
      { backend },
    );
  }
}
