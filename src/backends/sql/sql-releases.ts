/**
 * The SQL store's releases table: the first sighting of each release of
 * each app (release-order.ts orders releases by it when they are not
 * versions). A batch registers its releases inside its own transaction; the
 * table's key makes concurrent first sightings in many processes end as one
 * row, and the conflict clause keeps the earliest time.
 */

import { sql, type Kysely } from 'kysely';
import { ticketKey, type TicketDelta } from '../batch.js';
import { newestRelease } from '../release-order.js';
import type { SqlCore } from './sql-core.js';

type Row = Record<string, unknown>;

/** First sightings: ticketKey(appId, release) → time (ISO 8601), app ids as the store keeps them. */
export type Sightings = Map<string, string>;

interface Sighting {
  readonly appId: string;
  readonly release: string;
  readonly time: string;
}

/**
 * Register the releases of a batch (each with its earliest occurrence) in
 * the open write transaction on `conn`, and return their first sightings as
 * they stand now. Most batches bring releases the store knows already, from
 * earlier: those are only read, so no row is locked.
 */
export async function registerReleases(
  core: SqlCore,
  conn: Kysely<unknown>,
  deltas: readonly TicketDelta[],
): Promise<Sightings> {
  const wanted = new Map<string, Sighting>();
  for (const delta of deltas) {
    // App ids as the store keeps them (sql-dialect.ts: text()).
    const appId = core.d.text(delta.appId);
    for (const [release, time] of delta.releases) {
      const key = ticketKey(appId, release);
      const seen = wanted.get(key);
      if (seen === undefined || time < seen.time) wanted.set(key, { appId, release, time });
    }
  }
  if (wanted.size === 0) return new Map();
  // A fixed order, so that concurrent writers lock the rows they change in the same order.
  const sorted = [...wanted.values()].sort((x, y) =>
    x.appId === y.appId ? (x.release < y.release ? -1 : 1) : x.appId < y.appId ? -1 : 1,
  );
  const sightings = await readSightings(core, conn, sorted);
  const earlier = sorted.filter((s) => {
    const seen = sightings.get(ticketKey(s.appId, s.release));
    return seen === undefined || s.time < seen;
  });
  if (earlier.length === 0) return sightings;
  const { d, t } = core;
  const time = sql.raw(d.timeType);
  const values = earlier.map((s) => sql`(${s.appId}, ${s.release}, cast(${s.time} as ${time}))`);
  await sql`insert into ${sql.table(t.releases)} as r (app_id, release, first_seen) values ${sql.join(values)}
    on conflict (app_id, release) do update set first_seen = excluded.first_seen
    where excluded.first_seen < r.first_seen`.execute(conn);
  for (const s of earlier) sightings.set(ticketKey(s.appId, s.release), s.time);
  return sightings;
}

/** The first sightings of the given releases (those the store has seen). */
export async function readSightings(
  core: SqlCore,
  conn: Kysely<unknown>,
  pairs: readonly { readonly appId: string; readonly release: string }[],
): Promise<Sightings> {
  const sightings: Sightings = new Map();
  if (pairs.length === 0) return sightings;
  const { d, t } = core;
  const values = pairs.map((p) => sql`(${d.text(p.appId)}, ${d.text(p.release)})`);
  const result = await sql<Row>`select app_id, release, first_seen from ${sql.table(t.releases)}
    where (app_id, release) in (values ${sql.join(values)})`.execute(conn);
  for (const row of result.rows) {
    sightings.set(ticketKey(String(row.app_id), String(row.release)), d.time(row.first_seen));
  }
  return sightings;
}

/** The newest release the store has seen for an app, or null. */
export async function newestOfApp(core: SqlCore, conn: Kysely<unknown>, appId: string): Promise<string | null> {
  const result = await sql<Row>`select release, first_seen from ${sql.table(core.t.releases)}
    where app_id = ${core.d.text(appId)}`.execute(conn);
  return newestRelease(
    result.rows.map((row) => ({ release: String(row.release), firstSeen: core.d.time(row.first_seen) })),
  );
}
