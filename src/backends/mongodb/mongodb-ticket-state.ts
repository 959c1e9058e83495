/**
 * Changing a ticket's state in the MongoDB store (ticket-state.ts): one
 * conditional findOneAndUpdate that only matches a ticket whose last change
 * is not later than this one, so of two processes changing a ticket at once
 * the later change wins, whatever order they arrive in. The stored `state`
 * (mongodb-documents.ts) is set in the same update, and so is the release
 * a ticket is solved in (cleared by any other state).
 */

import type { Document } from 'mongodb';
import { LogticketsError } from '../../errors.js';
import type { SettableState } from '../ticket-state.js';
import type { Collections } from './mongodb-connection.js';
import { newestOfApp } from './mongodb-releases.js';

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
  if (solvedIn === undefined) {
    const ticket = await c.tickets.findOne({ _id: id as never }, { projection: { appId: 1 } });
    if (ticket === null) return null;
    solvedIn = await newestOfApp(c, String(ticket.appId));
  }
  const notLater = { _id: id as never, $or: [{ stateAt: null }, { stateAt: { $lte: at } }] };
  const fields = {
    solved: state === 'solved',
    solvedAt: state === 'solved' ? at : null,
    mutedAt: state === 'muted' ? at : null,
    stateAt: at,
    solvedInRelease: solvedIn,
  };
  // Reopened at the very time of its last regression, a ticket still shows
  // as regressed (stateOf): the stored state has to say so too.
  const updates: Array<[Document, Document]> =
    state === 'open'
      ? [
          [
            { ...notLater, lastRegressionAt: { $ne: at } },
            { ...fields, state: 'open' },
          ],
          [
            { ...notLater, lastRegressionAt: at },
            { ...fields, state: 'regressed' },
          ],
        ]
      : [[notLater, { ...fields, state }]];
  for (let attempt = 0; attempt < 3; attempt++) {
    for (const [filter, set] of updates) {
      const changed = await c.tickets.findOneAndUpdate(filter, { $set: set }, { returnDocument: 'after' });
      if (changed !== null) return changed;
    }
    const current = await c.tickets.findOne({ _id: id as never });
    if (current === null) return null;
    // A later change was made: this one is ignored.
    if (current.stateAt instanceof Date && current.stateAt > at) return current;
    // Otherwise the ticket regressed between the two updates: try again.
  }
  throw new LogticketsError('BACKEND_BUSY', `ticket ${id} kept changing under this state change; will retry`, {
    backend,
    retryable: true,
  });
}
