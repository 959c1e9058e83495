/**
 * The MongoDB store's links besides the atomic claims (mongodb-claims.ts):
 * reading, completing, releasing, setting and deleting a link, the state its
 * tracker ticket was last known to be in, and finding links by external id.
 * A link keeps its state through all of these; a new one has none.
 */

import type { Link, LinkKey } from '../contract.js';
import type { SettableState } from '../ticket-state.js';
import type { Collections } from './mongodb-connection.js';
import { linkFilter, toLink } from './mongodb-documents.js';

export async function getLink(c: Collections, key: LinkKey): Promise<Link | null> {
  const doc = await c.links.findOne(linkFilter(key));
  return doc === null ? null : toLink(doc);
}

export async function deleteLink(c: Collections, key: LinkKey): Promise<void> {
  await c.links.deleteOne(linkFilter(key));
}

/** Record the external id; only the owner of the pending claim may. */
export async function completeLink(c: Collections, key: LinkKey, owner: string, externalId: string): Promise<boolean> {
  const result = await c.links.updateOne(
    { ...linkFilter(key), owner, externalId: null },
    { $set: { externalId, owner: null, claimedUntil: null } },
  );
  return result.modifiedCount > 0;
}

export async function releaseLink(c: Collections, key: LinkKey, owner: string): Promise<void> {
  await c.links.deleteOne({ ...linkFilter(key), owner, externalId: null });
}

export async function setLink(c: Collections, key: LinkKey, externalId: string): Promise<void> {
  await c.links.updateOne(linkFilter(key), { $set: { externalId, owner: null, claimedUntil: null } }, { upsert: true });
}

/** Only a finished link (one with an external id) takes a state. */
export async function setLinkState(c: Collections, key: LinkKey, state: SettableState, at: Date): Promise<void> {
  await c.links.updateOne({ ...linkFilter(key), externalId: { $ne: null } }, { $set: { state, stateAt: at } });
}

/** One query, by the (tracker, externalId) index; a pending claim has no external id and is never found. */
export async function problemLinks(c: Collections, appId: string, hash: string): Promise<Link[]> {
  const docs = await c.links
    .find({ appId, hash, externalId: { $ne: null } })
    .sort({ tracker: 1 })
    .toArray();
  return docs.map(toLink);
}

export async function linksByExternalId(
  c: Collections,
  tracker: string,
  externalIds: readonly string[],
): Promise<Link[]> {
  if (externalIds.length === 0) return [];
  const docs = await c.links.find({ tracker, externalId: { $in: [...new Set(externalIds)] } }).toArray();
  return docs.map(toLink);
}
