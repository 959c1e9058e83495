/**
 * The SQL store: SQLite (the zero-setup default) and PostgreSQL, on kysely.
 *
 * Every write is one statement per ticket that both creates and counts
 * (`insert … on conflict … do update … returning`), inside one transaction per
 * batch, so concurrent writers in many processes never race. The returned
 * count tells whether this batch created the ticket (the count equals the
 * batch's own), and a column set from the old row tells whether it reopened
 * a solved one.
 *
 * Opened with `readOnly`, the store is only verified (sql-schema.ts) and
 * never written: SQLite's file is opened read-only (or with query_only, see
 * sql-dialect.ts), no table or journal mode is changed, and every write fails
 * with READ_ONLY before anything is sent. With `createIfMissing: false` it is
 * verified the same way and then written as usual.
 */

import { sql, type Kysely, type RawBuilder } from 'kysely';
import { secretMatchers, uriSecrets } from '../../errors.js';
import { checkOptions } from '../../options.js';
import { groupByTicket, isoTime, ticketKey, type TicketDelta } from '../batch.js';
import {
  BATCH_ID_RETENTION_MS,
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
  type StoreAccessOptions,
  type StoredOccurrence,
  type Ticket,
  type TicketFilter,
  type TicketStore,
} from '../contract.js';
import { checkFilter, checkTicketId, occurrenceQuery, ticketNotFound, ticketQuery } from '../query-options.js';
import { SqlCore } from './sql-core.js';
import { createDialect, type SqlConnectOptions, type SqlDialect } from './sql-dialect.js';
import * as lo from './sql-links-outbox.js';
import * as ob from './sql-outbox.js';
import * as ts from './sql-tracker-state.js';
import { ORDER_COLUMNS, ticketWhere, toTicket } from './sql-rows.js';
import { tableNames, type TableNames } from './sql-schema.js';
import { parseSqlUri } from './sql-uri.js';
import type { BudgetWindow, TrackerLease, TrackerState, TrackerStatePatch, WriteGrant } from '../tracker-state.js';

export interface SqlBackendOptions extends SqlConnectOptions, StoreAccessOptions {
  /** Table name prefix (default `logtickets_`). */
  readonly prefix?: string;
  /** The clock used for solvedAt, claims and leases (tests pass their own). */
  readonly now?: () => Date;
}

type Row = Record<string, unknown>;

export class SqlBackend implements TicketStore {
  readonly name: string;
  private readonly core: SqlCore;
  private readonly d: SqlDialect;
  private readonly t: TableNames;
  private readonly now: () => Date;
  private readonly ctx: lo.SqlContext;

  /** `uri`: `sqlite:PATH`, `sqlite::memory:`, `postgres://…`. */
  constructor(uri: string, options: SqlBackendOptions = {}) {
    checkOptions('SqlBackend options', options, {
      prefix: 'string',
      now: 'function',
      busyTimeoutMs: { integer: { min: 0 } },
      poolSize: { integer: { min: 1 } },
      connectTimeoutMs: { integer: { min: 1 } },
      onIdleError: 'function',
      readOnly: 'boolean',
      createIfMissing: 'boolean',
    });
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
    if (deltas.length === 0) return [];
    const { batchId, outbox = [] } = options;
    const d = this.d;
    const rows = deltas.map((delta) => ({
      delta,
      appId: d.text(delta.appId),
      first: isoTime(delta.firstSeen),
      last: isoTime(delta.lastSeen),
    }));
    // Serialised before the transaction: nothing slow happens while the write lock is held.
    const records = deltas.map((delta) =>
      delta.occurrences.map((o) => [isoTime(o.time), d.json(JSON.stringify(o.data))]),
    );
    const now = this.now().toISOString();
    return this.core.write('record occurrences', async (conn) => {
      if (batchId !== undefined && !(await this.firstApplication(conn, batchId, now))) {
        return this.currentOutcomes(
          conn,
          rows.map((r) => r.delta),
        );
      }
      const found = new Map<string, Row>();
      // Known tickets: one statement for the whole batch. Updating first also
      // keeps sequences from being spent by every write.
      const values = rows.map(
        (r) =>
          sql`(${r.appId}, ${r.delta.hash}, cast(${r.delta.count} as ${sql.raw(d.counterType)}), cast(${r.first} as ${sql.raw(d.timeType)}), cast(${r.last} as ${sql.raw(d.timeType)}))`,
      );
      const updated = await sql<Row>`
        update ${sql.table(this.t.tickets)} as t set ${this.merge(sql`v.n`, sql`v.f`, sql`v.l`)}
        from (select column1 as a, column2 as h, column3 as n, column4 as f, column5 as l
              from (values ${sql.join(values)}) as x) as v
        where t.app_id = v.a and t.hash = v.h
        returning id, app_id, hash, occurrence_count, last_write_reopened`.execute(conn);
      for (const row of updated.rows) found.set(ticketKey(String(row.app_id), String(row.hash)), row);

      // New tickets: inserted; the conflict clause settles a race with another writer.
      for (const r of rows) {
        if (found.has(ticketKey(r.appId, r.delta.hash))) continue;
        const { delta } = r;
        const inserted = await sql<Row>`
          insert into ${sql.table(this.t.tickets)} as t
            (hash, app_id, level, channel, location, function, title, first_seen, last_seen, occurrence_count)
          values (${delta.hash}, ${r.appId}, ${delta.level}, ${d.text(delta.channel)},
            ${d.text(delta.location)}, ${delta.function === null ? null : d.text(delta.function)}, ${d.text(delta.title)},
            ${r.first}, ${r.last}, ${delta.count})
          on conflict (app_id, hash) do update set
            ${this.merge(sql`excluded.occurrence_count`, sql`excluded.first_seen`, sql`excluded.last_seen`)}
          returning id, app_id, hash, occurrence_count, last_write_reopened`.execute(conn);
        found.set(ticketKey(r.appId, delta.hash), inserted.rows[0]!);
      }

      const occurrenceRows: unknown[][] = [];
      const outcomes = rows.map((r, i) => {
        const row = found.get(ticketKey(r.appId, r.delta.hash))!;
        const ticketId = Number(row.id);
        const occurrenceCount = Number(row.occurrence_count);
        for (const [time, json] of records[i]!) occurrenceRows.push([ticketId, time, json]);
        return {
          hash: r.delta.hash,
          appId: r.delta.appId,
          ticketId,
          // A ticket whose count is this batch's own was created by it.
          created: occurrenceCount === r.delta.count,
          regressed: Boolean(row.last_write_reopened),
          occurrenceCount,
        };
      });
      await d.insertRows(conn, this.t.occurrences, ['ticket_id', 'time', 'data'], occurrenceRows);
      await ob.mergeOutbox(this.core, conn, outbox, now);
      return outcomes;
    });
  }

  /**
   * Record that `batchId` is applied, in the batch's own transaction (so a
   * retry is recognised exactly, however many batches came in between);
   * false when it was already. Ids older than BATCH_ID_RETENTION_MS are
   * forgotten, now and then.
   */
  private async firstApplication(conn: Kysely<unknown>, batchId: string, now: string): Promise<boolean> {
    const inserted = await sql<Row>`insert into ${sql.table(this.t.batches)} (batch_id, applied_at)
      values (${batchId}, ${now}) on conflict (batch_id) do nothing returning batch_id`.execute(conn);
    if (Math.random() < 0.01) {
      const cutoff = new Date(Date.parse(now) - BATCH_ID_RETENTION_MS).toISOString();
      await sql`delete from ${sql.table(this.t.batches)} where applied_at < ${cutoff}`.execute(conn);
    }
    return inserted.rows.length > 0;
  }

  /** Outcomes of a batch applied before: the tickets as they stand. */
  private async currentOutcomes(conn: Kysely<unknown>, deltas: readonly TicketDelta[]): Promise<RecordOutcome[]> {
    const outcomes: RecordOutcome[] = [];
    for (const delta of deltas) {
      const result = await sql<Row>`select id, occurrence_count from ${sql.table(this.t.tickets)}
        where app_id = ${this.d.text(delta.appId)} and hash = ${delta.hash}`.execute(conn);
      const row = result.rows[0];
      outcomes.push({
        hash: delta.hash,
        appId: delta.appId,
        ticketId: row === undefined ? 0 : Number(row.id),
        created: false,
        regressed: false,
        occurrenceCount: row === undefined ? 0 : Number(row.occurrence_count),
      });
    }
    return outcomes;
  }

  // -- reads -----------------------------------------------------------------

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    const where = ticketWhere(this.d, checkFilter(filter));
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
      sql<Row>`select * from ${sql.table(this.t.tickets)} where ${ticketWhere(this.d, q.filter)}
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
      sql<Row>`select id, ticket_id, time, data from ${sql.table(this.t.occurrences)} where ticket_id = ${ticketId}
        order by time ${dir}, id ${dir} limit ${q.limit} offset ${q.offset}`.execute(db),
    );
    return result.rows.map((row) => ({
      id: Number(row.id),
      ticketId: Number(row.ticket_id),
      time: this.d.time(row.time),
      data: this.core.jsonValue(row.data),
    }));
  }

  // -- changes ---------------------------------------------------------------

  async solveTicket(id: number): Promise<Ticket> {
    checkTicketId(id);
    const now = this.now().toISOString();
    return this.change('solve a ticket', id, (conn) =>
      sql<Row>`update ${sql.table(this.t.tickets)} set solved = true, solved_at = coalesce(solved_at, ${now})
        where id = ${id} returning *`.execute(conn),
    );
  }

  async reopenTicket(id: number): Promise<Ticket> {
    checkTicketId(id);
    return this.change('reopen a ticket', id, (conn) =>
      sql<Row>`update ${sql.table(this.t.tickets)} set solved = false, solved_at = null
        where id = ${id} returning *`.execute(conn),
    );
  }

  async deleteTicket(id: number): Promise<void> {
    checkTicketId(id);
    const deleted = await this.core.write('delete a ticket', async (conn) => {
      await sql`delete from ${sql.table(this.t.occurrences)} where ticket_id = ${id}`.execute(conn);
      const result = await sql`delete from ${sql.table(this.t.tickets)} where id = ${id}`.execute(conn);
      return Number(result.numAffectedRows ?? 0);
    });
    if (deleted === 0) throw ticketNotFound(id, this.name);
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

  /**
   * The SET clause that adds occurrences to ticket `t`: counts, first and
   * last seen, and reopening a solved ticket as a regression when an
   * occurrence happened after it was solved. Every expression reads the old
   * row, so `last_write_reopened` tells the caller what this write did.
   */
  private merge(
    count: RawBuilder<unknown>,
    first: RawBuilder<unknown>,
    last: RawBuilder<unknown>,
  ): RawBuilder<unknown> {
    const d = this.d;
    const regress = sql`(t.solved and coalesce(t.solved_at < ${last}, true))`;
    return sql`
      occurrence_count = t.occurrence_count + ${count},
      last_seen = ${d.greatest(sql`t.last_seen`, last)},
      first_seen = ${d.least(sql`t.first_seen`, first)},
      last_write_reopened = ${regress},
      regression_count = t.regression_count + (case when ${regress} then 1 else 0 end),
      last_regression_at = (case when ${regress} then ${last} else t.last_regression_at end),
      solved_at = (case when ${regress} then null else t.solved_at end),
      solved = (case when ${regress} then false else t.solved end)`;
  }

  private async change(action: string, id: number, run: (conn: Kysely<unknown>) => Promise<{ rows: Row[] }>) {
    const result = await this.core.write(action, run);
    if (result.rows[0] === undefined) throw ticketNotFound(id, this.name);
    return toTicket(this.d, result.rows[0]);
  }
}
