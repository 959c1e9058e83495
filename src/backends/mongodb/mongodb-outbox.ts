/**
 * The MongoDB store's outbox without transactions or partial indexes
 * (FerretDB has neither):
 * - a payload is kept as JSON text (`payloadJson`): summaries hold nested
 *   arrays, which FerretDB cannot store; rows of older versions keep their
 *   BSON `payload`;
 * - every row has a `pendingKey` under a unique index: `tracker␀appId␀hash`
 *   while the row is pending (so there is at most one pending row per
 *   problem), and a value of its own once frozen (the delivery id it was
 *   frozen with);
 * - a new delivery merges into the pending row by a conditional update on
 *   the row's version `v` (read, merge, write only if nobody wrote in
 *   between, else again), or starts the pending row, the unique key settling
 *   a race between two starters;
 * - a named batch leaves its id on the rows it merged into (`batches`) until
 *   it is in the batch ledger, so a retry after a partial write merges
 *   nothing twice (mongodb-record.ts);
 * - a lease bumps the version and freezes the row, so a merge that read the
 *   row before fails its condition and starts a new pending row instead;
 * - a postpone makes a leased row pending again or merges it into the
 *   pending row (mongodb-outbox-postpone.ts).
 */

import type { Document } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { LogticketsError } from '../../errors.js';
import type { OutboxEntry, OutboxEntryInput } from '../contract.js';
import { newDeliveryId } from '../delivery-id.js';
import { mergePayloads } from '../outbox-summary.js';
import type { Collections } from './mongodb-connection.js';
import { payloadOf, toOutboxEntry } from './mongodb-documents.js';
import { isDuplicateKey } from './mongodb-errors.js';
import { allocate } from './mongodb-counters.js';

// Ids of batches still being written, per row: at most one per writer at a time (see mongodb-record.ts).
export const MAX_PENDING_MARKERS = 1_000;
// Merges that lost to another writer before this one gives up (retryable): far more than any real contention.
export const MAX_MERGE_ATTEMPTS = 500;

export const pendingKeyOf = (e: { tracker: string; appId: string; hash: string }): string =>
  `${e.tracker}\u0000${e.appId}\u0000${e.hash}`;

/** Rows written before pending keys existed become frozen deliveries, each with a key of its own; then the index. */
export async function prepareOutbox(c: Collections): Promise<void> {
  const legacy = await c.outbox.find({ pendingKey: { $exists: false } }, { projection: { _id: 1 } }).toArray();
  for (const doc of legacy) {
    await c.outbox.updateOne(
      { _id: doc._id, pendingKey: { $exists: false } },
      { $set: { pendingKey: `legacy:${String(doc._id)}`, state: 'frozen', deliveryId: null, v: 0 } },
    );
  }
  await Promise.all([
    c.outbox.createIndex({ pendingKey: 1 }, { unique: true, name: 'pending_key' }),
    c.outbox.createIndex({ tracker: 1, appId: 1, hash: 1 }, { name: 'problem' }),
  ]);
}

/** Merge deliveries into their pending rows (or start them). `batchId`: a named batch, marked on the rows. */
export async function mergeOutbox(
  name: string,
  c: Collections,
  entries: readonly OutboxEntryInput[],
  now: Date,
  batchId: string | undefined,
): Promise<void> {
  for (const e of entries) await mergeOne(name, c, e, now, batchId);
}

async function mergeOne(
  name: string,
  c: Collections,
  e: OutboxEntryInput,
  now: Date,
  batchId: string | undefined,
): Promise<void> {
  const key = pendingKeyOf(e);
  const problem = { tracker: e.tracker, appId: e.appId, hash: e.hash };
  for (let attempt = 1; attempt <= MAX_MERGE_ATTEMPTS; attempt++) {
    // The pending row, and any row an earlier attempt of this batch merged into (it may be frozen since).
    const found = await c.outbox
      .find(
        batchId === undefined ? { pendingKey: key } : { ...problem, $or: [{ pendingKey: key }, { batches: batchId }] },
      )
      .toArray();
    if (batchId !== undefined && found.some((d) => (d.batches as unknown[] | undefined)?.includes(batchId))) return;
    const doc = found.find((d) => d.pendingKey === key) ?? null;
    if (doc === null) {
      const id = await allocate(c, 'outbox', 1);
      try {
        await c.outbox.insertOne({
          _id: id as never,
          ...problem,
          payloadJson: JSON.stringify(e.payload),
          attempts: 0,
          availableAt: now,
          owner: null,
          leasedUntil: null,
          lastError: null,
          state: 'pending',
          pendingKey: key,
          deliveryId: null,
          v: 0,
          batches: batchId === undefined ? [] : [batchId],
          // The unique batch-entry index of older versions needs a value of its own.
          b: randomUUID(),
          i: 0,
        });
        return;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
        continue;
      }
    }
    const merged = mergePayloads(payloadOf(doc), e.payload);
    const update: Document = { $set: { payloadJson: JSON.stringify(merged) }, $inc: { v: 1 } };
    if (batchId !== undefined) update.$push = { batches: { $each: [batchId], $slice: -MAX_PENDING_MARKERS } };
    const result = await c.outbox.updateOne({ _id: doc._id, pendingKey: key, v: doc.v ?? 0 }, update);
    if (result.matchedCount > 0) return;
    // Another writer merged or a deliverer froze the row in between: read it again, after a short random pause.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, attempt)));
  }
  throw new LogticketsError('BACKEND_BUSY', `the pending delivery of ${e.hash} kept changing under this write`, {
    backend: name,
    retryable: true,
  });
}

/** Take a batch id off the rows it merged into, once the batch is in the ledger. */
export async function unmarkOutbox(
  c: Collections,
  entries: readonly OutboxEntryInput[],
  batchId: string,
): Promise<void> {
  for (const e of entries) {
    await c.outbox.updateMany(
      { tracker: e.tracker, appId: e.appId, hash: e.hash, batches: batchId },
      { $pull: { batches: batchId } as Document },
    );
  }
}

/** Not delivered: the row is released, due again at `availableAt`, with one more attempt (only its owner may). */
export async function retryRow(c: Collections, id: number, owner: string, availableAt: Date, error: string) {
  await c.outbox.updateOne(
    { _id: id as never, owner },
    { $set: { owner: null, leasedUntil: null, availableAt, lastError: error }, $inc: { attempts: 1 } },
  );
}

/**
 * Lease up to `limit` entries of a tracker due by `dueBy` (delivery-id.ts,
 * leaseDueBy), oldest first, and freeze them. Only entries that were there
 * when the lease started are considered (ids up to the newest due one then),
 * so a lease never chases the rows that writers keep adding meanwhile. Each
 * is taken by one atomic conditional update: two owners never hold the same
 * entry, and one that another owner took in between is skipped for the next.
 * A pending row waits while its problem has a frozen row with an id (handedOut).
 */
export async function takeLeases(
  c: Collections,
  tracker: string,
  owner: string,
  limit: number,
  times: { readonly now: Date; readonly dueBy: Date; readonly until: Date },
): Promise<OutboxEntry[]> {
  const { now, dueBy, until } = times;
  const due = { tracker, availableAt: { $lte: dueBy }, $or: [{ owner: null }, { leasedUntil: { $lt: now } }] };
  const [newest] = await c.outbox
    .find(due, { projection: { _id: 1 } })
    .sort({ _id: -1 })
    .limit(1)
    .toArray();
  const leased: OutboxEntry[] = [];
  if (newest === undefined) return leased;
  // Rows of a version 1 store that this lease gave their first id: as in SQL, they do not hold a pending row back.
  const legacy: unknown[] = [];
  let after: unknown = null;
  while (leased.length < limit) {
    const ids: Document = after === null ? { $lte: newest._id } : { $gt: after, $lte: newest._id };
    const candidates = await c.outbox
      .find({ ...due, _id: ids }, { projection: { _id: 1, appId: 1, hash: 1, state: 1, absorbed: 1 } })
      .sort({ _id: 1 })
      .limit(limit - leased.length)
      .toArray();
    if (candidates.length === 0) break;
    for (const candidate of candidates) {
      if (candidate.state === 'pending' && (await handedOut(c, tracker, candidate, legacy))) continue;
      const entry = await takeOne(c, candidate._id, due, owner, now, until);
      if (entry !== null) leased.push(entry);
      if (entry !== null && candidate.state === 'frozen' && !entry.attempted) legacy.push(entry.id);
    }
    after = candidates[candidates.length - 1]!._id;
  }
  return leased;
}

/**
 * Whether a pending row's problem has a frozen row that a lease gave an id
 * (in flight, or maybe sent): then the pending row waits. Asked after the
 * pending row was read, so a row frozen before the pending row started is
 * seen; the only row that could be frozen in between is the pending row
 * itself, which the taking update settles. Rows the pending row absorbed
 * (a postpone that died midway) are its own content and do not count; nor
 * do the `legacy` rows given their first id by this lease.
 */
async function handedOut(c: Collections, tracker: string, pending: Document, legacy: unknown[]): Promise<boolean> {
  const absorbed = Array.isArray(pending.absorbed) ? (pending.absorbed as unknown[]) : [];
  const own = [pending._id, ...absorbed, ...legacy];
  const frozen = await c.outbox.findOne(
    {
      tracker,
      appId: pending.appId,
      hash: pending.hash,
      state: 'frozen',
      deliveryId: { $ne: null },
      _id: { $nin: own as never[] },
    },
    { projection: { _id: 1 } },
  );
  return frozen !== null;
}

/**
 * Lease one entry if it is still due and free, and freeze it; null when
 * another owner got it first. The taking update leaves the delivery id as it
 * was, so the row it returns tells whether an earlier lease handed one out
 * (attempted) or this lease gives a new one, stamped `now`. A postpone that
 * died between merging a row into the pending row and deleting it is settled
 * here (mongodb-outbox-postpone.ts).
 */
async function takeOne(
  c: Collections,
  id: unknown,
  due: Document,
  owner: string,
  now: Date,
  until: Date,
): Promise<OutboxEntry | null> {
  const taken = await c.outbox.findOneAndUpdate(
    { _id: id as never, ...due },
    { $set: { owner, leasedUntil: until }, $inc: { v: 1 } },
    { returnDocument: 'after' },
  );
  if (taken === null) return null;
  if (taken.state === 'frozen' && (await mergedElsewhere(c, taken))) return null;
  const attempted = taken.deliveryId != null;
  let row: Document | null = taken;
  if (taken.state !== 'frozen' || !attempted) {
    const deliveryId = attempted ? String(taken.deliveryId) : newDeliveryId(now);
    const freeze: Document = { state: 'frozen', deliveryId };
    // A row frozen now takes a unique key of its own; one frozen before (of an older version) keeps the one it has.
    if (taken.state !== 'frozen') freeze.pendingKey = deliveryId;
    // The row as frozen: a merge that got in after our lease is part of it.
    row = await c.outbox.findOneAndUpdate(
      { _id: taken._id, owner },
      { $set: freeze, $inc: { v: 1 } },
      { returnDocument: 'after' },
    );
    if (row === null) return null;
  }
  await dropAbsorbed(c, row);
  return toOutboxEntry(row, attempted);
}

/** A frozen row whose content a pending row took in (a postpone that died midway): deleted, true. */
async function mergedElsewhere(c: Collections, row: Document): Promise<boolean> {
  const problem = { tracker: row.tracker, appId: row.appId, hash: row.hash };
  const holder = await c.outbox.findOne({ ...problem, absorbed: row._id }, { projection: { _id: 1 } });
  if (holder === null) return false;
  await c.outbox.deleteOne({ _id: row._id });
  await c.outbox.updateMany({ ...problem, absorbed: row._id }, { $pull: { absorbed: row._id } as Document });
  return true;
}

/** The rows a frozen row took in that are still there (a postpone that died midway): deleted, and the list cleared. */
async function dropAbsorbed(c: Collections, row: Document): Promise<void> {
  if (!Array.isArray(row.absorbed)) return;
  const absorbed = (row.absorbed as unknown[]).filter((a) => a !== row._id);
  if (absorbed.length > 0) await c.outbox.deleteMany({ _id: { $in: absorbed as never[] } });
  await c.outbox.updateOne({ _id: row._id }, { $unset: { absorbed: '' } });
}
