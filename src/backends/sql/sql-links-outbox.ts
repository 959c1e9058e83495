/**
 * The SQL store's links (fingerprint → external ticket): what the tracker
 * backends keep in their reference store. Each function is one method of
 * SqlBackend; the outbox is in sql-outbox.ts.
 */

import { sql } from 'kysely';
import type { Link, LinkClaim, LinkKey } from '../contract.js';
import { checkLinkState } from '../query-options.js';
import { SETTABLE_STATES, type SettableState } from '../ticket-state.js';
import type { SqlCore } from './sql-core.js';

type Row = Record<string, unknown>;

/** What the links, outbox and tracker state need of the store: its statements and its clock. */
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

/** Record the tracker state of a finished link; a claim still pending, or no link, is left alone. */
export async function setLinkState(
  { core }: SqlContext,
  key: LinkKey,
  state: SettableState,
  at: string,
): Promise<void> {
  const checked = checkLinkState(state, at);
  await core.write('set the state of a link', (conn) =>
    sql`update ${sql.table(core.t.links)} set state = ${checked.state}, state_at = ${checked.at}
      where ${keyIs(key)} and external_id is not null`.execute(conn),
  );
}

// External ids per statement: far below every driver's limit of bound values.
const IDS_PER_QUERY = 1_000;

/** The finished links of a tracker to these external ids: one query (per thousand ids), by the (tracker, external_id) index. */
export async function getProblemLinks(
  { core }: SqlContext,
  problem: { readonly appId: string; readonly hash: string },
): Promise<Link[]> {
  const result = await core.read("read a problem's links", (db) =>
    sql<Row>`select * from ${sql.table(core.t.links)}
      where app_id = ${problem.appId} and hash = ${problem.hash} and external_id is not null order by tracker`.execute(
      db,
    ),
  );
  return result.rows.map((row) => toLink(core, row));
}

export async function getLinksByExternalId(
  { core }: SqlContext,
  tracker: string,
  externalIds: readonly string[],
): Promise<Link[]> {
  const ids = [...new Set(externalIds)];
  const links: Link[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
    const chunk = ids.slice(i, i + IDS_PER_QUERY);
    const result = await core.read('read links by external id', (db) =>
      sql<Row>`select * from ${sql.table(core.t.links)}
        where tracker = ${tracker} and external_id in (${sql.join(chunk)})`.execute(db),
    );
    links.push(...result.rows.map((row) => toLink(core, row)));
  }
  return links;
}

function toLink(core: SqlCore, row: Row): Link {
  return {
    tracker: String(row.tracker),
    appId: String(row.app_id),
    hash: String(row.hash),
    externalId: row.external_id == null ? null : String(row.external_id),
    owner: row.owner == null ? null : String(row.owner),
    claimedUntil: row.claimed_until == null ? null : core.d.time(row.claimed_until),
    state: SETTABLE_STATES.includes(row.state as SettableState) ? (row.state as SettableState) : null,
    stateAt: row.state_at == null ? null : core.d.time(row.state_at),
  };
}
