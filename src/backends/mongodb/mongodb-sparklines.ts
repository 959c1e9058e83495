/**
 * Sparklines in the MongoDB store: the occurrences of many tickets in the
 * equal slices of a window (sparkIndex(), analytics.ts), in at most five
 * `$group`s whatever the number of slices.
 *
 * FerretDB cannot compute a slice in the server (no arithmetic), and it
 * reads a whole collection for each query, so a query per slice would read
 * it up to 200 times. Instead the stored buckets are used from the coarsest
 * down (mongodb-buckets.ts):
 *
 * 1. the occurrences of the window are counted per ticket and day; a day
 *    whose part in the window lies in one slice is counted there;
 * 2. the days that straddle a slice boundary (at most one per boundary) are
 *    counted again per hour, and so on with the hours per minute;
 * 3. the minutes that still straddle one are counted per exact time;
 * 4. occurrences of an older version (no buckets) are counted per exact
 *    time, only when the first step found some.
 *
 * A dashboard's slices start on hours or days, so steps 2 and 3 rarely find
 * anything to refine: two queries at most.
 */

import type { Document } from 'mongodb';
import { BUCKET_MS, sparkIndex, type CheckedWindow } from '../analytics.js';
import { countBy, OCCURRENCE_BUCKET } from './mongodb-buckets.js';
import type { Collections } from './mongodb-connection.js';

const COARSEST_FIRST = ['day', 'hour', 'minute'] as const;

/** Per ticket id, its occurrences in each of `points` slices of the window. */
export async function sparkCounts(
  c: Collections,
  ids: readonly number[],
  window: CheckedWindow,
  points: number,
): Promise<Map<number, number[]>> {
  const lines = new Map(ids.map((id) => [id, new Array<number>(points).fill(0)]));
  if (ids.length === 0) return lines;
  const slice = (ms: number) => sparkIndex(ms, window, points);
  const add = (id: unknown, ms: number, count: number) => {
    const line = lines.get(Number(id));
    const i = slice(ms);
    if (line !== undefined && i >= 0) line[i]! += count;
  };
  const match = (ranges: ReadonlyArray<readonly [number, number]>, more: Document = {}): Document => ({
    ticketId: { $in: [...ids] },
    $or: ranges.map(([from, to]) => ({ time: { $gte: new Date(from), $lt: new Date(to) } })),
    ...more,
  });

  // The parts of the window still to count finer: at first the whole of it.
  let ranges: Array<[number, number]> = [[window.fromMs, window.toMs]];
  let older = false;
  for (const bucket of COARSEST_FIRST) {
    if (ranges.length === 0) break;
    const size = BUCKET_MS[bucket];
    const straddling = new Set<number>();
    const key = ['$ticketId', `$${OCCURRENCE_BUCKET[bucket]}`];
    for (const { keys, count } of await countBy(c.occurrences, match(ranges), key)) {
      const [id, start] = keys;
      if (typeof start !== 'number') {
        older ||= bucket === 'day';
        continue;
      }
      // The bucket's part in the window, which the `$match` kept.
      const from = Math.max(start, window.fromMs);
      const to = Math.min(start + size, window.toMs);
      if (slice(from) === slice(to - 1)) add(id, from, count);
      else straddling.add(start);
    }
    ranges = [...straddling]
      .sort((a, b) => a - b)
      .map((start) => [Math.max(start, window.fromMs), Math.min(start + size, window.toMs)]);
  }
  const exact = async (more: Document, within: ReadonlyArray<readonly [number, number]>) => {
    for (const { keys, count } of await countBy(c.occurrences, match(within, more), ['$ticketId', '$time'])) {
      if (typeof keys[1] === 'number') add(keys[0], keys[1], count);
    }
  };
  // Only documents with buckets: those without are counted once, below.
  if (ranges.length > 0) await exact({ [OCCURRENCE_BUCKET.minute]: { $ne: null } }, ranges);
  if (older) await exact({ [OCCURRENCE_BUCKET.day]: null }, [[window.fromMs, window.toMs]]);
  return lines;
}
