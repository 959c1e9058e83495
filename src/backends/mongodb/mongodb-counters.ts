/**
 * Numbers handed out by the MongoDB store (ticket and occurrence ids, outbox
 * row ids): one counter document per sequence, advanced atomically.
 */

import type { Collections } from './mongodb-connection.js';
import { isDuplicateKey } from './mongodb-errors.js';

/** Reserve `n` consecutive ids of a sequence; returns the first. */
export async function allocate(c: Collections, sequence: string, n: number): Promise<number> {
  if (n === 0) return 0;
  for (;;) {
    try {
      const doc = await c.counters.findOneAndUpdate(
        { _id: sequence as never },
        { $inc: { seq: n } },
        { upsert: true, returnDocument: 'after' },
      );
      return Number(doc!.seq) - n + 1;
    } catch (error) {
      // Two first-ever allocations raced to create the counter: the loser simply asks again.
      if (!isDuplicateKey(error)) throw error;
    }
  }
}
