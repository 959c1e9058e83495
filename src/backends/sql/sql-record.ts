/**
 * Recording a batch into the SQL store: one transaction per batch. In it the
 * batch's releases are registered (sql-releases.ts), the tickets that exist
 * are locked, worked out by the shared rules and updated by one statement,
 * and the others are inserted (sql-ticket-merge.ts), so concurrent writers
 * in many processes never race. The returned count tells whether this batch
 * created the ticket (the count equals the batch's own), and a column set
 * by the update tells whether it reopened a solved one.
 */

import { sql, type Kysely } from 'kysely';
import { LogticketsError } from '../../errors.js';
import { isoTime, ticketKey, type TicketDelta } from '../batch.js';
import { BATCH_ID_RETENTION_MS, type OutboxEntryInput, type RecordOutcome } from '../contract.js';
import type { SqlCore } from './sql-core.js';
import * as ob from './sql-outbox.js';
import { registerReleases } from './sql-releases.js';
import { insertTicket, lockTickets, updateTickets, type WrittenTicket } from './sql-ticket-merge.js';

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

// A ticket created and deleted by others this often while one batch is written is not worth chasing further.
const MAX_ROUNDS = 3;

export async function recordDeltas(core: SqlCore, request: RecordRequest): Promise<RecordOutcome[]> {
  const { d, t } = core;
  const { deltas, batchId, outbox, now } = request;
  const key = (delta: TicketDelta) => ticketKey(d.text(delta.appId), delta.hash);
  const text = (value: string | null | undefined) => (value == null ? null : d.text(value));
  // Serialised before the transaction: nothing slow happens while the write lock is held.
  const records = deltas.map((delta) =>
    delta.occurrences.map((o) => [
      isoTime(o.time),
      d.record(o.data),
      text(o.release),
      text(o.environment),
      o.count ?? 1,
    ]),
  );
  return core.write('record occurrences', async (conn) => {
    if (batchId !== undefined && !(await firstApplication(core, conn, batchId, now))) {
      return currentOutcomes(core, conn, deltas);
    }
    const sightings = await registerReleases(core, conn, deltas);
    const found = new Map<string, WrittenTicket>();
    let pending: readonly TicketDelta[] = deltas;
    for (let round = 0; pending.length > 0; round++) {
      if (round === MAX_ROUNDS) {
        throw new LogticketsError('BACKEND_BUSY', 'tickets kept changing under this write; will retry', {
          backend: core.name,
          retryable: true,
        });
      }
      const locked = await lockTickets(core, conn, pending);
      const known = pending.filter((delta) => locked.has(key(delta)));
      if (known.length > 0) {
        const updated = await updateTickets(core, conn, known, locked, sightings, request.graceMs);
        for (const [k, row] of updated) found.set(k, row);
      }
      // New tickets: inserted; one another writer created meanwhile is locked and updated in the next round.
      const missed: TicketDelta[] = [];
      for (const delta of pending) {
        if (locked.has(key(delta))) continue;
        const inserted = await insertTicket(core, conn, delta);
        if (inserted === null) missed.push(delta);
        else found.set(key(delta), inserted);
      }
      pending = missed;
    }

    const occurrenceRows: unknown[][] = [];
    // The tickets this batch regressed: each regression goes into the ticket's history, in this transaction.
    const events: unknown[][] = [];
    const outcomes = deltas.map((delta, i) => {
      const row = found.get(key(delta))!;
      for (const [time, json, release, environment, weight] of records[i]!) {
        occurrenceRows.push([row.id, time, json, release, environment, weight]);
      }
      if (row.regression !== null) {
        events.push([row.id, 'regressed', row.regression.at, text(row.regression.release)]);
      }
      return {
        hash: delta.hash,
        appId: delta.appId,
        ticketId: row.id,
        // A ticket whose count is this batch's own was created by it.
        created: row.occurrenceCount === delta.count,
        regressed: row.regressed,
        occurrenceCount: row.occurrenceCount,
      };
    });
    const columns = ['ticket_id', 'time', 'data', 'release', 'environment', 'weight'];
    await d.insertRows(conn, t.occurrences, columns, occurrenceRows);
    if (events.length > 0) await d.insertRows(conn, t.ticketEvents, ['ticket_id', 'kind', 'at', 'release'], events);
    await ob.mergeOutbox(core, conn, outbox, now);
    return outcomes;
  });
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
