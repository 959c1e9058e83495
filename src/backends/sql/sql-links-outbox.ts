/**
 * The SQL store's links (fingerprint → external ticket) and outbox
 * (deliveries waiting for a tracker): what the tracker backends keep in their
 * reference store. Each function is one method of SqlBackend.
 */

import { sql } from 'kysely';
import { isoTime } from '../batch.js';
import type { Link, LinkClaim, LinkKey, OutboxEntry, OutboxEntryInput } from '../contract.js';
import type { SqlCore } from './sql-core.js';

type Row = Record<string, unknown>;

export const OUTBOX_COLUMNS = ['tracker', 'app_id', 'hash', 'payload', 'attempts', 'available_at'];

/** What the links and outbox need of the store: its statements and its clock. */
export interface SqlContext {
  readonly core: SqlCore;
  readonly now: () => Date;
}

const keyIs = (key: LinkKey) => sql`tracker = ${key.tracker} and app_id = ${key.appId} and hash = ${key.hash}`;

// -- links -------------------------------------------------------------------

export async function getLink({ core }: SqlContext, key: LinkKey): Promise<Link | null> {
  const result = await core.read('read a link', (db) =>
    sql<Row>`select * from ${sql.table(core.t.links)} where ${keyIs(key)}`.execute(db),
  );
  return result.rows[0] === undefined ? null : toLink(core, result.rows[0]);
}

export async function claimLink(ctx: SqlContext, key: LinkKey, owner: string, leaseMs: number): Promise<LinkClaim> {
  const { core } = ctx;
  const now = ctx.now();
  const until = new Date(now.getTime() + leaseMs).toISOString();
  const won = await core.write('claim a link', (conn) =>
    sql<Row>`insert into ${sql.table(core.t.links)} as l (tracker, app_id, hash, external_id, owner, claimed_until)
      values (${key.tracker}, ${key.appId}, ${key.hash}, null, ${owner}, ${until})
      on conflict (tracker, app_id, hash) do update set owner = excluded.owner, claimed_until = excluded.claimed_until
      where l.external_id is null
        and (l.owner = excluded.owner or l.claimed_until is null or l.claimed_until < ${now.toISOString()})
      returning owner`.execute(conn),
  );
  if (won.rows.length > 0) return { state: 'claimed' };
  const link = await getLink(ctx, key);
  if (link?.externalId != null) return { state: 'linked', externalId: link.externalId };
  // The holder released or completed it between our two statements: ask again.
  if (link === null || link.claimedUntil === null) return claimLink(ctx, key, owner, leaseMs);
  return { state: 'pending', owner: link.owner ?? '', claimedUntil: link.claimedUntil };
}

export async function completeLink({ core }: SqlContext, key: LinkKey, owner: string, externalId: string) {
  const changed = await core.write('complete a link', async (conn) => {
    const result = await sql`update ${sql.table(core.t.links)}
      set external_id = ${externalId}, owner = null, claimed_until = null
      where ${keyIs(key)} and owner = ${owner} and external_id is null`.execute(conn);
    return Number(result.numAffectedRows ?? 0);
  });
  return changed > 0;
}

export async function releaseLink({ core }: SqlContext, key: LinkKey, owner: string): Promise<void> {
  await core.write('release a link', (conn) =>
    sql`delete from ${sql.table(core.t.links)}
      where ${keyIs(key)} and owner = ${owner} and external_id is null`.execute(conn),
  );
}

export async function setLink({ core }: SqlContext, key: LinkKey, externalId: string): Promise<void> {
  await core.write('set a link', (conn) =>
    sql`insert into ${sql.table(core.t.links)} (tracker, app_id, hash, external_id, owner, claimed_until)
      values (${key.tracker}, ${key.appId}, ${key.hash}, ${externalId}, null, null)
      on conflict (tracker, app_id, hash) do update
      set external_id = excluded.external_id, owner = null, claimed_until = null`.execute(conn),
  );
}

export async function claimCommentSlot(
  ctx: SqlContext,
  key: LinkKey,
  intervalMs: number,
): Promise<{ granted: true } | { granted: false; nextAt: string }> {
  const { core } = ctx;
  const now = ctx.now();
  const since = new Date(now.getTime() - intervalMs).toISOString();
  const changed = await core.write('claim a comment slot', async (conn) => {
    const result = await sql`update ${sql.table(core.t.links)} set last_comment_at = ${now.toISOString()}
      where ${keyIs(key)} and (last_comment_at is null or last_comment_at <= ${since})`.execute(conn);
    return Number(result.numAffectedRows ?? 0);
  });
  if (changed > 0) return { granted: true };
  const result = await core.read('read a comment slot', (db) =>
    sql<Row>`select last_comment_at from ${sql.table(core.t.links)} where ${keyIs(key)}`.execute(db),
  );
  const last = result.rows[0]?.last_comment_at;
  // No link row: nothing to throttle against.
  if (last == null) return { granted: true };
  return { granted: false, nextAt: new Date(Date.parse(core.d.time(last)) + intervalMs).toISOString() };
}

export async function deleteLink({ core }: SqlContext, key: LinkKey): Promise<void> {
  await core.write('delete a link', (conn) =>
    sql`delete from ${sql.table(core.t.links)} where ${keyIs(key)}`.execute(conn),
  );
}

// -- outbox ------------------------------------------------------------------

export async function enqueueOutbox(ctx: SqlContext, entries: readonly OutboxEntryInput[]): Promise<void> {
  if (entries.length === 0) return;
  const { core } = ctx;
  const now = ctx.now().toISOString();
  const rows = entries.map((e) => [e.tracker, e.appId, e.hash, core.d.json(JSON.stringify(e.payload)), 0, now]);
  await core.write('enqueue deliveries', (conn) => core.d.insertRows(conn, core.t.outbox, OUTBOX_COLUMNS, rows));
}

export async function leaseOutbox(
  ctx: SqlContext,
  tracker: string,
  owner: string,
  limit: number,
  leaseMs: number,
): Promise<OutboxEntry[]> {
  const { core } = ctx;
  const now = ctx.now();
  const nowIso = now.toISOString();
  const until = new Date(now.getTime() + leaseMs).toISOString();
  const skipLocked = sql.raw(core.d.kind === 'postgres' ? 'for update skip locked' : '');
  const result = await core.write('lease deliveries', (conn) =>
    sql<Row>`update ${sql.table(core.t.outbox)} set owner = ${owner}, leased_until = ${until}
      where id in (
        select id from ${sql.table(core.t.outbox)}
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
      payload: core.jsonValue(row.payload),
      attempts: Number(row.attempts),
      availableAt: core.d.time(row.available_at),
      lastError: row.last_error == null ? null : String(row.last_error),
    }))
    .sort((a, b) => a.id - b.id);
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

export async function postponeOutbox(
  { core }: SqlContext,
  ids: readonly number[],
  owner: string,
  availableAt: string,
): Promise<void> {
  if (ids.length === 0) return;
  await core.write('postpone deliveries', (conn) =>
    sql`update ${sql.table(core.t.outbox)} set owner = null, leased_until = null, available_at = ${isoTime(availableAt)}
      where owner = ${owner} and id in (${sql.join([...ids])})`.execute(conn),
  );
}

export async function countOutbox({ core }: SqlContext, tracker?: string): Promise<number> {
  const where = tracker === undefined ? sql`1 = 1` : sql`tracker = ${tracker}`;
  const result = await core.read('count deliveries', (db) =>
    sql<Row>`select count(*) as n from ${sql.table(core.t.outbox)} where ${where}`.execute(db),
  );
  return Number(result.rows[0]?.n ?? 0);
}

function toLink(core: SqlCore, row: Row): Link {
  return {
    tracker: String(row.tracker),
    appId: String(row.app_id),
    hash: String(row.hash),
    externalId: row.external_id == null ? null : String(row.external_id),
    owner: row.owner == null ? null : String(row.owner),
    claimedUntil: row.claimed_until == null ? null : core.d.time(row.claimed_until),
  };
}
