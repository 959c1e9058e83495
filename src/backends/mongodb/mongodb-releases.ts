/**
 * The MongoDB store's releases collection: one document per release of an
 * app with its first sighting (release-order.ts orders releases by it when
 * they are not versions). A unique (appId, release) index makes concurrent
 * first sightings in many processes end as one document, and `$min` keeps
 * the earliest time. Registering is idempotent, so a batch retried after a
 * partial write registers nothing twice.
 */

import type { Document } from 'mongodb';
import { LogticketsError } from '../../errors.js';
import { ticketKey, type TicketDelta } from '../batch.js';
import { newestRelease } from '../release-order.js';
import type { Collections } from './mongodb-connection.js';
import { isDuplicateKey } from './mongodb-errors.js';

/** First sightings: ticketKey(appId, release) → time (ISO 8601). */
export type Sightings = Map<string, string>;

/** Register the releases of a batch, each with its earliest occurrence; returns their first sightings now. */
export async function registerReleases(c: Collections, deltas: readonly TicketDelta[]): Promise<Sightings> {
  const wanted = new Map<string, { appId: string; release: string; time: string }>();
  for (const delta of deltas) {
    for (const [release, time] of delta.releases) {
      const key = ticketKey(delta.appId, release);
      const seen = wanted.get(key);
      if (seen === undefined || time < seen.time) wanted.set(key, { appId: delta.appId, release, time });
    }
  }
  const sightings: Sightings = new Map();
  for (const [key, { appId, release, time }] of [...wanted].sort(([x], [y]) => (x < y ? -1 : 1))) {
    const doc = await upsertSighting(c, appId, release, new Date(time));
    sightings.set(key, (doc.firstSeen as Date).toISOString());
  }
  return sightings;
}

async function upsertSighting(c: Collections, appId: string, release: string, time: Date): Promise<Document> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const doc = await c.releases.findOneAndUpdate(
        { appId, release },
        { $min: { firstSeen: time } },
        { upsert: true, returnDocument: 'after' },
      );
      if (doc !== null) return doc;
    } catch (error) {
      // Two first sightings raced to insert it: the loser updates the winner's document.
      if (!isDuplicateKey(error)) throw error;
    }
  }
  throw new LogticketsError('BACKEND_BUSY', `release ${release} kept changing under this write; will retry`, {
    retryable: true,
  });
}

/** The first sightings of some releases of one app (those the store has seen). */
export async function readSightings(c: Collections, appId: string, releases: readonly string[]): Promise<Sightings> {
  const sightings: Sightings = new Map();
  if (releases.length === 0) return sightings;
  const docs = await c.releases.find({ appId, release: { $in: [...releases] } }).toArray();
  for (const doc of docs) sightings.set(ticketKey(appId, String(doc.release)), (doc.firstSeen as Date).toISOString());
  return sightings;
}

/** The newest release the store has seen for an app, or null. */
export async function newestOfApp(c: Collections, appId: string): Promise<string | null> {
  const docs = await c.releases.find({ appId }, { projection: { release: 1, firstSeen: 1 } }).toArray();
  return newestRelease(
    docs.map((doc) => ({ release: String(doc.release), firstSeen: (doc.firstSeen as Date).toISOString() })),
  );
}

/** The ids of the tickets with an occurrence (still kept) from a release. */
export async function ticketsOfRelease(c: Collections, release: string): Promise<number[]> {
  const ids = await c.occurrences.distinct('ticketId', { release });
  return ids.map(Number);
}
