/** Tickets, links and deliveries between MongoDB documents and the contract's objects. */

import type { Document } from 'mongodb';
import type { JsonValue } from '../../logging/json-safe.js';
import type { Link, LinkKey, OutboxEntry, Ticket, TicketFilter, TicketOrderField } from '../contract.js';
import { fromBsonKeys } from './bson-keys.js';

export const ORDER_FIELDS: Record<TicketOrderField, string> = {
  id: '_id',
  lastSeen: 'lastSeen',
  firstSeen: 'firstSeen',
  occurrenceCount: 'occurrenceCount',
  level: 'level',
  regressionCount: 'regressionCount',
};

export function mongoFilter(f: TicketFilter): Document {
  const query: Document = {};
  if (f.hash !== undefined) query.hash = f.hash;
  if (f.solved !== undefined) query.solved = f.solved;
  if (f.level !== undefined) query.level = f.level;
  if (f.minLevel !== undefined)
    query.level = f.level === undefined ? { $gte: f.minLevel } : f.level >= f.minLevel ? f.level : { $in: [] };
  if (f.appId !== undefined) query.appId = f.appId;
  if (f.channel !== undefined) query.channel = f.channel;
  return query;
}

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

export function toTicket(doc: Document): Ticket {
  return {
    id: Number(doc._id),
    hash: String(doc.hash),
    appId: String(doc.appId),
    level: Number(doc.level),
    channel: String(doc.channel),
    location: String(doc.location),
    function: doc.function == null ? null : String(doc.function),
    title: String(doc.title),
    firstSeen: iso(doc.firstSeen)!,
    lastSeen: iso(doc.lastSeen)!,
    occurrenceCount: Number(doc.occurrenceCount),
    solved: Boolean(doc.solved),
    solvedAt: iso(doc.solvedAt),
    regressionCount: Number(doc.regressionCount ?? 0),
    lastRegressionAt: iso(doc.lastRegressionAt),
  };
}

export function linkFilter(key: LinkKey): Document {
  return { tracker: key.tracker, appId: key.appId, hash: key.hash };
}

export function toLink(doc: Document): Link {
  return {
    tracker: String(doc.tracker),
    appId: String(doc.appId),
    hash: String(doc.hash),
    externalId: doc.externalId == null ? null : String(doc.externalId),
    owner: doc.owner == null ? null : String(doc.owner),
    claimedUntil: iso(doc.claimedUntil),
  };
}

/** A leased row as an entry; `attempted`: it kept a delivery id an earlier lease had handed out. */
export function toOutboxEntry(doc: Document, attempted: boolean): OutboxEntry {
  return {
    id: Number(doc._id),
    tracker: String(doc.tracker),
    hash: String(doc.hash),
    appId: String(doc.appId),
    payload: payloadOf(doc),
    attempts: Number(doc.attempts),
    availableAt: iso(doc.availableAt)!,
    lastError: doc.lastError == null ? null : String(doc.lastError),
    deliveryId: doc.deliveryId == null ? null : String(doc.deliveryId),
    // Rows of older versions had no state: never leased, so not yet frozen.
    state: doc.state === 'frozen' ? 'frozen' : 'pending',
    attempted,
  };
}

/** A delivery's payload: JSON text in rows of this version, BSON in older ones. */
export function payloadOf(doc: Document): JsonValue {
  return typeof doc.payloadJson === 'string'
    ? (JSON.parse(doc.payloadJson) as JsonValue)
    : fromBsonKeys(doc.payload as JsonValue);
}
