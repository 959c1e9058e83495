/**
 * Recording a batch into the SQL store: one transaction per batch, and in it
 * one statement per ticket that both creates and counts (`insert … on
 * conflict … do update … returning`), so concurrent writers in many
 * processes never race. The returned count tells whether this batch created
 * the ticket (the count equals the batch's own), and a column set from the
 * old row tells whether it reopened a solved one.
 */

import { sql, type Kysely, type RawBuilder } from 'kysely';
import { isoTime, ticketKey, type TicketDelta } from '../batch.js';
import { BATCH_ID_RETENTION_MS, type OutboxEntryInput, type RecordOutcome } from '../contract.js';
import type { SqlCore } from './sql-core.js';
import * as ob from './sql-outbox.js';

type Row = Record<string, unknown>;

export interface RecordRequest {
  readonly deltas: readonly TicketDelta[];
  readonly batchId: string | undefined;
  readonly outbox: readonly OutboxEntryInput[];
  /** RecordOptions.regressionGraceMs, checked. */
  readonly graceMs: number;
  /** The store's clock, now. */
  readonly now: string;
}

export async function recordDeltas(core: SqlCore, request: RecordRequest): Promise<RecordOutcome[]> {
  const { d, t } = core;
  const { deltas, batchId, outbox, now } = request;
  const rows = deltas.map((delta) => {
    const last = isoTime(delta.lastSeen);
    return {
      delta,
      appId: d.text(delta.appId),
      first: isoTime(delta.firstSeen),
      last,
      // A ticket solved before this time regresses (its grace window has passed).
      solvedBefore: new Date(Date.parse(last) - request.graceMs).toISOString(),
    };
  });
  // Serialised before the transaction: nothing slow happens while the write lock is held.
  const records = deltas.map((delta) => delta.occurrences.map((o) => [isoTime(o.time), d.record(o.data)]));
  return core.write('record occurrences', async (conn) => {
    if (batchId !== undefined && !(await firstApplication(core, conn, batchId, now))) {
      return currentOutcomes(core, conn, deltas);
    }
    const found = new Map<string, Row>();
    // Known tickets: one statement for the whole batch. Updating first also
    // keeps sequences from being spent by every write.
    const time = sql.raw(d.timeType);
    const values = rows.map(
      (r) =>
        sql`(${r.appId}, ${r.delta.hash}, cast(${r.delta.count} as ${sql.raw(d.counterType)}), cast(${r.first} as ${time}), cast(${r.last} as ${time}), cast(${r.solvedBefore} as ${time}))`,
    );
    const updated = await sql<Row>`
      update ${sql.table(t.tickets)} as t set ${merge(core, sql`v.n`, sql`v.f`, sql`v.l`, sql`v.g`)}
      from (select column1 as a, column2 as h, column3 as n, column4 as f, column5 as l, column6 as g
            from (values ${sql.join(values)}) as x) as v
      where t.app_id = v.a and t.hash = v.h
      returning id, app_id, hash, occurrence_count, last_write_reopened`.execute(conn);
    for (const row of updated.rows) found.set(ticketKey(String(row.app_id), String(row.hash)), row);

    // New tickets: inserted; the conflict clause settles a race with another writer.
    for (const r of rows) {
      if (found.has(ticketKey(r.appId, r.delta.hash))) continue;
      const { delta } = r;
      const counted = merge(
        core,
        sql`excluded.occurrence_count`,
        sql`excluded.first_seen`,
        sql`excluded.last_seen`,
        sql`${r.solvedBefore}`,
      );
      const inserted = await sql<Row>`
        insert into ${sql.table(t.tickets)} as t
          (hash, app_id, level, channel, location, function, title, first_seen, last_seen, occurrence_count)
        values (${delta.hash}, ${r.appId}, ${delta.level}, ${d.text(delta.channel)},
          ${d.text(delta.location)}, ${delta.function === null ? null : d.text(delta.function)}, ${d.text(delta.title)},
          ${r.first}, ${r.last}, ${delta.count})
        on conflict (app_id, hash) do update set ${counted}
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
    await d.insertRows(conn, t.occurrences, ['ticket_id', 'time', 'data'], occurrenceRows);
    await ob.mergeOutbox(core, conn, outbox, now);
    return outcomes;
  });
}

/**
 * The SET clause that adds occurrences to ticket `t`: counts, first and last
 * seen, and reopening a solved (so not muted) ticket as a regression when
 * the latest occurrence came after its grace window, i.e. it was solved
 * before `solvedBefore`. Every expression reads the old row, so
 * `last_write_reopened` tells the caller what this write did.
 */
function merge(
  core: SqlCore,
  count: RawBuilder<unknown>,
  first: RawBuilder<unknown>,
  last: RawBuilder<unknown>,
  solvedBefore: RawBuilder<unknown>,
): RawBuilder<unknown> {
  const d = core.d;
  const regress = sql`(t.solved and t.muted_at is null and coalesce(t.solved_at < ${solvedBefore}, true))`;
  return sql`
    occurrence_count = t.occurrence_count + ${count},
    last_seen = ${d.greatest(sql`t.last_seen`, last)},
    first_seen = ${d.least(sql`t.first_seen`, first)},
    last_write_reopened = ${regress},
    regression_count = t.regression_count + (case when ${regress} then 1 else 0 end),
    last_regression_at = (case when ${regress} then ${last} else t.last_regression_at end),
    state_at = (case when ${regress} then ${last} else t.state_at end),
    solved_at = (case when ${regress} then null else t.solved_at end),
    solved = (case when ${regress} then false else t.solved end)`;
}

/**
 * Record that `batchId` is applied, in the batch's own transaction (so a
 * retry is recognised exactly, however many batches came in between);
 * false when it was already. Ids older than BATCH_ID_RETENTION_MS are
 * forgotten, now and then.
 */
async function firstApplication(core: SqlCore, conn: Kysely<unknown>, batchId: string, now: string): Promise<boolean> {
  const inserted = await sql<Row>`insert into ${sql.table(core.t.batches)} (batch_id, applied_at)
    values (${batchId}, ${now}) on conflict (batch_id) do nothing returning batch_id`.execute(conn);
  if (Math.random() < 0.01) {
    const cutoff = new Date(Date.parse(now) - BATCH_ID_RETENTION_MS).toISOString();
    await sql`delete from ${sql.table(core.t.batches)} where applied_at < ${cutoff}`.execute(conn);
  }
  return inserted.rows.length > 0;
}

/** Outcomes of a batch applied before: the tickets as they stand. */
async function currentOutcomes(
  core: SqlCore,
  conn: Kysely<unknown>,
  deltas: readonly TicketDelta[],
): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = [];
  for (const delta of deltas) {
    const result = await sql<Row>`select id, occurrence_count from ${sql.table(core.t.tickets)}
      where app_id = ${core.d.text(delta.appId)} and hash = ${delta.hash}`.execute(conn);
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
