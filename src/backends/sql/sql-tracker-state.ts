/**
 * The SQL store's per-tracker lease, state and write budget
 * (tracker-state.ts). The lease is one conditional upsert; a state change
 * and a write take are conditional on the caller holding an unexpired lease,
 * the write take inside one transaction that locks the tracker's row, checks
 * the windows and records the write.
 */

import { sql, type RawBuilder } from 'kysely';
import { isoTime } from '../batch.js';
import {
  checkTtl,
  checkWindows,
  defaultTrackerState,
  longestWindow,
  nextWriteAt,
  validPatch,
  type BudgetWindow,
  type TrackerLease,
  type TrackerState,
  type TrackerStatePatch,
  type WriteGrant,
} from '../tracker-state.js';
import type { SqlContext } from './sql-links-outbox.js';

type Row = Record<string, unknown>;

export async function acquireTrackerLease(
  { core, now: clock }: SqlContext,
  tracker: string,
  owner: string,
  ttlMs: number,
): Promise<boolean> {
  checkTtl(ttlMs);
  const now = clock();
  const until = new Date(now.getTime() + ttlMs).toISOString();
  const won = await core.write('take a tracker lease', (conn) =>
    sql<Row>`insert into ${sql.table(core.t.trackers)} as k (tracker, lease_owner, lease_until)
      values (${tracker}, ${owner}, ${until})
      on conflict (tracker) do update set lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
      where k.lease_owner = excluded.lease_owner or k.lease_owner is null or k.lease_until is null
        or k.lease_until <= ${now.toISOString()}
      returning tracker`.execute(conn),
  );
  return won.rows.length > 0;
}

export async function releaseTrackerLease({ core }: SqlContext, tracker: string, owner: string): Promise<void> {
  await core.write('release a tracker lease', (conn) =>
    sql`update ${sql.table(core.t.trackers)} set lease_owner = null, lease_until = null
      where tracker = ${tracker} and lease_owner = ${owner}`.execute(conn),
  );
}

export async function getTrackerLease({ core }: SqlContext, tracker: string): Promise<TrackerLease | null> {
  const row = await readRow({ core } as SqlContext, tracker);
  if (row === undefined || row.lease_owner == null || row.lease_until == null) return null;
  return { owner: String(row.lease_owner), until: core.d.time(row.lease_until) };
}

export async function getTrackerState(ctx: SqlContext, tracker: string): Promise<TrackerState> {
  const row = await readRow(ctx, tracker);
  if (row === undefined) return defaultTrackerState(tracker);
  const time = (v: unknown) => (v == null ? null : ctx.core.d.time(v));
  return {
    tracker,
    pausedUntil: time(row.paused_until),
    failures: Number(row.failures ?? 0),
    reason: row.reason == null ? null : String(row.reason),
    cursor: row.cursor == null ? null : String(row.cursor),
  };
}

async function readRow({ core }: SqlContext, tracker: string): Promise<Row | undefined> {
  const result = await core.read('read a tracker state', (db) =>
    sql<Row>`select * from ${sql.table(core.t.trackers)} where tracker = ${tracker}`.execute(db),
  );
  return result.rows[0];
}

export async function updateTrackerState(
  { core, now: clock }: SqlContext,
  tracker: string,
  owner: string,
  patch: TrackerStatePatch,
): Promise<boolean> {
  validPatch(patch);
  const sets: RawBuilder<unknown>[] = [];
  if (patch.pausedUntil !== undefined) {
    sets.push(sql`paused_until = ${patch.pausedUntil === null ? null : isoTime(patch.pausedUntil)}`);
  }
  if (patch.failures !== undefined) sets.push(sql`failures = ${patch.failures}`);
  if (patch.reason !== undefined) sets.push(sql`reason = ${patch.reason === null ? null : core.d.text(patch.reason)}`);
  if (patch.cursor !== undefined) sets.push(sql`cursor = ${patch.cursor === null ? null : core.d.text(patch.cursor)}`);
  // An empty patch still says whether the caller holds the lease.
  if (sets.length === 0) sets.push(sql`tracker = tracker`);
  const now = clock().toISOString();
  const changed = await core.write('change a tracker state', async (conn) => {
    const result = await sql`update ${sql.table(core.t.trackers)} set ${sql.join(sets)}
      where tracker = ${tracker} and lease_owner = ${owner} and lease_until > ${now}`.execute(conn);
    return Number(result.numAffectedRows ?? 0);
  });
  return changed > 0;
}

export async function takeTrackerWrite(
  { core, now: clock }: SqlContext,
  tracker: string,
  owner: string,
  windows: readonly BudgetWindow[],
): Promise<WriteGrant> {
  checkWindows(windows);
  const { d, t } = core;
  const lock = sql.raw(d.kind === 'postgres' ? 'for update' : '');
  const now = clock();
  const nowMs = now.getTime();
  const nowIso = now.toISOString();
  return core.write('take a tracker write', async (conn): Promise<WriteGrant> => {
    // Locking the tracker's row makes the check and the record one step for every writer of this tracker.
    const found = await sql<Row>`select lease_owner, lease_until from ${sql.table(t.trackers)}
      where tracker = ${tracker} ${lock}`.execute(conn);
    const row = found.rows[0];
    const until = row?.lease_until == null ? nowMs : Date.parse(d.time(row.lease_until));
    if (row === undefined || row.lease_owner !== owner || until <= nowMs) {
      return { granted: false, notBefore: new Date(Math.max(nowMs, until)).toISOString() };
    }
    const cutoff = new Date(nowMs - longestWindow(windows)).toISOString();
    await sql`delete from ${sql.table(t.trackerWrites)} where tracker = ${tracker} and at <= ${cutoff}`.execute(conn);
    const recent = await sql<Row>`select at from ${sql.table(t.trackerWrites)} where tracker = ${tracker}`.execute(
      conn,
    );
    const at = nextWriteAt(
      recent.rows.map((r) => Date.parse(d.time(r.at))),
      windows,
      nowMs,
    );
    if (at !== null) return { granted: false, notBefore: new Date(at).toISOString() };
    await sql`insert into ${sql.table(t.trackerWrites)} (tracker, at) values (${tracker}, ${nowIso})`.execute(conn);
    return { granted: true };
  });
}
