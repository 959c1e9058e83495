/**
 * Recording a batch into the MongoDB store without multi-document
 * transactions, so that a batch the pipeline retries under the same id counts
 * nothing twice, however many batches came in between:
 *
 * 1. Applied batches are kept in a ledger collection (`…batches`, one
 *    document per batch id with the time it was applied). A batch found there
 *    changes nothing. Ids are deleted after BATCH_ID_RETENTION_MS, by age,
 *    now and then (FerretDB has no TTL indexes).
 * 2. A batch not yet in the ledger may have been applied in part (its writer
 *    failed or was killed midway). Each ticket's count is changed by one
 *    atomic update that also pushes the batch id onto the ticket's `batches`
 *    (pending) list and only matches a ticket without it, so a ticket the
 *    first attempt counted is not counted again. Occurrences are unique per
 *    (batch, index), so those the first attempt stored are skipped; a
 *    delivery merged into a pending outbox row leaves the batch id on the row
 *    the same way (mongodb-outbox.ts).
 * 3. Once everything is written the batch goes into the ledger, and only
 *    then is its id pulled from its tickets' pending lists: a ticket's list
 *    holds only batches still being written, never the ids of all the
 *    batches a busy ticket has seen.
 *
 * A solved ticket is reopened as a regression by a separate update that only
 * matches it while it is solved since before the batch's latest occurrence
 * less the grace window, so exactly one writer reopens it. A muted ticket is
 * never solved, so it is only counted. A batch's releases are registered
 * first (mongodb-releases.ts); the count keeps the first and last release; a
 * ticket solved in a release follows the release rule, and new environments
 * are added after the count (mongodb-ticket-merge.ts).
 *
 * Each occurrence keeps its weight and time buckets, and a ticket those of
 * its first sighting (mongodb-buckets.ts); a regression is added to the
 * ticket's history by the update that reopens it (mongodb-ticket-events.ts).
 */

import type { Collection, Document } from 'mongodb';
import { LogticketsError } from '../../errors.js';
import type { TicketDelta } from '../batch.js';
import { BATCH_ID_RETENTION_MS, type OutboxEntryInput, type RecordOutcome } from '../contract.js';
import { toBsonKeys } from './bson-keys.js';
import type { Collections } from './mongodb-connection.js';
import { isDuplicateKey } from './mongodb-errors.js';
import { allocate } from './mongodb-counters.js';
import { mergeOutbox, unmarkOutbox } from './mongodb-outbox.js';
import { registerReleases, type Sightings } from './mongodb-releases.js';
import { addEnvironments, countSolvedInRelease, markUpdates, newTicketFields } from './mongodb-ticket-merge.js';
import { regressionRelease } from '../ticket-merge.js';
import { firstBuckets, fixFirstBuckets, occurrenceBuckets } from './mongodb-buckets.js';
import { flushEvents, pendingEvent } from './mongodb-ticket-events.js';

/**
 * A safety bound on a ticket's pending list. It only holds batches whose
 * writing has not finished (at most one per writer at a time), plus those of
 * writers that died midway and never retried; the bound keeps the latter from
 * piling up.
 */
const MAX_PENDING_MARKERS = 1_000;

// How often one backend deletes expired ledger entries.
const PRUNE_EVERY_MS = 10 * 60 * 1000;

export interface RecordContext {
  readonly name: string;
  readonly now: () => Date;
  /** Keep only the newest N occurrences of each ticket. */
  readonly retention: number | undefined;
  /** When this backend last deleted expired ledger entries (ms since the epoch). */
  lastPrune: number;
}

/**
 * Record a batch. `named`: the caller gave the batch id (and may retry under
 * it); a batch without one cannot come again and skips the ledger.
 */
export async function recordDeltas(
  ctx: RecordContext,
  c: Collections,
  deltas: readonly TicketDelta[],
  batchId: string,
  named: boolean,
  outbox: readonly OutboxEntryInput[],
  graceMs: number,
): Promise<RecordOutcome[]> {
  if (named && (await c.batches.findOne({ _id: batchId as never }, { projection: { _id: 1 } })) !== null) {
    const outcomes = await currentOutcomes(c, deltas);
    // A writer that died between the ledger and the clean-up left its id behind.
    await unmark(c, outcomes, batchId);
    if (outbox.length > 0) await unmarkOutbox(c, outbox, batchId);
    return outcomes;
  }
  const outcomes: RecordOutcome[] = [];
  const docs: Document[] = [];
  let index = 0;
  const sightings = await registerReleases(c, deltas);
  for (const delta of deltas) {
    const outcome = await applyDelta(ctx, c, delta, batchId, graceMs, sightings);
    outcomes.push(outcome);
    for (const item of delta.occurrences) {
      const time = new Date(item.time);
      docs.push({
        ticketId: outcome.ticketId,
        time,
        ...occurrenceBuckets(time, item.count ?? 1),
        data: toBsonKeys(item.data),
        release: item.release ?? null,
        environment: item.environment ?? null,
        b: batchId,
        i: index++,
      });
    }
  }
  await insertOnce(c, c.occurrences, 'occurrences', docs, batchId);
  if (outbox.length > 0) await mergeOutbox(ctx.name, c, outbox, ctx.now(), named ? batchId : undefined);
  if (ctx.retention !== undefined) await trim(c, outcomes, ctx.retention);
  if (named) {
    const now = ctx.now();
    try {
      await c.batches.insertOne({ _id: batchId as never, at: now });
    } catch (error) {
      // Another attempt of the same batch got there first: nothing is lost.
      if (!isDuplicateKey(error)) throw error;
    }
    await prune(ctx, c, now);
  }
  await unmark(c, outcomes, batchId);
  if (named && outbox.length > 0) await unmarkOutbox(c, outbox, batchId);
  return outcomes;
}

/** Outcomes of a batch applied before: the tickets as they stand. */
async function currentOutcomes(c: Collections, deltas: readonly TicketDelta[]): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = [];
  for (const delta of deltas) {
    const doc = await c.tickets.findOne({ appId: delta.appId, hash: delta.hash });
    // Events a first attempt that died left on the ticket.
    if (doc !== null) await flushEvents(c, doc);
    outcomes.push({
      hash: delta.hash,
      appId: delta.appId,
      ticketId: doc === null ? 0 : Number(doc._id),
      created: false,
      regressed: false,
      occurrenceCount: doc === null ? 0 : Number(doc.occurrenceCount),
    });
  }
  return outcomes;
}

/** Take a finished batch off its tickets' pending lists. */
async function unmark(c: Collections, outcomes: readonly RecordOutcome[], batchId: string): Promise<void> {
  const ids = outcomes.map((o) => o.ticketId).filter((id) => id > 0);
  if (ids.length === 0) return;
  await c.tickets.updateMany(
    { _id: { $in: ids as never[] }, batches: batchId },
    { $pull: { batches: batchId } as Document },
  );
}

/** Delete ledger entries older than BATCH_ID_RETENTION_MS, at most every PRUNE_EVERY_MS per backend. */
async function prune(ctx: RecordContext, c: Collections, now: Date): Promise<void> {
  if (now.getTime() - ctx.lastPrune < PRUNE_EVERY_MS) return;
  ctx.lastPrune = now.getTime();
  await c.batches.deleteMany({ at: { $lt: new Date(now.getTime() - BATCH_ID_RETENTION_MS) } });
}

/** Count a batch's occurrences into one ticket, creating or reopening it as needed. */
async function applyDelta(
  ctx: RecordContext,
  c: Collections,
  delta: TicketDelta,
  batchId: string,
  graceMs: number,
  sightings: Sightings,
): Promise<RecordOutcome> {
  const key = { appId: delta.appId, hash: delta.hash };
  const first = new Date(delta.firstSeen);
  const last = new Date(delta.lastSeen);
  // A ticket solved before this time regresses (its grace window has passed).
  const solvedBefore = new Date(last.getTime() - graceMs);
  const notYet = { batches: { $ne: batchId } };
  // Typed as plain documents: the driver's update typings cannot describe
  // fields of a collection without a schema.
  const marks = markUpdates(delta);
  const count: Document = {
    $inc: { occurrenceCount: delta.count },
    $max: { lastSeen: last, ...marks.$max },
    $min: { firstSeen: first, ...firstBuckets(first), ...marks.$min },
    $push: { batches: { $each: [batchId], $slice: -MAX_PENDING_MARKERS } },
  };
  const reopen = (at: Date): Document => ({
    $inc: { occurrenceCount: delta.count, regressionCount: 1 },
    $set: {
      solved: false,
      solvedAt: null,
      solvedInRelease: null,
      lastRegressionAt: at,
      stateAt: at,
      state: 'regressed',
      // The ticket's history, written with it (mongodb-ticket-events.ts).
      ...pendingEvent('regressed', at, regressionRelease(delta)),
    },
  });
  const outcome = async (doc: Document, regressed: boolean): Promise<RecordOutcome> => {
    await addEnvironments(c, doc, delta);
    await flushEvents(c, doc);
    await fixFirstBuckets(c, doc);
    return {
      hash: delta.hash,
      appId: delta.appId,
      ticketId: Number(doc._id),
      created: Number(doc.occurrenceCount) === delta.count,
      regressed,
      occurrenceCount: Number(doc.occurrenceCount),
    };
  };
  // With releases, a ticket solved in a release follows the release rule (3.); the usual updates leave it alone.
  const released = delta.releases.size > 0;
  const withoutRelease = released ? { solvedInRelease: null } : {};
  for (let attempt = 0; attempt < 3; attempt++) {
    // 1. The usual case: an unsolved (or muted) ticket, or one solved too recently to regress.
    const counted = await c.tickets.findOneAndUpdate(
      {
        ...key,
        ...notYet,
        $or: [{ solved: false }, { mutedAt: { $ne: null } }, { solvedAt: { $gte: solvedBefore }, ...withoutRelease }],
      },
      count,
      { returnDocument: 'after' },
    );
    if (counted !== null) return outcome(counted, false);
    // 2. A ticket solved before the grace window: reopen it as a regression.
    const reopened = await c.tickets.findOneAndUpdate(
      {
        ...key,
        ...notYet,
        solved: true,
        mutedAt: null,
        ...withoutRelease,
        $or: [{ solvedAt: { $lt: solvedBefore } }, { solvedAt: null }],
      },
      { ...count, ...reopen(last) },
      { returnDocument: 'after' },
    );
    if (reopened !== null) return outcome(reopened, true);
    // 3. A ticket solved in a release, and releases in the batch.
    if (released) {
      const ruled = await countSolvedInRelease(c, delta, batchId, graceMs, sightings, count, reopen);
      if (ruled === 'changed') continue;
      if (ruled !== null) return outcome(ruled.doc, ruled.regressed);
    }
    // 4. No ticket (or this batch was applied already): create it.
    const id = await allocate(c, 'tickets', 1);
    try {
      const created = await c.tickets.findOneAndUpdate(
        { ...key, ...notYet },
        {
          ...count,
          $setOnInsert: {
            _id: id,
            level: delta.level,
            channel: delta.channel,
            location: delta.location,
            function: delta.function,
            title: delta.title,
            solved: false,
            solvedAt: null,
            regressionCount: 0,
            lastRegressionAt: null,
            mutedAt: null,
            stateAt: null,
            state: 'open',
            ...newTicketFields(delta),
          },
        },
        { upsert: true, returnDocument: 'after' },
      );
      if (created !== null) return outcome(created, false);
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      // Either another writer created it a moment ago (count again), or this
      // batch was applied by an earlier attempt (report it as it stands).
      const existing = await c.tickets.findOne(key);
      if (existing !== null && (existing.batches as unknown[] | undefined)?.includes(batchId)) {
        return { ...(await outcome(existing, false)), created: false };
      }
    }
  }
  throw new LogticketsError('BACKEND_BUSY', `ticket ${delta.hash} kept changing under this write; will retry`, {
    backend: ctx.name,
    retryable: true,
  });
}

/**
 * Insert a batch's documents (numbered by `i`) exactly once. Entries an
 * earlier attempt stored are skipped through the unique (b, i) index; any
 * other collision (an id range handed out twice, e.g. after a server crash)
 * is found by checking what is stored, and the missing entries go in again
 * under fresh ids.
 */
async function insertOnce(
  c: Collections,
  into: Collection<Document>,
  sequence: string,
  docs: Document[],
  batchId: string,
): Promise<void> {
  let pending = docs;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const first = await allocate(c, sequence, pending.length);
    pending.forEach((doc, k) => (doc._id = first + k));
    try {
      await into.insertMany(pending, { ordered: false });
      return;
    } catch (error) {
      if (!isDuplicateKey(error) || attempt >= 5) throw error;
    }
    const stored = await into.find({ b: batchId }, { projection: { i: 1 } }).toArray();
    const present = new Set(stored.map((d) => Number(d.i)));
    pending = pending.filter((doc) => !present.has(Number(doc.i)));
  }
}

async function trim(c: Collections, outcomes: RecordOutcome[], keep: number): Promise<void> {
  for (const { ticketId, occurrenceCount } of outcomes) {
    if (occurrenceCount <= keep) continue;
    const [boundary] = await c.occurrences.find({ ticketId }).sort({ time: -1, _id: -1 }).skip(keep).limit(1).toArray();
    if (boundary === undefined) continue;
    await c.occurrences.deleteMany({
      ticketId,
      $or: [{ time: { $lt: boundary.time } }, { time: boundary.time, _id: { $lte: boundary._id } }],
    });
  }
}
