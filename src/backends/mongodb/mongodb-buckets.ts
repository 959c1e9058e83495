/**
 * Time buckets kept on the MongoDB store's documents, so that histograms are
 * one `$group` on a stored field.
 *
 * The aggregation language FerretDB speaks has no date arithmetic at all
 * (no `$dateTrunc`, `$dateToString`, `$toLong`, `$subtract`, `$floor`, not
 * even `$ifNull`), so a bucket cannot be computed in the server: it is
 * computed when a document is written. An occurrence keeps the UTC start of
 * its minute, hour and day (`minute`, `hour`, `day`) next to `time`, and its
 * `weight` (how many occurrences it stands for). A ticket keeps those of its
 * first sighting (`firstMinute`, `firstHour`, `firstDay`), lowered with `$min`
 * by the same update that lowers `firstSeen`: truncation keeps order, so the
 * minimum of the buckets is the bucket of the minimum.
 *
 * Documents of older versions have neither buckets nor weight. Such an
 * occurrence counts as one; the few in a window are grouped by their exact
 * time and put in buckets here (analytics count them in a second `$group` only
 * when the first one shows them). A ticket of an older version gets its first
 * buckets from the first count that touches it: `$min` on a missing field sets
 * it to the batch's bucket, which may be later than the ticket's first
 * sighting, so the count's answer is checked and the fields are set right
 * (fixFirstBuckets).
 */

import type { Collection, Document } from 'mongodb';
import { BUCKETS, bucketStart, type Bucket } from '../analytics.js';
import type { Collections } from './mongodb-connection.js';

/** The field of an occurrence that holds the start of its bucket. */
export const OCCURRENCE_BUCKET: Readonly<Record<Bucket, string>> = { minute: 'minute', hour: 'hour', day: 'day' };
/** The field of a ticket that holds the start of the bucket of its first sighting. */
export const FIRST_BUCKET: Readonly<Record<Bucket, string>> = {
  minute: 'firstMinute',
  hour: 'firstHour',
  day: 'firstDay',
};

function bucketFields(time: Date, names: Readonly<Record<Bucket, string>>): Record<string, Date> {
  const fields: Record<string, Date> = {};
  for (const bucket of BUCKETS) fields[names[bucket]] = new Date(bucketStart(time.getTime(), bucket));
  return fields;
}

/** What an occurrence at `time` standing for `weight` occurrences keeps besides its time. */
export function occurrenceBuckets(time: Date, weight: number): Document {
  return { weight, ...bucketFields(time, OCCURRENCE_BUCKET) };
}

/** The first-sighting buckets of a ticket first seen at `time` (for a `$min`). */
export function firstBuckets(time: Date): Record<string, Date> {
  return bucketFields(time, FIRST_BUCKET);
}

/**
 * Set a counted ticket's first buckets from its `firstSeen` when they do not
 * match it (a ticket of an older version, counted for the first time). Only
 * while `firstSeen` is as read: a writer that lowers it lowers them too.
 */
export async function fixFirstBuckets(c: Collections, doc: Document): Promise<void> {
  if (!(doc.firstSeen instanceof Date)) return;
  const wanted = firstBuckets(doc.firstSeen);
  const stored = doc[FIRST_BUCKET.minute] as unknown;
  if (stored instanceof Date && stored.getTime() === wanted[FIRST_BUCKET.minute]!.getTime()) return;
  await c.tickets.updateOne({ _id: doc._id as never, firstSeen: doc.firstSeen }, { $set: wanted });
}

/**
 * Documents per key, each counting as many occurrences as it stands for: one
 * `$group` by the keys (field paths, e.g. `$ticketId`) and the weight, with a
 * `$sum` of 1 as its only accumulator (FerretDB gives the documents to the
 * first accumulator alone). A group's count is its weight times its
 * documents; a document without weight (an older one, or a ticket) counts
 * as one. Dates in keys come back as ms; a key a document lacks, as undefined.
 */
export async function countBy(
  from: Collection<Document>,
  match: Document,
  keys: readonly string[],
): Promise<Array<{ readonly keys: unknown[]; readonly count: number }>> {
  const id: Record<string, string> = { w: '$weight' };
  keys.forEach((key, i) => (id[`k${i}`] = key));
  const groups = await from.aggregate([{ $match: match }, { $group: { _id: id, n: { $sum: 1 } } }]).toArray();
  const merged = new Map<string, { keys: unknown[]; count: number }>();
  for (const { _id, n } of groups) {
    const got = (_id ?? {}) as Record<string, unknown>;
    const values = keys.map((_, i) => {
      const value = got[`k${i}`];
      return value instanceof Date ? value.getTime() : value;
    });
    const weight = typeof got.w === 'number' && got.w >= 1 ? got.w : 1;
    const key = JSON.stringify(values.map((v) => (v === undefined ? { missing: true } : v)));
    const entry = merged.get(key) ?? { keys: values, count: 0 };
    entry.count += weight * Number(n);
    merged.set(key, entry);
  }
  return [...merged.values()];
}
