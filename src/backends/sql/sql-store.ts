/**
 * The SQL store itself: SQLite (the zero-setup default) and PostgreSQL, on
 * kysely. Applications reach it through SqlBackend (sql-backend.ts), which
 * loads this module, and kysely with it, on first use.
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
 */

import { StateShortcuts } from '../state-shortcuts.js';
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
import { sql, type Kysely } from 'kysely';
import { secretMatchers, uriSecrets } from '../../errors.js';
import { groupByTicket } from '../batch.js';
import {
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
  checkTicketId,
  occurrenceQuery,
  regressionGrace,
  ticketNotFound,
  ticketQuery,
} from '../query-options.js';
import { changeRelease, changeTime, checkSettableState, stateOf } from '../ticket-state.js';
import { stateChangeEvent } from '../analytics-rules.js';
import * as an from './sql-analytics.js';
import { SqlCore } from './sql-core.js';
import { createDialect, type SqlDialect } from './sql-dialect.js';
import * as lo from './sql-links-outbox.js';
import * as ob from './sql-outbox.js';
import * as ts from './sql-tracker-state.js';
import { recordDeltas } from './sql-record.js';
import { newestOfApp } from './sql-releases.js';
import { ORDER_COLUMNS, stateFieldsOf, ticketWhere, toTicket } from './sql-rows.js';
import { tableNames, type TableNames } from './sql-schema.js';
import { parseSqlUri } from './sql-uri.js';
import type { BudgetWindow, TrackerLease, TrackerState, TrackerStatePatch, WriteGrant } from '../tracker-state.js';
import type { SqlBackendOptions } from './sql-backend.js';

type Row = Record<string, unknown>;

export class SqlStore extends StateShortcuts implements TicketStore, TicketAnalytics {
  readonly name: string;
  private readonly core: SqlCore;
  private readonly d: SqlDialect;
  private readonly t: TableNames;
  private readonly now: () => Date;
  private readonly ctx: lo.SqlContext;

  /** `uri`: `sqlite:PATH`, `sqlite::memory:`, `postgres://…`; both already checked by SqlBackend, with the options. */
  constructor(uri: string, options: SqlBackendOptions = {}) {
    super();
    const target = parseSqlUri(uri);
    this.name = target.name;
    this.t = tableNames(options.prefix ?? 'logtickets_');
    this.now = options.now ?? (() => new Date());
    const access = options.readOnly === true ? 'read-only' : options.createIfMissing === false ? 'existing' : 'create';
    const { prefix: _p, now: _n, readOnly: _r, createIfMissing: _c, ...connect } = options;
    this.d = createDialect(target, connect, access);
    this.core = new SqlCore(
      this.name,
      this.d,
      this.t,
      access,
      options.busyTimeoutMs ?? 10_000,
      secretMatchers(uriSecrets(uri)),
    );
    this.ctx = { core: this.core, now: this.now };
  }

  get dialect(): 'sqlite' | 'postgres' {
    return this.d.kind;
  }

  /** Whether writes are refused (opened with `readOnly`). */
  get readOnly(): boolean {
    return this.core.access === 'read-only';
  }

  open(): Promise<void> {
    return this.core.open();
  }

  close(): Promise<void> {
    return this.core.close();
  }

  /** Nothing to let go of: SQLite holds no handles, and idle PostgreSQL connections do not keep a process alive. */
  async release(): Promise<void> {}

  // -- writes ----------------------------------------------------------------

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const deltas = groupByTicket(batch);
    const graceMs = regressionGrace(options);
    if (deltas.length === 0) return [];
    return recordDeltas(this.core, {
      deltas,
      batchId: options.batchId,
      outbox: options.outbox ?? [],
      graceMs,
      now: this.now().toISOString(),
    });
  }

  // -- reads -----------------------------------------------------------------

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    const where = ticketWhere(this.d, this.t, checkFilter(filter));
    const result = await this.core.read('count tickets', (db) =>
      sql<Row>`select count(*) as n from ${sql.table(this.t.tickets)} where ${where}`.execute(db),
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const dir = sql.raw(q.descending ? 'desc' : 'asc');
    const column = sql.ref(ORDER_COLUMNS[q.field]);
    const result = await this.core.read('list tickets', (db) =>
      sql<Row>`select * from ${sql.table(this.t.tickets)} where ${ticketWhere(this.d, this.t, q.filter)}
        order by ${column} ${dir}, id ${dir} limit ${q.limit} offset ${q.offset}`.execute(db),
    );
    return result.rows.map((row) => toTicket(this.d, row));
  }

  async getTicket(id: number): Promise<Ticket | null> {
    checkTicketId(id);
    const result = await this.core.read('read a ticket', (db) =>
      sql<Row>`select * from ${sql.table(this.t.tickets)} where id = ${id}`.execute(db),
    );
    return result.rows[0] === undefined ? null : toTicket(this.d, result.rows[0]);
  }

  async getOccurrences(ticketId: number, options: GetOccurrencesOptions = {}): Promise<StoredOccurrence[]> {
    const q = occurrenceQuery(options);
    if ((await this.getTicket(ticketId)) === null) throw ticketNotFound(ticketId, this.name);
    const dir = sql.raw(q.descending ? 'desc' : 'asc');
    const result = await this.core.read('list occurrences', (db) =>
      sql<Row>`select id, ticket_id, time, data, release, environment from ${sql.table(this.t.occurrences)}
        where ticket_id = ${ticketId} order by time ${dir}, id ${dir} limit ${q.limit} offset ${q.offset}`.execute(db),
    );
    return result.rows.map((row) => ({
      id: Number(row.id),
      ticketId: Number(row.ticket_id),
      time: this.d.time(row.time),
      data: this.core.jsonValue(row.data),
      release: row.release == null ? null : String(row.release),
      environment: row.environment == null ? null : String(row.environment),
    }));
  }

  // -- changes ---------------------------------------------------------------

  async setTicketState(id: number, state: SettableState, options?: StateChangeOptions): Promise<Ticket> {
    checkTicketId(id);
    checkSettableState(state);
    const at = changeTime(options, this.now());
    const asked = changeRelease(options);
    const solved = state === 'solved';
    const table = sql.table(this.t.tickets);
    return this.change('change the state of a ticket', id, async (conn) => {
      // The ticket as it was, locked until the commit (SQLite's write transaction holds the whole store already).
      const lock = sql.raw(this.d.kind === 'postgres' ? 'for update' : '');
      const found = await sql<Row>`select app_id, solved, muted_at, last_regression_at, state_at from ${table}
        where id = ${id} ${lock}`.execute(conn);
      const before = found.rows[0];
      if (before === undefined) return found;
      let release = solved ? asked : null;
      // Solved in the newest release seen for the ticket's app, read in the same transaction.
      if (release === undefined) release = await newestOfApp(this.core, conn, String(before.app_id));
      // Applied only when no later change was made: one statement, so no other writer slips in between.
      const changed = await sql<Row>`update ${table}
        set solved = ${sql.raw(solved ? 'true' : 'false')}, solved_at = ${solved ? at : null},
          muted_at = ${state === 'muted' ? at : null}, state_at = ${at},
          solved_in_release = ${release === null ? null : this.d.text(release)}
        where id = ${id} and (state_at is null or state_at <= ${at}) returning *`.execute(conn);
      const after = changed.rows[0];
      if (after === undefined) return sql<Row>`select * from ${table} where id = ${id}`.execute(conn);
      // An applied change that changed the state goes into the ticket's history (analytics-rules.ts).
      const kind = stateChangeEvent(stateOf(stateFieldsOf(this.d, before)), stateOf(stateFieldsOf(this.d, after)));
      if (kind !== null) {
        const solvedIn = kind === 'solved' ? (after.solved_in_release as string | null) : null;
        await sql`insert into ${sql.table(this.t.ticketEvents)} (ticket_id, kind, at, release)
          values (${id}, ${kind}, ${at}, ${solvedIn})`.execute(conn);
      }
      return changed;
    });
  }

  async deleteTicket(id: number): Promise<void> {
    checkTicketId(id);
    const deleted = await this.core.write('delete a ticket', async (conn) => {
      await sql`delete from ${sql.table(this.t.occurrences)} where ticket_id = ${id}`.execute(conn);
      await sql`delete from ${sql.table(this.t.ticketEvents)} where ticket_id = ${id}`.execute(conn);
      const result = await sql`delete from ${sql.table(this.t.tickets)} where id = ${id}`.execute(conn);
      return Number(result.numAffectedRows ?? 0);
    });
    if (deleted === 0) throw ticketNotFound(id, this.name);
  }

  // -- analytics (sql-analytics.ts) --------------------------------------------

  histogram(ticketId: number | null, options: HistogramOptions): Promise<BucketCount[]> {
    return an.histogram(this.core, ticketId, options);
  }
  newTickets(options: HistogramOptions): Promise<BucketCount[]> {
    return an.newTickets(this.core, options);
  }
  sparklines(ticketIds: readonly number[], options: SparklineOptions): Promise<Map<number, number[]>> {
    return an.sparklines(this.core, ticketIds, options);
  }
  topTickets(
    options: TimeWindow & { readonly limit?: number; readonly filter?: TicketFilter },
  ): Promise<TicketCount[]> {
    return an.topTickets(this.core, options);
  }
  messages(ticketId: number, options?: MessagesOptions): Promise<MessageCount[]> {
    return an.messages(this.core, ticketId, options);
  }
  ticketEvents(ticketId: number): Promise<TicketEvent[]> {
    return an.ticketEvents(this.core, ticketId);
  }

  // -- links (sql-links-outbox.ts) and outbox (sql-outbox.ts) ------------------

  getLink(key: LinkKey): Promise<Link | null> {
    return lo.getLink(this.ctx, key);
  }
  claimLink(key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim> {
    return lo.claimLink(this.ctx, key, owner, leaseMs);
  }
  completeLink(key: LinkKey, owner: string, externalId: string): Promise<boolean> {
    return lo.completeLink(this.ctx, key, owner, externalId);
  }
  releaseLink(key: LinkKey, owner: string): Promise<void> {
    return lo.releaseLink(this.ctx, key, owner);
  }
  setLink(key: LinkKey, externalId: string): Promise<void> {
    return lo.setLink(this.ctx, key, externalId);
  }
  claimCommentSlot(key: LinkKey, intervalMs: number): Promise<{ granted: true } | { granted: false; nextAt: string }> {
    return lo.claimCommentSlot(this.ctx, key, intervalMs);
  }
  deleteLink(key: LinkKey): Promise<void> {
    return lo.deleteLink(this.ctx, key);
  }
  setLinkState(key: LinkKey, state: SettableState, at: string): Promise<void> {
    return lo.setLinkState(this.ctx, key, state, at);
  }
  getProblemLinks(problem: { readonly appId: string; readonly hash: string }): Promise<Link[]> {
    return lo.getProblemLinks(this.ctx, problem);
  }
  getLinksByExternalId(tracker: string, externalIds: readonly string[]): Promise<Link[]> {
    return lo.getLinksByExternalId(this.ctx, tracker, externalIds);
  }
  enqueueOutbox(entries: readonly OutboxEntryInput[]): Promise<void> {
    return ob.enqueueOutbox(this.ctx, entries);
  }
  leaseOutbox(...args: Parameters<TicketStore['leaseOutbox']>): Promise<OutboxEntry[]> {
    return ob.leaseOutbox(this.ctx, ...args);
  }
  completeOutbox(ids: readonly number[], owner: string): Promise<void> {
    return ob.completeOutbox(this.ctx, ids, owner);
  }
  retryOutbox(id: number, owner: string, availableAt: string, error: string): Promise<void> {
    return ob.retryOutbox(this.ctx, id, owner, availableAt, error);
  }
  postponeOutbox(ids: readonly number[], owner: string, availableAt: string): Promise<void> {
    return ob.postponeOutbox(this.ctx, ids, owner, availableAt);
  }
  countOutbox(tracker?: string): Promise<number> {
    return ob.countOutbox(this.ctx, tracker);
  }

  // -- tracker state (sql-tracker-state.ts) -----------------------------------

  acquireTrackerLease(tracker: string, owner: string, ttlMs: number): Promise<boolean> {
    return ts.acquireTrackerLease(this.ctx, tracker, owner, ttlMs);
  }
  releaseTrackerLease(tracker: string, owner: string): Promise<void> {
    return ts.releaseTrackerLease(this.ctx, tracker, owner);
  }
  getTrackerLease(tracker: string): Promise<TrackerLease | null> {
    return ts.getTrackerLease(this.ctx, tracker);
  }
  getTrackerState(tracker: string): Promise<TrackerState> {
    return ts.getTrackerState(this.ctx, tracker);
  }
  updateTrackerState(tracker: string, owner: string, patch: TrackerStatePatch): Promise<boolean> {
    return ts.updateTrackerState(this.ctx, tracker, owner, patch);
  }
  takeTrackerWrite(tracker: string, owner: string, windows: readonly BudgetWindow[]): Promise<WriteGrant> {
    return ts.takeTrackerWrite(this.ctx, tracker, owner, windows);
  }

  // -- plumbing --------------------------------------------------------------

  private async change(action: string, id: number, run: (conn: Kysely<unknown>) => Promise<{ rows: Row[] }>) {
    const result = await this.core.write(action, run);
    if (result.rows[0] === undefined) throw ticketNotFound(id, this.name);
    return toTicket(this.d, result.rows[0]);
  }
}
