/**
 * The SQL store's outbox: deliveries waiting for a tracker. At most one
 * pending row per (tracker, app id, hash) — a unique index on pending rows —
 * and every new delivery of that problem merges into it inside the writing
 * transaction (the pending row is locked first, so concurrent writers in
 * other processes merge one after the other). Leasing freezes a row and gives
 * it a delivery id (delivery-id.ts) that it keeps across retries and expired
 * leases, but leaves a pending row alone while its problem has such a row; a
 * postpone (sql-outbox-postpone.ts) takes the id back and makes the row
 * pending again, or merges it into the problem's pending row.
 */

import { sql, type Kysely } from 'kysely';
import { isoTime } from '../batch.js';
import type { OutboxEntry, OutboxEntryInput } from '../contract.js';
import { leaseDueBy, newDeliveryId } from '../delivery-id.js';
import { mergePayloads } from '../outbox-summary.js';
import type { SqlContext } from './sql-links-outbox.js';
import type { SqlCore } from './sql-core.js';

export { postponeOutbox } from './sql-outbox-postpone.js';

type Row = Record<string, unknown>;

/**
 * Deliveries of one problem merged in memory first, kept in the caller's
 * order (ids follow it). Writers whose rows lock in different orders may
 * deadlock in PostgreSQL; it rolls one back and the transaction runs again.
 */
function grouped(entries: readonly OutboxEntryInput[]): OutboxEntryInput[] {
  const byKey = new Map<string, OutboxEntryInput>();
  for (const e of entries) {
    const key = `${e.tracker}\u0000${e.appId}\u0000${e.hash}`;
    const seen = byKey.get(key);
    byKey.set(key, seen === undefined ? e : { ...e, payload: mergePayloads(seen.payload, e.payload) });
  }
  return [...byKey.values()];
}

/** Merge deliveries into their pending rows (or start them), inside the open write transaction on `conn`. */
export async function mergeOutbox(
  core: SqlCore,
  conn: Kysely<unknown>,
  entries: readonly OutboxEntryInput[],
  now: string,
): Promise<void> {
  const { d, t } = core;
  const lock = sql.raw(d.kind === 'postgres' ? 'for update' : '');
  for (const e of grouped(entries)) {
    const appId = d.text(e.appId);
    for (;;) {
      const found = await sql<Row>`select id, payload from ${sql.table(t.outbox)}
        where tracker = ${e.tracker} and app_id = ${appId} and hash = ${e.hash} and state = 'pending' ${lock}`.execute(
        conn,
      );
      const row = found.rows[0];
      if (row !== undefined) {
        const merged = mergePayloads(core.jsonValue(row.payload), e.payload);
        await sql`update ${sql.table(t.outbox)} set payload = ${d.json(JSON.stringify(merged))}
          where id = ${row.id as number}`.execute(conn);
        break;
      }
      // Another writer may start the pending row at the same moment: then ours does nothing, and we merge into theirs.
      const inserted = await sql<Row>`insert into ${sql.table(t.outbox)}
          (tracker, app_id, hash, payload, attempts, available_at, state)
        values (${e.tracker}, ${appId}, ${e.hash}, ${d.json(JSON.stringify(e.payload))}, 0, ${now}, 'pending')
        on conflict (tracker, app_id, hash) where state = 'pending' do nothing
        returning id`.execute(conn);
      if (inserted.rows.length > 0) break;
    }
  }
}

export async function enqueueOutbox(ctx: SqlContext, entries: readonly OutboxEntryInput[]): Promise<void> {
  if (entries.length === 0) return;
  const { core } = ctx;
  const now = ctx.now().toISOString();
  await core.write('enqueue deliveries', (conn) => mergeOutbox(core, conn, entries, now));
}

export async function leaseOutbox(
  ctx: SqlContext,
  tracker: string,
  owner: string,
  limit: number,
  leaseMs: number,
  options?: { readonly dueBy?: string },
): Promise<OutboxEntry[]> {
  const { core } = ctx;
  const { d, t } = core;
  const now = ctx.now();
  const nowIso = now.toISOString();
  const dueIso = leaseDueBy(now, options).toISOString();
  const until = new Date(now.getTime() + leaseMs).toISOString();
  const skipLocked = sql.raw(d.kind === 'postgres' ? 'for update skip locked' : '');
  const leased = await core.write('lease deliveries', async (conn) => {
    // Read under the lease's lock (PostgreSQL) or the write transaction (SQLite): the ids seen here are the rows'.
    // A pending row waits while its problem has a frozen row a lease gave an id (in flight, or maybe sent: that
    // one goes first). A pending row started after another lease froze its problem's row sees that row frozen.
    const due = await sql<Row>`select id, delivery_id from ${sql.table(t.outbox)}
      where tracker = ${tracker} and available_at <= ${dueIso}
        and (owner is null or leased_until is null or leased_until < ${nowIso})
        and (state <> 'pending' or (app_id, hash) not in (select app_id, hash from ${sql.table(t.outbox)}
          where tracker = ${tracker} and state = 'frozen' and delivery_id is not null))
      order by id limit ${limit} ${skipLocked}`.execute(conn);
    if (due.rows.length === 0) return [];
    // A row keeps the id an earlier lease gave it (attempted); one without (new, or postponed) gets a new one.
    const attempted = new Map(due.rows.map((r) => [Number(r.id), r.delivery_id != null]));
    const idType = sql.raw(d.kind === 'postgres' ? 'bigint' : 'integer');
    const values = due.rows.map(
      (r) =>
        sql`(cast(${Number(r.id)} as ${idType}), cast(${r.delivery_id == null ? newDeliveryId(now) : String(r.delivery_id)} as text))`,
    );
    const result = await sql<Row>`update ${sql.table(t.outbox)} as o
      set owner = ${owner}, leased_until = ${until}, state = 'frozen', delivery_id = v.delivery
      from (select column1 as rid, column2 as delivery from (values ${sql.join(values)}) as x) as v
      where o.id = v.rid
      returning *`.execute(conn);
    return result.rows.map((row) => toOutboxEntry(core, row, attempted.get(Number(row.id)) ?? false));
  });
  return leased.sort((a, b) => a.id - b.id);
}

function toOutboxEntry(core: SqlCore, row: Row, attempted: boolean): OutboxEntry {
  return {
    id: Number(row.id),
    tracker: String(row.tracker),
    hash: String(row.hash),
    appId: String(row.app_id),
    payload: core.jsonValue(row.payload),
    attempts: Number(row.attempts),
    availableAt: core.d.time(row.available_at),
    lastError: row.last_error == null ? null : String(row.last_error),
    deliveryId: row.delivery_id == null ? null : String(row.delivery_id),
    state: row.state === 'pending' ? 'pending' : 'frozen',
    attempted,
  };
}

export async function completeOutbox({ core }: SqlContext, ids: readonly number[], owner: string): Promise<void> {
  if (ids.length === 0) return;
  await core.write('complete deliveries', (conn) =>
    sql`delete from ${sql.table(core.t.outbox)} where owner = ${owner} and id in (${sql.join([...ids])})`.execute(conn),
  );
}

export async function retryOutbox(
  { core }: SqlContext,
  id: number,
  owner: string,
  availableAt: string,
  error: string,
): Promise<void> {
  await core.write('postpone a delivery', (conn) =>
    sql`update ${sql.table(core.t.outbox)}
      set owner = null, leased_until = null, attempts = attempts + 1,
          available_at = ${isoTime(availableAt)}, last_error = ${core.d.text(error)}
      where id = ${id} and owner = ${owner}`.execute(conn),
  );
}

export async function countOutbox({ core }: SqlContext, tracker?: string): Promise<number> {
  const where = tracker === undefined ? sql`1 = 1` : sql`tracker = ${tracker}`;
  const result = await core.read('count deliveries', (db) =>
    sql<Row>`select count(*) as n from ${sql.table(core.t.outbox)} where ${where}`.execute(db),
  );
  return Number(result.rows[0]?.n ?? 0);
}
