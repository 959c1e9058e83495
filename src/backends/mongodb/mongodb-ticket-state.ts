/**
 * Changing a ticket's state in the MongoDB store (ticket-state.ts). The
 * ticket is read, and one conditional findOneAndUpdate applies the change
 * only while the fields its state follows from are as read: of two processes
 * changing a ticket at once the later change wins, whatever order they
 * arrive in, and the state before the change is known exactly. That is what
 * decides the event the change adds to the ticket's history
 * (analytics-rules.ts), which the same update puts on the ticket
 * (mongodb-ticket-events.ts). The stored `state` (mongodb-documents.ts) is
 * set in the same update, and so is the release a ticket is solved in
 * (cleared by any other state).
 */

import type { Document } from 'mongodb';
import { LogticketsError } from '../../errors.js';
import { stateChangeEvent } from '../analytics-rules.js';
import { stateOf, type SettableState, type StateFields } from '../ticket-state.js';
import type { Collections } from './mongodb-connection.js';
import { newestOfApp } from './mongodb-releases.js';
import { flushEvents, pendingEvent } from './mongodb-ticket-events.js';

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

/** What a ticket document's state follows from (fields of older versions read as null). */
function stateFields(doc: Document): StateFields {
  return {
    solved: doc.solved === true,
    mutedAt: iso(doc.mutedAt),
    lastRegressionAt: iso(doc.lastRegressionAt),
    stateChangedAt: iso(doc.stateAt),
  };
}

/**
 * Apply `state` at `at` to ticket `id`, solved in `release` (undefined: the
 * newest release seen for the ticket's app). Returns the ticket after the
 * change, the ticket as it is when a later change was made already, or null
 * when there is no such ticket.
 */
export async function changeTicketState(
  backend: string,
  c: Collections,
  id: number,
  state: SettableState,
  at: Date,
  release: string | null | undefined,
): Promise<Document | null> {
  let solvedIn = state === 'solved' ? release : null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const doc = await c.tickets.findOne({ _id: id as never });
    if (doc === null) return null;
    // A later change was made: this one is ignored.
    if (doc.stateAt instanceof Date && doc.stateAt > at) return doc;
    if (solvedIn === undefined) solvedIn = await newestOfApp(c, String(doc.appId));
    const fields = {
      solved: state === 'solved',
      solvedAt: state === 'solved' ? at : null,
      mutedAt: state === 'muted' ? at : null,
      stateAt: at,
      solvedInRelease: solvedIn,
    };
    const before = stateFields(doc);
    // Reopened at the very time of its last regression, a ticket still shows as regressed (stateOf).
    const after = stateOf({
      solved: fields.solved,
      mutedAt: iso(fields.mutedAt),
      lastRegressionAt: before.lastRegressionAt,
      stateChangedAt: iso(at),
    });
    const kind = stateChangeEvent(stateOf(before), after);
    const event = kind === null ? {} : pendingEvent(kind, at, kind === 'solved' ? solvedIn : null);
    const asRead = {
      _id: id as never,
      solved: doc.solved ?? null,
      mutedAt: doc.mutedAt ?? null,
      lastRegressionAt: doc.lastRegressionAt ?? null,
      stateAt: doc.stateAt ?? null,
    };
    const changed = await c.tickets.findOneAndUpdate(
      asRead,
      { $set: { ...fields, state: after, ...event } },
      { returnDocument: 'after' },
    );
    if (changed !== null) {
      await flushEvents(c, changed);
      return changed;
    }
    // Changed (or regressed) between the read and the update: read it again.
  }
  throw new LogticketsError('BACKEND_BUSY', `ticket ${id} kept changing under this state change; will retry`, {
    backend,
    retryable: true,
  });
}
