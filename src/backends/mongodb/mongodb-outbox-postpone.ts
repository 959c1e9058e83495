/**
 * Postponing deliveries in the MongoDB store (no multi-document
 * transactions, FerretDB): nothing of them reached the tracker, so each row
 * the owner still leases becomes its problem's pending row again (no delivery
 * id, due at the given time, attempts unchanged), or, when the problem has a
 * pending row already, merges into it and goes. Rows are handled newest
 * first, so that of several postponed rows of a problem the newest becomes
 * the pending row and the older ones merge into it as older content.
 *
 * A row becomes pending by taking the problem's `pendingKey`, which the
 * unique index lets one row hold; it merges into the pending row by the
 * conditional update on the row's version `v` that enqueues use
 * (mongodb-outbox.ts). How that meets the other writers of the problem:
 * - An enqueue starting the pending row while this row takes the key: one of
 *   the two writes gets a duplicate key. If it is ours, we read the new
 *   pending row and merge into it; if it is the enqueue's, it reads again and
 *   merges into this row. Never two pending rows.
 * - An enqueue merging into the pending row while we merge into it: both read
 *   the row at some version and write only if it is still that version, so
 *   one of the two fails and reads again, merging into the other's result.
 *   Nothing is lost, and nothing is merged twice: a write either lands whole
 *   or not at all.
 * - A lease freezing the pending row meanwhile: its first step bumps the
 *   version, so our merge fails and reads again. Until its second step
 *   freezes the row, the row still holds the key and we may merge into it:
 *   the freeze returns the row as it is then, our merge included (as for an
 *   enqueue). Once frozen it no longer holds the key and this row takes it.
 * - Another postponer of the same problem: the same as an enqueue.
 *
 * The merge and the deletion of the merged row are two writes: the merge
 * also records the row's id in the pending row's `absorbed` list. Until the
 * row is deleted and the id taken off, both rows hold its content; a crash in
 * between leaves it so. A lease settles it either way (takeOne): leasing a
 * row with an `absorbed` list deletes the rows listed, and a frozen row whose
 * id another row of its problem lists is deleted instead of leased. A
 * postponer whose lease ran out before it got here is not protected: like any
 * holder working past its lease, another owner may hold the row by then.
 */

import type { Document } from 'mongodb';
import { LogticketsError } from '../../errors.js';
import { mergePayloads } from '../outbox-summary.js';
import type { Collections } from './mongodb-connection.js';
import { payloadOf } from './mongodb-documents.js';
import { isDuplicateKey } from './mongodb-errors.js';
import { MAX_MERGE_ATTEMPTS, MAX_PENDING_MARKERS, pendingKeyOf } from './mongodb-outbox.js';

export async function postponeRows(
  name: string,
  c: Collections,
  ids: readonly number[],
  owner: string,
  availableAt: Date,
): Promise<void> {
  const rows = await c.outbox
    .find({ _id: { $in: [...ids] as never[] }, owner })
    .sort({ _id: -1 })
    .toArray();
  for (const row of rows) await postponeOne(name, c, row, owner, availableAt);
}

async function postponeOne(name: string, c: Collections, row: Document, owner: string, at: Date): Promise<void> {
  const key = pendingKeyOf({ tracker: String(row.tracker), appId: String(row.appId), hash: String(row.hash) });
  for (let attempt = 1; attempt <= MAX_MERGE_ATTEMPTS; attempt++) {
    const pending = await c.outbox.findOne({ pendingKey: key });
    if (pending === null || pending._id === row._id) {
      try {
        // Matches nothing when another owner holds the row by now: then it is theirs.
        await c.outbox.updateOne(
          { _id: row._id, owner },
          {
            $set: {
              state: 'pending',
              pendingKey: key,
              deliveryId: null,
              owner: null,
              leasedUntil: null,
              availableAt: at,
            },
            $inc: { v: 1 },
          },
        );
        return;
      } catch (error) {
        // Another writer started the pending row first: merge into it.
        if (!(await keyTaken(c, error, key, row._id))) throw error;
        continue;
      }
    }
    if (await mergeInto(c, row, pending, key, at)) {
      await c.outbox.deleteOne({ _id: row._id });
      await c.outbox.updateMany(
        { tracker: row.tracker, appId: row.appId, hash: row.hash, absorbed: row._id },
        { $pull: { absorbed: row._id } as Document },
      );
      return;
    }
    // The pending row changed since we read it: read it again, after a short random pause.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, attempt)));
  }
  throw new LogticketsError('BACKEND_BUSY', `the pending delivery of ${String(row.hash)} kept changing`, {
    backend: name,
    retryable: true,
  });
}

/**
 * Whether a failed write of the pending key failed because another row holds
 * the key. MongoDB says so (a duplicate key); FerretDB answers an update that
 * breaks a unique index with an internal error, so the store is asked. The
 * row itself holding the key (a write that went through with its answer
 * lost) is no collision.
 */
async function keyTaken(c: Collections, error: unknown, key: string, id: unknown): Promise<boolean> {
  if (isDuplicateKey(error)) return true;
  const holder = await c.outbox.findOne({ pendingKey: key }, { projection: { _id: 1 } });
  return holder !== null && holder._id !== id;
}

/**
 * Merge a postponed row into the pending row as read (the postponed content
 * first: it is the older), if nobody wrote the pending row since. Its due
 * time becomes the later of the two (a comment window holds for the whole
 * problem), its attempts the larger; batches still being written that had
 * merged into the postponed row go with its content (mongodb-record.ts).
 */
async function mergeInto(c: Collections, row: Document, pending: Document, key: string, at: Date): Promise<boolean> {
  const merged = mergePayloads(payloadOf(row), payloadOf(pending));
  const due = pending.availableAt instanceof Date && pending.availableAt > at ? pending.availableAt : at;
  const markers = Array.isArray(row.batches) ? (row.batches as unknown[]) : [];
  const update: Document = {
    $set: {
      payloadJson: JSON.stringify(merged),
      availableAt: due,
      attempts: Math.max(Number(pending.attempts ?? 0), Number(row.attempts ?? 0)),
      lastError: pending.lastError ?? row.lastError ?? null,
    },
    $inc: { v: 1 },
    $push: {
      absorbed: row._id,
      ...(markers.length === 0 ? {} : { batches: { $each: markers, $slice: -MAX_PENDING_MARKERS } }),
    },
  };
  const result = await c.outbox.updateOne({ _id: pending._id, pendingKey: key, v: pending.v ?? 0 }, update);
  return result.matchedCount > 0;
}
