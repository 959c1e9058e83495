/**
 * Postponing deliveries in the SQL store: nothing of them reached the
 * tracker, so each row the owner still leases goes back to being its
 * problem's pending row (no delivery id, due at the given time, attempts
 * unchanged), or, when the problem has a pending row already (a batch came
 * in meanwhile), merges into that row and is deleted. So a problem whose
 * deliveries keep being postponed (a comment window, the write budget) keeps
 * one row, however long a flood lasts.
 *
 * Everything happens in one write transaction:
 * - SQLite: `begin immediate` makes it the only writer, so what it reads
 *   stays true until it commits.
 * - PostgreSQL (read committed): the postponed rows are locked first (only
 *   their owner touches them; a lease skips locked rows), then the pending
 *   row with `for update`, as enqueuers lock it (sql-outbox.ts), so a merge
 *   and an enqueue into the same row go one after the other and each sees
 *   the other's payload. When there is no pending row, an enqueuer may start
 *   one at the same moment as this row is turned into one: the unique index
 *   on pending rows lets only one of them be. If the enqueuer wins, the
 *   update fails with a unique violation; it is undone to a savepoint and
 *   the row merges into the enqueuer's pending row instead. If this row
 *   wins, the enqueuer's insert does nothing and it merges into this row (it
 *   loops the same way). Transactions that lock pending rows of several
 *   problems in different orders may deadlock; PostgreSQL rolls one back and
 *   it runs again from the start.
 */

import { sql, type Kysely } from 'kysely';
import { isoTime } from '../batch.js';
import { mergePayloads } from '../outbox-summary.js';
import type { SqlCore } from './sql-core.js';
import type { SqlContext } from './sql-links-outbox.js';

type Row = Record<string, unknown>;

const UNIQUE_VIOLATION = '23505';

export async function postponeOutbox(
  { core }: SqlContext,
  ids: readonly number[],
  owner: string,
  availableAt: string,
): Promise<void> {
  if (ids.length === 0) return;
  const at = isoTime(availableAt);
  await core.write('postpone deliveries', async (conn) => {
    const lock = sql.raw(core.d.kind === 'postgres' ? 'for update' : '');
    // Newest first: of several postponed rows of one problem, the newest becomes the pending row and the
    // older ones merge into it as older content.
    const rows = await sql<Row>`select id, tracker, app_id, hash, payload, attempts, last_error
      from ${sql.table(core.t.outbox)}
      where owner = ${owner} and id in (${sql.join([...ids])})
      order by id desc ${lock}`.execute(conn);
    for (const row of rows.rows) await postponeOne(core, conn, row, at);
  });
}

/** One postponed row (locked, leased by the caller): the pending row of its problem again, or merged into it. */
async function postponeOne(core: SqlCore, conn: Kysely<unknown>, row: Row, at: string): Promise<void> {
  const { d, t } = core;
  const id = Number(row.id);
  const lock = sql.raw(d.kind === 'postgres' ? 'for update' : '');
  for (;;) {
    const found = await sql<Row>`select id, payload, available_at, attempts from ${sql.table(t.outbox)}
      where tracker = ${row.tracker} and app_id = ${row.app_id} and hash = ${row.hash} and state = 'pending'
        and id <> ${id} ${lock}`.execute(conn);
    const pending = found.rows[0];
    if (pending !== undefined) {
      // The postponed content is the older: first, so that on equal times the pending row's latest record stays.
      const merged = mergePayloads(core.jsonValue(row.payload), core.jsonValue(pending.payload));
      const due = d.time(pending.available_at);
      await sql`update ${sql.table(t.outbox)}
        set payload = ${d.json(JSON.stringify(merged))},
            available_at = ${due > at ? due : at},
            attempts = ${Math.max(Number(pending.attempts), Number(row.attempts))},
            last_error = coalesce(last_error, ${row.last_error ?? null})
        where id = ${pending.id as number}`.execute(conn);
      await sql`delete from ${sql.table(t.outbox)} where id = ${id}`.execute(conn);
      return;
    }
    if (await becomePending(core, conn, id, at)) return;
  }
}

/** Make the row its problem's pending row; false when another writer's pending row got there first. */
async function becomePending(core: SqlCore, conn: Kysely<unknown>, id: number, at: string): Promise<boolean> {
  const update = sql`update ${sql.table(core.t.outbox)}
    set state = 'pending', delivery_id = null, owner = null, leased_until = null, available_at = ${at}
    where id = ${id}`;
  // SQLite: the only writer, the row cannot collide.
  if (core.d.kind !== 'postgres') {
    await update.execute(conn);
    return true;
  }
  await sql.raw('savepoint become_pending').execute(conn);
  try {
    await update.execute(conn);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== UNIQUE_VIOLATION) throw error;
    await sql.raw('rollback to savepoint become_pending').execute(conn);
    return false;
  }
  await sql.raw('release savepoint become_pending').execute(conn);
  return true;
}
