/**
 * The Trac backend: one Trac ticket per problem, comments for later
 * occurrences, reopened on regression.
 *
 * Writing never waits for Trac. `recordBatch` counts the occurrences in the
 * reference store and, in the same write, puts one delivery per problem in
 * its durable outbox; an OutboxDeliverer then delivers in the background:
 * - the ticket is found through a bounded cache, then the store's link, then
 *   a Trac query on the fingerprint field; only the process that wins the
 *   link claim creates it, so several processes make one ticket, and a create
 *   whose answer was lost is found by the query when retried;
 * - at most one comment per ticket per comment interval (across processes):
 *   what arrives meanwhile waits and goes into one digest comment;
 * - a ticket closed as fixed is reopened through the workflow with a
 *   regression comment; one closed with a muted resolution stays closed.
 */

import { LRUCache } from 'lru-cache';
import type { AxiosProxyConfig } from 'axios';
import { LogticketsError } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import { parseLevel } from '../../logging/level.js';
import { checkOptions } from '../../options.js';
import type { BackoffOptions } from '../../ticketing/backoff.js';
import { groupByTicket } from '../batch.js';
import type {
  GetOccurrencesOptions,
  GetTicketsOptions,
  LinkKey,
  OccurrenceInput,
  OutboxEntry,
  RecordOptions,
  RecordOutcome,
  StoredOccurrence,
  Ticket,
  TicketBackend,
  TicketFilter,
  TicketStore,
} from '../contract.js';
import { isTicketStore } from '../contract.js';
import { openBackend } from '../open-backend.js';
import { checkFilter, checkTicketId, occurrenceQuery, ticketNotFound, ticketQuery } from '../query-options.js';
import { asSummary, merge, summarize, type OccurrenceSummary } from '../tracker/occurrence-summary.js';
import { OutboxDeliverer, type DeliveryResult } from '../tracker/outbox-deliverer.js';
import { occurrenceComment, ticketDescription, ticketSummary } from './trac-wiki.js';
import { XmlRpcClient } from './xmlrpc-client.js';

export interface TracTicketFields {
  readonly type?: string;
  readonly component?: string;
  readonly priority?: string;
  readonly milestone?: string;
  readonly owner?: string;
  readonly keywords?: string;
  readonly cc?: string;
  readonly version?: string;
}

export interface TracBackendOptions {
  /** The RPC endpoint, e.g. `https://trac.example.org/login/rpc`. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  /** Per request (default 15 000 ms). */
  readonly timeoutMs?: number;
  readonly tls?: { readonly ca?: string | Buffer; readonly rejectUnauthorized?: boolean };
  readonly proxy?: AxiosProxyConfig | false;
  /** Fields given to new tickets. */
  readonly fields?: TracTicketFields;
  /** The custom text field holding the fingerprint (default `logtickets_hash`). */
  readonly hashField?: string;
  /** At most one comment per ticket per this many ms (default 60 000). */
  readonly commentIntervalMs?: number;
  /** Resolutions that mean "do not reopen" (default wontfix, invalid, duplicate). */
  readonly mutedResolutions?: readonly string[];
  /** Where links, counts and the outbox live: a store URI or instance (default `sqlite:./logtickets.db`). */
  readonly store?: string | TicketStore;
  /** Called for delivery problems. Default: one line on stderr per kind of problem, at most every 30 s. */
  readonly onError?: (error: LogticketsError) => void;
  readonly retry?: BackoffOptions;
  /** How often to look for waiting deliveries (default 2 000 ms). */
  readonly pollIntervalMs?: number;
}

interface TracTicket {
  readonly id: number;
  readonly created: Date;
  readonly changed: Date;
  readonly attrs: Record<string, string>;
}

type TracAction = [string, string, string, Array<[string, string, string[]]>];

export class TracBackend implements TicketBackend {
  readonly name: string;
  /** The store this backend counts occurrences in (do not list it as another target too). */
  readonly countsIn: string;
  readonly store: TicketStore;
  private readonly rpc: XmlRpcClient;
  private readonly ownsStore: boolean;
  private readonly hashField: string;
  private readonly fields: TracTicketFields;
  private readonly commentIntervalMs: number;
  private readonly muted: ReadonlySet<string>;
  private readonly cache = new LRUCache<string, number>({ max: 10_000 });
  private readonly deliverer: OutboxDeliverer;
  private readonly warn: (key: string, message: string) => void;
  private fieldMode: Promise<'custom' | 'keywords'> | undefined;

  constructor(options: TracBackendOptions) {
    checkOptions('TracBackend options', options, {
      url: 'string',
      username: 'string',
      password: 'string',
      timeoutMs: { integer: { min: 1 } },
      tls: 'object',
      proxy: 'any',
      fields: 'object',
      hashField: 'string',
      commentIntervalMs: { integer: { min: 0 } },
      mutedResolutions: 'array',
      store: 'any',
      onError: 'function',
      retry: 'object',
      pollIntervalMs: { integer: { min: 10 } },
    });
    if (options?.url === undefined)
      throw new LogticketsError('INVALID_ARGUMENT', 'TracBackend options.url is required');
    checkOptions('TracBackend options.fields', options.fields, {
      type: 'string',
      component: 'string',
      priority: 'string',
      milestone: 'string',
      owner: 'string',
      keywords: 'string',
      cc: 'string',
      version: 'string',
    });
    const url = new URL(options.url);
    this.name = `trac:${url.origin}${url.pathname}`;
    this.rpc = new XmlRpcClient({ ...options, name: this.name });
    this.hashField = options.hashField ?? 'logtickets_hash';
    if (!/^[a-z][a-z0-9_]*$/.test(this.hashField)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `TracBackend options.hashField must be a Trac field name, got ${JSON.stringify(this.hashField)}`,
      );
    }
    this.fields = options.fields ?? {};
    this.commentIntervalMs = options.commentIntervalMs ?? 60_000;
    this.muted = new Set(options.mutedResolutions ?? ['wontfix', 'invalid', 'duplicate']);
    const store = options.store ?? 'sqlite:./logtickets.db';
    if (typeof store === 'string') {
      this.store = openStore(store);
      this.ownsStore = true;
    } else if (isTicketStore(store)) {
      this.store = store;
      this.ownsStore = false;
    } else {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        'TracBackend options.store must be a store URI or a store (links and outbox)',
      );
    }
    this.countsIn = this.store.name;
    const report = rateLimitedStderr();
    this.warn = (key, message) => report(`${this.name}|${key}`, message);
    const onError =
      options.onError ??
      ((e: LogticketsError) =>
        this.warn(e.code, `${this.name}: ${e.code}: ${e.message} (deliveries wait in the outbox)`));
    this.deliverer = new OutboxDeliverer({
      store: this.store,
      tracker: this.name,
      deliver: (key, entries) => this.deliver(key, entries),
      onError,
      pollIntervalMs: options.pollIntervalMs,
      retry: options.retry,
    });
  }

  async open(): Promise<void> {
    await this.store.open();
    this.deliverer.kick();
  }

  async close(): Promise<void> {
    await this.deliverer.stop();
    if (this.ownsStore) await this.store.close();
  }

  /** Deliver what waits in the outbox now; true when nothing of this tracker is left. */
  deliverPending(options: { timeoutMs?: number } = {}): Promise<boolean> {
    return this.deliverer.drain(options.timeoutMs ?? 30_000);
  }

  get deliveryCounts(): Readonly<{ delivered: number; postponed: number; failed: number }> {
    return this.deliverer.counts;
  }

  // -- writes: count in the store, enqueue one delivery per problem -----------

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const outbox = groupByTicket(batch).map((delta) => ({
      tracker: this.name,
      appId: delta.appId,
      hash: delta.hash,
      payload: summarize(delta) as never,
    }));
    const outcomes = await this.store.recordBatch(batch, {
      ...options,
      outbox: [...(options.outbox ?? []), ...outbox],
    });
    this.deliverer.kick();
    return outcomes;
  }

  // -- delivery ---------------------------------------------------------------

  private async deliver(key: LinkKey, entries: readonly OutboxEntry[]): Promise<DeliveryResult> {
    const summary = merge(entries.map((e) => asSummary(e.payload)));
    const found = await this.findOrCreate(key, summary);
    if (found === 'pending') return { postponeUntil: new Date(Date.now() + 2_000).toISOString() };
    if (found.created) {
      // The description covers these occurrences; the comment window starts now.
      await this.store.claimCommentSlot(key, this.commentIntervalMs);
      return 'done';
    }
    const slot = await this.store.claimCommentSlot(key, this.commentIntervalMs);
    if (!slot.granted) return { postponeUntil: slot.nextAt };
    let ticket: TracTicket;
    try {
      ticket = await this.getTracTicket(found.id);
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) {
        // Deleted in Trac: forget the link; the next round opens a new ticket.
        this.cache.delete(`${key.appId}\u0000${key.hash}`);
        await this.store.deleteLink(key);
        return { postponeUntil: new Date().toISOString() };
      }
      throw error;
    }
    const closed = ticket.attrs.status === 'closed';
    if (closed && this.muted.has(ticket.attrs.resolution ?? '')) return 'done';
    if (closed) {
      await this.workflow(ticket, 'reopen', occurrenceComment(summary, true), {});
    } else {
      await this.update(ticket, occurrenceComment(summary, false), { action: 'leave' });
    }
    return 'done';
  }

  private async findOrCreate(
    key: LinkKey,
    summary: OccurrenceSummary,
  ): Promise<{ id: number; created: boolean } | 'pending'> {
    const cacheKey = `${key.appId}\u0000${key.hash}`;
    const cached = this.cache.get(cacheKey);
    if (cached !== undefined) return { id: cached, created: false };
    const link = await this.store.getLink(key);
    if (link?.externalId != null) {
      this.cache.set(cacheKey, Number(link.externalId));
      return { id: Number(link.externalId), created: false };
    }
    const owner = `${process.pid}-${Math.random().toString(36).slice(2)}`;
    const claim = await this.store.claimLink(key, owner, 120_000);
    if (claim.state === 'pending') return 'pending';
    if (claim.state === 'linked') {
      this.cache.set(cacheKey, Number(claim.externalId));
      return { id: Number(claim.externalId), created: false };
    }
    try {
      // A ticket may exist already: the link was lost, or a create's answer was.
      const existing = await this.query(`${await this.fingerprintCondition(key.hash)}&max=0&order=id`);
      let created = false;
      let id = existing[0];
      if (id === undefined) {
        id = await this.createTicket(key, summary);
        created = true;
      }
      await this.store.completeLink(key, owner, String(id));
      this.cache.set(cacheKey, id);
      return { id, created };
    } catch (error) {
      await this.store.releaseLink(key, owner).catch(() => undefined);
      throw error;
    }
  }

  private async createTicket(key: LinkKey, summary: OccurrenceSummary): Promise<number> {
    const mode = await this.mode();
    const attributes: Record<string, string> = { type: 'defect', ...this.fields };
    if (mode === 'custom') attributes[this.hashField] = key.hash;
    else attributes.keywords = [this.fields.keywords, `logtickets:${key.hash}`].filter(Boolean).join(' ');
    return this.rpc.call<number>('ticket.create', [
      ticketSummary(summary),
      ticketDescription(summary, key.appId, key.hash),
      attributes,
      false,
    ]);
  }

  /** Whether the fingerprint field exists (Trac ignores a condition on an undefined field and matches everything). */
  private mode(): Promise<'custom' | 'keywords'> {
    this.fieldMode ??= this.rpc
      .call<Array<{ name: string }>>('ticket.getTicketFields')
      .then((fields) => {
        if (fields.some((f) => f.name === this.hashField)) return 'custom' as const;
        this.warn(
          'field',
          `${this.name}: Trac has no custom field "${this.hashField}" (add [ticket-custom] ${this.hashField} = text to trac.ini); using the keywords field instead`,
        );
        return 'keywords' as const;
      })
      .catch((error: unknown) => {
        this.fieldMode = undefined;
        throw error;
      });
    return this.fieldMode;
  }

  private async fingerprintCondition(hash: string): Promise<string> {
    return (await this.mode()) === 'custom' ? `${this.hashField}=${hash}` : `keywords=~logtickets:${hash}`;
  }

  private async query(q: string): Promise<number[]> {
    return this.rpc.call<number[]>('ticket.query', [q]);
  }

  private async getTracTicket(id: number): Promise<TracTicket> {
    const [tid, created, changed, attrs] = await this.rpc.call<[number, Date, Date, Record<string, string>]>(
      'ticket.get',
      [id],
    );
    return { id: tid, created, changed, attrs };
  }

  /** Comment (and change attributes), retrying once on a mid-air collision with a fresh `_ts`. */
  private async update(ticket: TracTicket, comment: string, attributes: Record<string, string>): Promise<void> {
    try {
      await this.rpc.call('ticket.update', [ticket.id, comment, { ...attributes, _ts: ticket.attrs._ts ?? '' }, false]);
    } catch (error) {
      if (
        !(error instanceof LogticketsError) ||
        error.faultCode !== 1 ||
        !/modified|updated since/i.test(error.message)
      )
        throw error;
      const fresh = await this.getTracTicket(ticket.id);
      await this.rpc.call('ticket.update', [ticket.id, comment, { ...attributes, _ts: fresh.attrs._ts ?? '' }, false]);
    }
  }

  /** Run a workflow action (found with ticket.getActions, as workflows are configurable). */
  private async workflow(
    ticket: TracTicket,
    action: string,
    comment: string,
    extra: Record<string, string>,
  ): Promise<void> {
    const actions = await this.rpc.call<TracAction[]>('ticket.getActions', [ticket.id]);
    const found = actions.find(([name]) => name === action);
    if (found === undefined) {
      this.warn(
        `no-${action}`,
        `${this.name}: ticket #${ticket.id} has no "${action}" action in its workflow now; commenting only`,
      );
      await this.update(ticket, comment, { action: 'leave' });
      return;
    }
    const inputs: Record<string, string> = {};
    for (const [input, value] of found[3] ?? []) inputs[input] = value;
    await this.update(ticket, comment, { action, ...inputs, ...extra });
  }

  // -- the read side, where Trac can answer -----------------------------------

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    return (await this.query(`${await this.conditions(checkFilter(filter))}&max=0`)).length;
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const order = { id: 'id', firstSeen: 'time', lastSeen: 'changetime' }[q.field as 'id' | 'firstSeen' | 'lastSeen'];
    if (order === undefined) {
      throw new LogticketsError(
        'NOT_SUPPORTED',
        `orderBy ${q.field}: the Trac backend orders by id, firstSeen or lastSeen (use its store for more)`,
        {
          backend: this.name,
        },
      );
    }
    const ids = await this.query(
      `${await this.conditions(q.filter)}&max=0&order=${order}${q.descending ? '&desc=1' : ''}`,
    );
    const page = ids.slice(q.offset, q.offset + q.limit);
    return Promise.all(page.map(async (id) => this.toTicket(await this.getTracTicket(id))));
  }

  async getTicket(id: number): Promise<Ticket | null> {
    checkTicketId(id);
    try {
      return await this.toTicket(await this.getTracTicket(id));
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) return null;
      throw error;
    }
  }

  /** Occurrences as Trac shows them: the ticket's creation, then its comments. */
  async getOccurrences(ticketId: number, options: GetOccurrencesOptions = {}): Promise<StoredOccurrence[]> {
    const q = occurrenceQuery(options);
    const ticket = await this.getTicket(ticketId);
    if (ticket === null) throw ticketNotFound(ticketId, this.name);
    const log = await this.rpc.call<Array<[Date, string, string, string, string, number]>>('ticket.changeLog', [
      ticketId,
    ]);
    const items: StoredOccurrence[] = [{ id: 0, ticketId, time: ticket.firstSeen, data: { comment: ticket.title } }];
    for (const [time, author, fieldName, number, text] of log) {
      if (fieldName === 'comment' && text !== '') {
        items.push({
          id: Number(number) || items.length,
          ticketId,
          time: time.toISOString(),
          data: { author, comment: text },
        });
      }
    }
    items.sort((a, b) => (a.time === b.time ? a.id - b.id : a.time < b.time ? -1 : 1));
    if (q.descending) items.reverse();
    return items.slice(q.offset, q.offset + q.limit);
  }

  async solveTicket(id: number): Promise<Ticket> {
    const ticket = await this.mustGet(id);
    if (ticket.attrs.status !== 'closed') {
      await this.workflow(ticket, 'resolve', 'Marked solved through logtickets.', {
        action_resolve_resolve_resolution: 'fixed',
      });
    }
    return this.toTicket(await this.getTracTicket(id));
  }

  async reopenTicket(id: number): Promise<Ticket> {
    const ticket = await this.mustGet(id);
    if (ticket.attrs.status === 'closed') await this.workflow(ticket, 'reopen', 'Reopened through logtickets.', {});
    return this.toTicket(await this.getTracTicket(id));
  }

  async deleteTicket(id: number): Promise<void> {
    await this.mustGet(id);
    try {
      await this.rpc.call('ticket.delete', [id]);
    } catch (error) {
      if (error instanceof LogticketsError && error.code === 'PERMISSION_DENIED') {
        throw new LogticketsError(
          'PERMISSION_DENIED',
          `deleting Trac ticket #${id} needs the TICKET_ADMIN permission, which this user lacks`,
          {
            backend: this.name,
            cause: error,
            faultCode: error.faultCode,
          },
        );
      }
      throw error;
    }
  }

  private async mustGet(id: number): Promise<TracTicket> {
    checkTicketId(id);
    try {
      return await this.getTracTicket(id);
    } catch (error) {
      if (error instanceof LogticketsError && error.faultCode === 404) throw ticketNotFound(id, this.name);
      throw error;
    }
  }

  private async conditions(filter: TicketFilter): Promise<string> {
    for (const key of ['level', 'minLevel', 'appId', 'channel'] as const) {
      if (filter[key] !== undefined) {
        throw new LogticketsError(
          'NOT_SUPPORTED',
          `filter.${key}: the Trac backend cannot filter on it (use its store)`,
          { backend: this.name },
        );
      }
    }
    const parts = [
      filter.hash === undefined
        ? (await this.mode()) === 'custom'
          ? `${this.hashField}!=`
          : 'keywords=~logtickets:'
        : await this.fingerprintCondition(filter.hash),
    ];
    if (filter.solved === true) parts.push('status=closed');
    if (filter.solved === false) parts.push('status!=closed');
    return parts.join('&');
  }

  private async toTicket(t: TracTicket): Promise<Ticket> {
    const hash = t.attrs[this.hashField] || /logtickets:([0-9a-f]{40})/.exec(t.attrs.keywords ?? '')?.[1] || '';
    const m = /^\[(\w+)\] (.*?): (.*) \(([^()]*)\)$/.exec(t.attrs.summary ?? '');
    const local = hash === '' ? undefined : (await this.store.getTickets({ filter: { hash }, limit: 1 }))[0];
    const closed = t.attrs.status === 'closed';
    return {
      id: t.id,
      hash,
      appId: local?.appId ?? '',
      level: parseLevel(m?.[1] ?? '') ?? local?.level ?? 0,
      channel: m?.[2] ?? local?.channel ?? '',
      location: m?.[4] ?? local?.location ?? '',
      function: local?.function ?? null,
      title: m?.[3] ?? t.attrs.summary ?? '',
      firstSeen: local?.firstSeen ?? t.created.toISOString(),
      lastSeen: local?.lastSeen ?? t.changed.toISOString(),
      occurrenceCount: local?.occurrenceCount ?? 0,
      solved: closed,
      solvedAt: closed ? t.changed.toISOString() : null,
      regressionCount: local?.regressionCount ?? 0,
      lastRegressionAt: local?.lastRegressionAt ?? null,
    };
  }
}

function openStore(uri: string): TicketStore {
  let backend: TicketBackend;
  try {
    backend = openBackend(uri);
  } catch (error) {
    if (error instanceof LogticketsError)
      throw new LogticketsError(error.code, `TracBackend options.store: ${error.message}`);
    throw error;
  }
  if (!isTicketStore(backend)) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `TracBackend options.store: ${backend.name} cannot keep links and an outbox`,
    );
  }
  return backend;
}
