/**
 * The tickets of a batch in the SQL store, inside the batch's transaction:
 * the ones that exist are locked and read, what the batch does to each is
 * worked out with the rules every store shares (ticket-merge.ts), and all
 * of them are updated by one statement; the others are inserted.
 *
 * Locking first makes the rules exact under any number of writers:
 * SQLite's write transaction holds the whole store, and PostgreSQL's
 * `for update` holds the rows, taken in one order by every writer, until
 * the commit. A ticket another writer creates after the lock is taken
 * makes the insert do nothing; it is then locked and updated like the rest.
 */

import { sql, type Kysely } from 'kysely';
import { isoTime, ticketKey, type ReleaseMark, type TicketDelta } from '../batch.js';
import { firstEnvironments, planMerge, type MergeBase, type MergePlan } from '../ticket-merge.js';
import type { SqlCore } from './sql-core.js';
import { readSightings, type Sightings } from './sql-releases.js';
import { environmentsOf, releaseMark } from './sql-rows.js';

type Row = Record<string, unknown>;

/** What a write of one ticket returns. */
export interface WrittenTicket {
  readonly id: number;
  readonly occurrenceCount: number;
  readonly regressed: boolean;
  /** When it regressed, and with which release, for its history (ticket-merge.ts); null when it did not. */
  readonly regression: { readonly at: string; readonly release: string | null } | null;
}

const RETURNED = sql`returning id, app_id, hash, occurrence_count, last_write_reopened`;

/** Lock and read the tickets of `deltas` that exist: key (ticketKey) → what the rules read. */
export async function lockTickets(
  core: SqlCore,
  conn: Kysely<unknown>,
  deltas: readonly TicketDelta[],
): Promise<Map<string, MergeBase>> {
  const { d, t } = core;
  const keys = deltas.map((delta) => sql`(${d.text(delta.appId)}, ${delta.hash})`);
  const lock = sql.raw(d.kind === 'postgres' ? 'for update of t' : '');
  const result = await sql<Row>`select t.app_id, t.hash, t.solved, t.solved_at, t.muted_at, t.solved_in_release,
      t.environments, t.first_release, t.first_release_at, t.last_release, t.last_release_at
    from ${sql.table(t.tickets)} as t
    join (select column1 as a, column2 as h from (values ${sql.join(keys)}) as x) as v on t.app_id = v.a and t.hash = v.h
    order by t.app_id, t.hash ${lock}`.execute(conn);
  const locked = new Map<string, MergeBase>();
  for (const row of result.rows) {
    const time = (v: unknown) => (v == null ? null : d.time(v));
    locked.set(ticketKey(String(row.app_id), String(row.hash)), {
      solved: Boolean(row.solved),
      solvedAt: time(row.solved_at),
      mutedAt: time(row.muted_at),
      solvedInRelease: row.solved_in_release == null ? null : String(row.solved_in_release),
      environments: environmentsOf(row.environments),
      firstRelease: releaseMark(d, row.first_release, row.first_release_at),
      lastRelease: releaseMark(d, row.last_release, row.last_release_at),
    });
  }
  return locked;
}

/**
 * Update the locked tickets of `deltas` by one statement, each as the rules
 * say. `sightings`: the first sightings of the batch's releases; those of the
 * releases the tickets were solved in are read here when the rules need them.
 */
export async function updateTickets(
  core: SqlCore,
  conn: Kysely<unknown>,
  deltas: readonly TicketDelta[],
  locked: ReadonlyMap<string, MergeBase>,
  sightings: Sightings,
  graceMs: number,
): Promise<Map<string, WrittenTicket>> {
  const { d, t } = core;
  // Keys as the store keeps app ids (sql-dialect.ts: text()).
  const base = (delta: TicketDelta) => locked.get(ticketKey(d.text(delta.appId), delta.hash))!;
  const unknown = deltas
    .filter((delta) => delta.releases.size > 0 && base(delta).solved && base(delta).solvedInRelease !== null)
    .map((delta) => ({ appId: d.text(delta.appId), release: base(delta).solvedInRelease! }))
    .filter((p) => !sightings.has(ticketKey(p.appId, p.release)));
  const known = new Map([...sightings, ...(await readSightings(core, conn, unknown))]);
  const time = sql.raw(d.timeType);
  const text = (value: string | null) => sql`cast(${value === null ? null : d.text(value)} as text)`;
  const at = (value: string | null) => sql`cast(${value} as ${time})`;
  const mark = (m: ReleaseMark | null) => sql`${text(m?.release ?? null)}, ${at(m?.time ?? null)}`;
  const plans = new Map<string, MergePlan>();
  const values = deltas.map((delta) => {
    const plan: MergePlan = planMerge(base(delta), delta, graceMs, (release) =>
      known.get(ticketKey(d.text(delta.appId), release)),
    );
    plans.set(ticketKey(d.text(delta.appId), delta.hash), plan);
    const environments = plan.environments === null ? null : d.json(JSON.stringify(plan.environments));
    return sql`(${d.text(delta.appId)}, ${delta.hash}, cast(${delta.count} as ${sql.raw(d.counterType)}),
      ${at(isoTime(delta.firstSeen))}, ${at(isoTime(delta.lastSeen))}, cast(${d.bool(plan.regressed)} as boolean), ${at(plan.regressedAt)},
      cast(${environments} as ${sql.raw(d.jsonType)}), ${mark(plan.firstRelease)}, ${mark(plan.lastRelease)})`;
  });
  const regress = sql`v.r`;
  const updated = await sql<Row>`
    update ${sql.table(t.tickets)} as t set
      occurrence_count = t.occurrence_count + v.n,
      last_seen = ${d.greatest(sql`t.last_seen`, sql`v.l`)},
      first_seen = ${d.least(sql`t.first_seen`, sql`v.f`)},
      last_write_reopened = ${regress},
      regression_count = t.regression_count + (case when ${regress} then 1 else 0 end),
      last_regression_at = (case when ${regress} then v.ra else t.last_regression_at end),
      state_at = (case when ${regress} then v.ra else t.state_at end),
      solved_at = (case when ${regress} then null else t.solved_at end),
      solved = (case when ${regress} then false else t.solved end),
      solved_in_release = (case when ${regress} then null else t.solved_in_release end),
      environments = coalesce(v.e, t.environments),
      first_release = (case when v.fa is null then t.first_release else v.fr end),
      first_release_at = coalesce(v.fa, t.first_release_at),
      last_release = (case when v.la is null then t.last_release else v.lr end),
      last_release_at = coalesce(v.la, t.last_release_at)
    from (select column1 as a, column2 as h, column3 as n, column4 as f, column5 as l, column6 as r, column7 as ra,
            column8 as e, column9 as fr, column10 as fa, column11 as lr, column12 as la
          from (values ${sql.join(values)}) as x) as v
    where t.app_id = v.a and t.hash = v.h
    ${RETURNED}`.execute(conn);
  return written(updated.rows, plans);
}

/**
 * Insert the ticket `delta` creates; null when another writer created it
 * since the lock was taken (the insert then did nothing).
 */
export async function insertTicket(
  core: SqlCore,
  conn: Kysely<unknown>,
  delta: TicketDelta,
): Promise<WrittenTicket | null> {
  const { d, t } = core;
  const text = (value: string | null) => (value === null ? null : d.text(value));
  const environments = d.json(JSON.stringify(firstEnvironments(delta)));
  const first = delta.firstRelease;
  const last = delta.lastRelease;
  const inserted = await sql<Row>`
    insert into ${sql.table(t.tickets)} as t
      (hash, app_id, level, channel, location, function, title, first_seen, last_seen, occurrence_count,
        environments, first_release, first_release_at, last_release, last_release_at)
    values (${delta.hash}, ${d.text(delta.appId)}, ${delta.level}, ${d.text(delta.channel)},
      ${d.text(delta.location)}, ${text(delta.function)}, ${d.text(delta.title)},
      ${isoTime(delta.firstSeen)}, ${isoTime(delta.lastSeen)}, ${delta.count}, ${environments},
      ${text(first?.release ?? null)}, ${first?.time ?? null}, ${text(last?.release ?? null)}, ${last?.time ?? null})
    on conflict (app_id, hash) do nothing
    ${RETURNED}`.execute(conn);
  return written(inserted.rows).get(ticketKey(d.text(delta.appId), delta.hash)) ?? null;
}

/** The tickets a statement returned; `plans` (by ticketKey): what the rules made of each, for its regression. */
function written(rows: readonly Row[], plans?: ReadonlyMap<string, MergePlan>): Map<string, WrittenTicket> {
  const map = new Map<string, WrittenTicket>();
  for (const row of rows) {
    const key = ticketKey(String(row.app_id), String(row.hash));
    const plan = plans?.get(key);
    const regressed = Boolean(row.last_write_reopened);
    map.set(key, {
      id: Number(row.id),
      occurrenceCount: Number(row.occurrence_count),
      regressed,
      regression:
        regressed && plan?.regressedAt != null ? { at: plan.regressedAt, release: plan.regressedRelease } : null,
    });
  }
  return map;
}
