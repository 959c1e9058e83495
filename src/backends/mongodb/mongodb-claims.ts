/**
 * The MongoDB store's atomic takes: a link claim and a comment slot (outbox
 * leases are in mongodb-outbox.ts). Each is one conditional update, so of many processes asking at once
 * exactly one wins.
 */

import type { Document } from 'mongodb';
import type { LinkClaim, LinkKey } from '../contract.js';
import type { Collections } from './mongodb-connection.js';
import { linkFilter, toLink } from './mongodb-documents.js';
import { isDuplicateKey } from './mongodb-errors.js';

/** Claim the right to create a link's external ticket until `until`. */
export async function takeLink(
  c: Collections,
  key: LinkKey,
  owner: string,
  now: Date,
  until: Date,
): Promise<LinkClaim> {
  for (;;) {
    try {
      // Matches only a free, expired or own claim; otherwise the upsert collides with the unique key.
      await c.links.findOneAndUpdate(
        { ...linkFilter(key), externalId: null, $or: [{ owner }, { owner: null }, { claimedUntil: { $lt: now } }] },
        { $set: { owner, claimedUntil: until } },
        { upsert: true, returnDocument: 'after' },
      );
      return { state: 'claimed' };
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
    }
    const doc = await c.links.findOne(linkFilter(key));
    // The holder released it between our two calls: ask again.
    if (doc === null) continue;
    const link = toLink(doc);
    if (link.externalId !== null) return { state: 'linked', externalId: link.externalId };
    return { state: 'pending', owner: link.owner ?? '', claimedUntil: link.claimedUntil ?? now.toISOString() };
  }
}

/** The right to comment on a linked ticket now, unless someone commented in the last `intervalMs`. */
export async function takeCommentSlot(
  c: Collections,
  key: LinkKey,
  now: Date,
  intervalMs: number,
): Promise<{ granted: true } | { granted: false; nextAt: string }> {
  const since = new Date(now.getTime() - intervalMs);
  const won = await c.links.findOneAndUpdate(
    { ...linkFilter(key), $or: [{ lastCommentAt: null }, { lastCommentAt: { $lte: since } }] },
    { $set: { lastCommentAt: now } },
  );
  if (won !== null) return { granted: true };
  const doc: Document | null = await c.links.findOne(linkFilter(key));
  if (doc === null || !(doc.lastCommentAt instanceof Date)) return { granted: true };
  return { granted: false, nextAt: new Date(doc.lastCommentAt.getTime() + intervalMs).toISOString() };
}
