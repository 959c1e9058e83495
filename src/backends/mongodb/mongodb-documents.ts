/**
 * Tickets, links and deliveries between MongoDB documents and the contract's
 * objects.
 *
 * A ticket document keeps, besides the fields its state is derived from
 * (`solved`, `mutedAt`, `lastRegressionAt`, `stateAt`), that state itself in
 * `state`, set by every write that changes it: lists filter on it, because
 * telling a regressed ticket from a reopened one means comparing two fields,
 * which FerretDB cannot do in a query. Documents of older versions have none
 * of these new fields; they read as null, and such a ticket's state follows
 * from `solved` and `lastRegressionAt` alone (it was never muted).
 *
 * Releases and environments: a ticket keeps its first and last release with
 * the times of their occurrences, each as one text (`firstReleaseMark`,
 * `lastReleaseMark`: ticket-merge.ts, markText) so that one `$min` or `$max`
 * keeps it, `environments` (unsorted; sorted when read) and
 * `solvedInRelease`; an occurrence keeps `release` and `environment`.
 * Documents written before there were any read as null and [].
 *
 * A title search is a case-insensitive regular expression of the text with
 * every pattern character escaped (literalPattern).
 */

import type { Document } from 'mongodb';
import type { JsonValue } from '../../logging/json-safe.js';
import type {
  Link,
  LinkKey,
  OutboxEntry,
  StoredOccurrence,
  Ticket,
  TicketFilter,
  TicketOrderField,
} from '../contract.js';
import { filterStates } from '../query-options.js';
import { fromMarkText } from '../ticket-merge.js';
import { SETTABLE_STATES, stateOf, type SettableState, type TicketState } from '../ticket-state.js';
import { fromBsonKeys } from './bson-keys.js';
import type { Collections } from './mongodb-connection.js';
import { ticketsOfRelease } from './mongodb-releases.js';

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
  // An array field matches a value it holds.
  if (f.environment !== undefined) query.environments = f.environment;
  if (f.search !== undefined && f.search !== '') query.title = { $regex: literalPattern(f.search), $options: 'i' };
  // checkFilter gives both times in full ISO form.
  if (f.seenSince !== undefined) query.lastSeen = { $gte: new Date(f.seenSince) };
  if (f.seenBefore !== undefined) query.firstSeen = { $lt: new Date(f.seenBefore) };
  const and: Document[] = [];
  const states = filterStates(f);
  if (states !== undefined) and.push(stateFilter(states));
  if (f.muted !== undefined) and.push({ mutedAt: f.muted ? { $ne: null } : null });
  if (and.length > 0) query.$and = and;
  return query;
}

/**
 * A regular expression that matches `text` as it is: every character that
 * means something in a pattern is escaped, and control characters (NUL is
 * refused in a pattern) are written as code points, in a form both MongoDB
 * (PCRE) and FerretDB (Go's regexp) read.
 */
export function literalPattern(text: string): string {
  return text
    .replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')
    .replace(/[\u0000-\u001f\u007f]/g, (ch) => `\\x{${ch.charCodeAt(0).toString(16)}}`);
}

/** The query of a filter; one by release first finds the tickets with an occurrence from it. */
export async function filterQuery(c: Collections, filter: TicketFilter): Promise<Document> {
  const query = mongoFilter(filter);
  return filter.release === undefined ? query : { ...query, _id: { $in: await ticketsOfRelease(c, filter.release) } };
}

/** How a document of an older version, without `state`, shows each state (none was muted). */
const OLDER: Record<TicketState, Document | null> = {
  open: { solved: false, lastRegressionAt: null },
  solved: { solved: true },
  regressed: { solved: false, lastRegressionAt: { $ne: null } },
  muted: null,
};

function stateFilter(states: readonly TicketState[]): Document {
  const older = states.flatMap((s) => (OLDER[s] === null ? [] : [{ state: null, ...OLDER[s] }]));
  return { $or: [{ state: { $in: [...states] } }, ...older] };
}

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

export function toTicket(doc: Document): Ticket {
  const state = {
    solved: Boolean(doc.solved),
    mutedAt: iso(doc.mutedAt),
    lastRegressionAt: iso(doc.lastRegressionAt),
    stateChangedAt: iso(doc.stateAt),
  };
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
    solved: state.solved,
    solvedAt: iso(doc.solvedAt),
    regressionCount: Number(doc.regressionCount ?? 0),
    lastRegressionAt: state.lastRegressionAt,
    muted: state.mutedAt !== null,
    mutedAt: state.mutedAt,
    stateChangedAt: state.stateChangedAt,
    state: stateOf(state),
    firstRelease: fromMarkText(doc.firstReleaseMark)?.release ?? null,
    lastRelease: fromMarkText(doc.lastReleaseMark)?.release ?? null,
    environments: environmentsOf(doc),
    solvedInRelease: doc.solvedInRelease == null ? null : String(doc.solvedInRelease),
  };
}

/** A ticket's environments, sorted ([] in documents of older versions). */
export function environmentsOf(doc: Document): string[] {
  return Array.isArray(doc.environments) ? doc.environments.map(String).sort() : [];
}

export function toOccurrence(doc: Document): StoredOccurrence {
  return {
    id: Number(doc._id),
    ticketId: Number(doc.ticketId),
    time: (doc.time as Date).toISOString(),
    data: fromBsonKeys(doc.data as JsonValue),
    release: doc.release == null ? null : String(doc.release),
    environment: doc.environment == null ? null : String(doc.environment),
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
    state: SETTABLE_STATES.includes(doc.state as SettableState) ? (doc.state as SettableState) : null,
    stateAt: iso(doc.stateAt),
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
