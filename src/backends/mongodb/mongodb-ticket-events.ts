/**
 * A ticket's history (analytics-rules.ts) in the MongoDB store: the
 * `…ticket_events` collection, one document per event with its ticket id.
 *
 * The store has no multi-document transactions, yet an event must be written
 * exactly when its ticket changes, even if the writer dies in between or the
 * pipeline retries the batch. So the update that changes the ticket (a state
 * change, or the reopening of a regression) also puts the event on the
 * ticket itself, under `pendingEvents.<id>` with an id drawn once. Then:
 *
 * 1. the writer copies the pending events into the collection under those
 *    ids (a copy already there is a duplicate key, and ignored), and only
 *    then takes them off the ticket, removing `pendingEvents` once empty;
 * 2. a writer that died before the copy leaves them on the ticket: the next
 *    write that reads the ticket back (a count, a state change, a retry of
 *    the batch) copies them, and until then a read of the history takes them
 *    from the ticket, so no event is lost or shown twice;
 * 3. a retried batch never reopens the ticket again (its id is on the
 *    ticket's pending batch list, mongodb-record.ts), so never adds the
 *    event again.
 */

import type { Document } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { TICKET_EVENT_KINDS, type TicketEvent, type TicketEventKind } from '../analytics.js';
import { compareEvents } from '../analytics-rules.js';
import type { Collections } from './mongodb-connection.js';
import { isDuplicateKey } from './mongodb-errors.js';

const PENDING = 'pendingEvents';

/** The `$set` that puts an event on the ticket in the update that makes it. */
export function pendingEvent(kind: TicketEventKind, at: Date, release: string | null): Document {
  return { [`${PENDING}.${randomUUID()}`]: { kind, at, release } };
}

/** The events waiting on a ticket document, as collection documents. */
function pendingOf(doc: Document): Document[] {
  const pending = doc[PENDING] as Record<string, Document> | null | undefined;
  if (pending === null || typeof pending !== 'object') return [];
  return Object.entries(pending).map(([id, e]) => ({
    _id: id,
    ticketId: Number(doc._id),
    kind: e.kind,
    at: e.at,
    release: e.release ?? null,
  }));
}

/** Copy the events waiting on a ticket (as read back by a write) into the collection, then take them off it. */
export async function flushEvents(c: Collections, doc: Document): Promise<void> {
  const events = pendingOf(doc);
  if (events.length === 0) return;
  try {
    await c.ticketEvents.insertMany(events, { ordered: false });
  } catch (error) {
    // Copied already by an earlier attempt that died before taking them off.
    if (!isDuplicateKey(error)) throw error;
  }
  const id = doc._id as never;
  const unset = Object.fromEntries(events.map((e) => [`${PENDING}.${String(e._id)}`, '']));
  await c.tickets.updateOne({ _id: id }, { $unset: unset });
  // Left empty (no other writer added one meanwhile): the ticket is as it was before.
  await c.tickets.updateOne({ _id: id, [PENDING]: {} }, { $unset: { [PENDING]: '' } });
}

/** A ticket's history: the collection's events and those still waiting on the ticket, oldest first. */
export async function readEvents(c: Collections, ticket: Document): Promise<TicketEvent[]> {
  const stored = await c.ticketEvents.find({ ticketId: Number(ticket._id) }).toArray();
  const ids = new Set(stored.map((e) => String(e._id)));
  const all = [...stored, ...pendingOf(ticket).filter((e) => !ids.has(String(e._id)))];
  return all
    .filter((e) => e.at instanceof Date && TICKET_EVENT_KINDS.includes(e.kind as TicketEventKind))
    .map((e) => ({
      ticketId: Number(e.ticketId),
      kind: e.kind as TicketEventKind,
      at: (e.at as Date).toISOString(),
      release: e.release == null ? null : String(e.release),
    }))
    .sort(compareEvents);
}
