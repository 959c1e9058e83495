/**
 * The SQL store: SQLite (the zero-setup default) and PostgreSQL, on kysely.
 *
 * Every write is one statement per ticket that both creates and counts
 * (`insert … on conflict … do update … returning`), inside one transaction per
 * batch, so concurrent writers in many processes never race. The returned
 * count tells whether this batch created the ticket (the count equals the
 * batch's own), and a column set from the old row tells whether it reopened
 * a solved one.
 */

import { sql, type Kysely, type RawBuilder } from 'kysely';
import { LogticketsError } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type { JsonValue } from '../../logging/json-safe.js';
import { groupByTicket, isoTime, ticketKey, type TicketDelta } from '../batch.js';
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
import { createDialect, retryWhileBusy, type SqlConnectOptions, type SqlDialect } from './sql-dialect.js';
import { classifySqlError } from './sql-errors.js';
import { ensureSchema, tableNames, type TableNames } from './sql-schema.js';
import { parseSqlUri } from './sql-uri.js';

export interface SqlBackendOptions extends SqlConnectOptions {
  /** Table name prefix (default `logtickets_`). */
  readonly prefix?: string;
  /** The clock used for solvedAt, claims and leases (tests pass their own). */
  readonly now?: () => Date;
}

const ORDER_COLUMNS: Record<TicketOrderField, string> = {
  id: 'id',
  lastSeen: 'last_seen',
  firstSeen: 'first_seen',
  occurrenceCount: 'occurrence_count',
  level: 'level',
  regressionCount: 'regression_count',
};

type Row = Record<string, unknown>;

const OUTBOX_COLUMNS = ['tracker', 'app_id', 'hash', 'payload', 'attempts', 'available_at'];

export class SqlBackend implements TicketStore {
  readonly name: string;
  private readonly d: SqlDialect;
  private readonly t: TableNames;
  private readonly now: () => Date;
  private readonly busyTimeoutMs: number;
  private opening: Promise<void> | undefined;
  private closed = false;

  /** `uri`: `sqlite:PATH`, `sqlite::memory:`, `postgres://…`. */
  constructor(uri: string, options: SqlBackendOptions = {}) {
    checkOptions('SqlBackend options', options, {
      prefix: 'string',
      now: 'function',
      busyTimeoutMs: { integer: { min: 0 } },
      poolSize: { integer: { min: 1 } },
      connectTimeoutMs: { integer: { min: 1 } },
      onIdleError: 'function',
    });
    const target = parseSqlUri(uri);
    this.name = target.name;
    this.t = tableNames(options.prefix ?? 'logtickets_');
    this.now = options.now ?? (() => new Date());
    this.busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
    this.d = createDialect(target, options);
  }

  get dialect(): 'sqlite' | 'postgres' {
    return this.d.kind;
  }

  open(): Promise<void> {
    if (this.closed) return Promise.reject(new LogticketsError('CLOSED', 'backend is closed', { backend: this.name }));
    this.opening ??= this.write('open the store', (conn) => ensureSchema(conn, this.d, this.t, this.name)).catch(
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.d.db.destroy().catch(() => undefined);
  }

  // -- writes ----------------------------------------------------------------

  async recordBatch(batch: readonly OccurrenceInput[], options: RecordOptions = {}): Promise<RecordOutcome[]> {
    const deltas = groupByTicket(batch);
    if (deltas.length === 0) return [];
    const { batchId, outbox = [] } = options;
    await this.open();
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
    const outboxRows = outbox.map((e) => [e.tracker, e.appId, e.hash, d.json(JSON.stringify(e.payload)), 0, now]);
    return this.write('record occurrences', async (conn) => {
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
      await d.insertRows(conn, this.t.outbox, OUTBOX_COLUMNS, outboxRows);
      return outcomes;
    });
  }

  /** Record that `batchId` is applied; false when it was already. Old ids are forgotten after a day. */
  private async firstApplication(conn: Kysely<unknown>, batchId: string, now: string): Promise<boolean> {
    const inserted = await sql<Row>`insert into ${sql.table(this.t.batches)} (batch_id, applied_at)
      values (${batchId}, ${now}) on conflict (batch_id) do nothing returning batch_id`.execute(conn);
    if (Math.random() < 0.01) {
      const dayAgo = new Date(Date.parse(now) - 86_400_000).toISOString();
      await sql`delete from ${sql.table(this.t.batches)} where applied_at < ${dayAgo}`.execute(conn);
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
    const where = this.where(checkFilter(filter));
    const result = await this.read('count tickets', (db) =>
      sql<Row>`select count(*) as n from ${sql.table(this.t.tickets)} where ${where}`.execute(db),
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const dir = sql.raw(q.descending ? 'desc' : 'asc');
    const column = sql.ref(ORDER_COLUMNS[q.field]);
    const result = await this.read('list tickets', (db) =>
      sql<Row>`select * from ${sql.table(this.t.tickets)} where ${this.where(q.filter)}
        order by ${column} ${dir}, id ${dir} limit ${q.limit} offset ${q.offset}`.execute(db),
    );
    return result.rows.map((row) => this.ticket(row));
  }

  async getTicket(id: number): Promise<Ticket | null> {
    checkTicketId(id);
    const result = await this.read('read a ticket', (db) =>
      sql<Row>`select * from ${sql.table(this.t.tickets)} where id = ${id}`.execute(db),
    );
    return result.rows[0] === undefined ? null : this.ticket(result.rows[0]);
  }

  async getOccurrences(ticketId: number, options: GetOccurrencesOptions = {}): Promise<StoredOccurrence[]> {
    const q = occurrenceQuery(options);
    if ((await this.getTicket(ticketId)) === null) throw ticketNotFound(ticketId, this.name);
    const dir = sql.raw(q.descending ? 'desc' : 'asc');
    const result = await this.read('list occurrences', (db) =>
      sql<Row>`select id, ticket_id, time, data from ${sql.table(this.t.occurrences)} where ticket_id = ${ticketId}
        order by time ${dir}, id ${dir} limit ${q.limit} offset ${q.offset}`.execute(db),
    );
    return result.rows.map((row) => ({
      id: Number(row.id),
      ticketId: Number(row.ticket_id),
      time: this.d.time(row.time),
      data: this.jsonValue(row.data),
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
    await this.open();
    const deleted = await this.write('delete a ticket', async (conn) => {
      await sql`delete from ${sql.table(this.t.occurrences)} where ticket_id = ${id}`.execute(conn);
      const result = await sql`delete from ${sql.table(this.t.tickets)} where id = ${id}`.execute(conn);
      return Number(result.numAffectedRows ?? 0);
    });
    if (deleted === 0) throw ticketNotFound(id, this.name);
  }

  // -- links -----------------------------------------------------------------

  async getLink(key: LinkKey): Promise<Link | null> {
    const result = await this.read('read a link', (db) =>
      sql<Row>`select * from ${sql.table(this.t.links)}
        where tracker = ${key.tracker} and app_id = ${key.appId} and hash = ${key.hash}`.execute(db),
    );
    return result.rows[0] === undefined ? null : this.link(result.rows[0]);
  }

  async claimLink(key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim> {
    await this.open();
    const now = this.now();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const won = await this.write('claim a link', (conn) =>
      sql<Row>`insert into ${sql.table(this.t.links)} as l (tracker, app_id, hash, external_id, owner, claimed_until)
        values (${key.tracker}, ${key.appId}, ${key.hash}, null, ${owner}, ${until})
        on conflict (tracker, app_id, hash) do update set owner = excluded.owner, claimed_until = excluded.claimed_until
        where l.external_id is null
          and (l.owner = excluded.owner or l.claimed_until is null or l.claimed_until < ${now.toISOString()})
        returning owner`.execute(conn),
    );
    if (won.rows.length > 0) return { state: 'claimed' };
    const link = await this.getLink(key);
    if (link?.externalId != null) return { state: 'linked', externalId: link.externalId };
    // The holder released or completed it between our two statements: ask again.
    if (link === null || link.claimedUntil === null) return this.claimLink(key, owner, leaseMs);
    return { state: 'pending', owner: link.owner ?? '', claimedUntil: link.claimedUntil };
  }

  async completeLink(key: LinkKey, owner: string, externalId: string): Promise<boolean> {
    await this.open();
    const changed = await this.write('complete a link', async (conn) => {
      const result = await sql`update ${sql.table(this.t.links)}
        set external_id = ${externalId}, owner = null, claimed_until = null
        where tracker = ${key.tracker} and app_id = ${key.appId} and hash = ${key.hash}
          and owner = ${owner} and external_id is null`.execute(conn);
      return Number(result.numAffectedRows ?? 0);
    });
    return changed > 0;
  }

  async releaseLink(key: LinkKey, owner: string): Promise<void> {
    await this.open();
    await this.write('release a link', (conn) =>
      sql`delete from ${sql.table(this.t.links)}
        where tracker = ${key.tracker} and app_id = ${key.appId} and hash = ${key.hash}
          and owner = ${owner} and external_id is null`.execute(conn),
    );
  }

  async setLink(key: LinkKey, externalId: string): Promise<void> {
    await this.open();
    await this.write('set a link', (conn) =>
      sql`insert into ${sql.table(this.t.links)} (tracker, app_id, hash, external_id, owner, claimed_until)
        values (${key.tracker}, ${key.appId}, ${key.hash}, ${externalId}, null, null)
        on conflict (tracker, app_id, hash) do update
        set external_id = excluded.external_id, owner = null, claimed_until = null`.execute(conn),
    );
  }

  async claimCommentSlot(
    key: LinkKey,
    intervalMs: number,
  ): Promise<{ granted: true } | { granted: false; nextAt: string }> {
    await this.open();
    const now = this.now();
    const since = new Date(now.getTime() - intervalMs).toISOString();
    const changed = await this.write('claim a comment slot', async (conn) => {
      const result = await sql`update ${sql.table(this.t.links)} set last_comment_at = ${now.toISOString()}
        where tracker = ${key.tracker} and app_id = ${key.appId} and hash = ${key.hash}
          and (last_comment_at is null or last_comment_at <= ${since})`.execute(conn);
      return Number(result.numAffectedRows ?? 0);
    });
    if (changed > 0) return { granted: true };
    const result = await this.read('read a comment slot', (db) =>
      sql<Row>`select last_comment_at from ${sql.table(this.t.links)}
        where tracker = ${key.tracker} and app_id = ${key.appId} and hash = ${key.hash}`.execute(db),
    );
    const last = result.rows[0]?.last_comment_at;
    // No link row: nothing to throttle against.
    if (last == null) return { granted: true };
    return { granted: false, nextAt: new Date(Date.parse(this.d.time(last)) + intervalMs).toISOString() };
  }

  async deleteLink(key: LinkKey): Promise<void> {
    await this.open();
    await this.write('delete a link', (conn) =>
      sql`delete from ${sql.table(this.t.links)}
        where tracker = ${key.tracker} and app_id = ${key.appId} and hash = ${key.hash}`.execute(conn),
    );
  }

  // -- outbox ----------------------------------------------------------------

  async enqueueOutbox(entries: readonly OutboxEntryInput[]): Promise<void> {
    if (entries.length === 0) return;
    await this.open();
    const now = this.now().toISOString();
    const rows = entries.map((e) => [e.tracker, e.appId, e.hash, this.d.json(JSON.stringify(e.payload)), 0, now]);
    await this.write('enqueue deliveries', (conn) =>
      this.d.insertRows(
        conn,
        this.t.outbox,
        ['tracker', 'app_id', 'hash', 'payload', 'attempts', 'available_at'],
        rows,
      ),
    );
  }

  async leaseOutbox(tracker: string, owner: string, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    await this.open();
    const now = this.now();
    const nowIso = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const skipLocked = sql.raw(this.d.kind === 'postgres' ? 'for update skip locked' : '');
    const result = await this.write('lease deliveries', (conn) =>
      sql<Row>`update ${sql.table(this.t.outbox)} set owner = ${owner}, leased_until = ${until}
        where id in (
          select id from ${sql.table(this.t.outbox)}
          where tracker = ${tracker} and available_at <= ${nowIso}
            and (owner is null or leased_until is null or leased_until < ${nowIso})
          order by id limit ${limit} ${skipLocked})
        returning *`.execute(conn),
    );
    return result.rows
      .map((row) => ({
        id: Number(row.id),
        tracker: String(row.tracker),
        hash: String(row.hash),
        appId: String(row.app_id),
        payload: this.jsonValue(row.payload),
        attempts: Number(row.attempts),
        availableAt: this.d.time(row.available_at),
        lastError: row.last_error == null ? null : String(row.last_error),
      }))
      .sort((a, b) => a.id - b.id);
  }

  async completeOutbox(ids: readonly number[], owner: string): Promise<void> {
    if (ids.length === 0) return;
    await this.open();
    await this.write('complete deliveries', (conn) =>
      sql`delete from ${sql.table(this.t.outbox)} where owner = ${owner} and id in (${sql.join([...ids])})`.execute(
        conn,
      ),
    );
  }

  async retryOutbox(id: number, owner: string, availableAt: string, error: string): Promise<void> {
    await this.open();
    await this.write('postpone a delivery', (conn) =>
      sql`update ${sql.table(this.t.outbox)}
        set owner = null, leased_until = null, attempts = attempts + 1,
            available_at = ${isoTime(availableAt)}, last_error = ${this.d.text(error)}
        where id = ${id} and owner = ${owner}`.execute(conn),
    );
  }

  async postponeOutbox(ids: readonly number[], owner: string, availableAt: string): Promise<void> {
    if (ids.length === 0) return;
    await this.open();
    await this.write('postpone deliveries', (conn) =>
      sql`update ${sql.table(this.t.outbox)} set owner = null, leased_until = null, available_at = ${isoTime(availableAt)}
        where owner = ${owner} and id in (${sql.join([...ids])})`.execute(conn),
    );
  }

  async countOutbox(tracker?: string): Promise<number> {
    const where = tracker === undefined ? sql`1 = 1` : sql`tracker = ${tracker}`;
    const result = await this.read('count deliveries', (db) =>
      sql<Row>`select count(*) as n from ${sql.table(this.t.outbox)} where ${where}`.execute(db),
    );
    return Number(result.rows[0]?.n ?? 0);
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

  private where(f: TicketFilter): RawBuilder<unknown> {
    const parts: RawBuilder<unknown>[] = [sql`1 = 1`];
    if (f.hash !== undefined) parts.push(sql`hash = ${f.hash}`);
    if (f.solved !== undefined) parts.push(sql`solved = ${this.d.bool(f.solved)}`);
    if (f.level !== undefined) parts.push(sql`level = ${f.level}`);
    if (f.minLevel !== undefined) parts.push(sql`level >= ${f.minLevel}`);
    if (f.appId !== undefined) parts.push(sql`app_id = ${f.appId}`);
    if (f.channel !== undefined) parts.push(sql`channel = ${f.channel}`);
    return sql.join(parts, sql` and `);
  }

  private async read<T>(action: string, run: (db: Kysely<unknown>) => Promise<T>): Promise<T> {
    await this.open();
    try {
      return await retryWhileBusy(() => run(this.d.db), this.busyTimeoutMs);
    } catch (error) {
      throw classifySqlError(error, this.name, action);
    }
  }

  /**
   * Run `fn` in a write transaction on one pinned connection; when SQLite's
   * write lock is taken, roll back and run it again a moment later.
   */
  private async write<T>(action: string, fn: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
    if (this.closed) throw new LogticketsError('CLOSED', 'backend is closed', { backend: this.name });
    try {
      return await retryWhileBusy(() => this.transaction(fn), this.busyTimeoutMs, this.d.isTransient);
    } catch (error) {
      throw classifySqlError(error, this.name, action);
    }
  }

  private transaction<T>(fn: (conn: Kysely<unknown>) => Promise<T>): Promise<T> {
    return this.d.db.connection().execute(async (conn) => {
      await sql.raw(this.d.beginWrite).execute(conn);
      try {
        const result = await fn(conn);
        await sql.raw('commit').execute(conn);
        return result;
      } catch (error) {
        await sql
          .raw('rollback')
          .execute(conn)
          .catch(() => undefined);
        throw error;
      }
    });
  }

  private async change(action: string, id: number, run: (conn: Kysely<unknown>) => Promise<{ rows: Row[] }>) {
    await this.open();
    const result = await this.write(action, run);
    if (result.rows[0] === undefined) throw ticketNotFound(id, this.name);
    return this.ticket(result.rows[0]);
  }

  private ticket(row: Row): Ticket {
    const time = (v: unknown) => (v == null ? null : this.d.time(v));
    return {
      id: Number(row.id),
      hash: String(row.hash),
      appId: String(row.app_id),
      level: Number(row.level),
      channel: String(row.channel),
      location: String(row.location),
      function: row.function == null ? null : String(row.function),
      title: String(row.title),
      firstSeen: this.d.time(row.first_seen),
      lastSeen: this.d.time(row.last_seen),
      occurrenceCount: Number(row.occurrence_count),
      solved: Boolean(row.solved),
      solvedAt: time(row.solved_at),
      regressionCount: Number(row.regression_count),
      lastRegressionAt: time(row.last_regression_at),
    };
  }

  private link(row: Row): Link {
    return {
      tracker: String(row.tracker),
      appId: String(row.app_id),
      hash: String(row.hash),
      externalId: row.external_id == null ? null : String(row.external_id),
      owner: row.owner == null ? null : String(row.owner),
      claimedUntil: row.claimed_until == null ? null : this.d.time(row.claimed_until),
    };
  }

  private jsonValue(value: unknown): JsonValue {
    // SQLite keeps JSON as text; PostgreSQL's driver has already parsed jsonb.
    return this.d.kind === 'sqlite' ? (JSON.parse(String(value)) as JsonValue) : (value as JsonValue);
  }
}
