/**
 * Releases and environments in the MongoDB store's batch writes
 * (mongodb-record.ts), with the rules every store shares (ticket-merge.ts):
 *
 * - A batch with releases for a ticket solved in a release: the ticket is
 *   read, the rule decides, and one update applies the answer only while the
 *   ticket is still solved as read (same release, same solve); otherwise the
 *   write starts over. The usual updates leave such a ticket alone.
 * - The first and last release are kept by the count itself (`$min` and
 *   `$max` of their marks). New environments are added after the count, by
 *   conditional updates that only match a ticket with room for them; they
 *   are idempotent, so a retried batch may run them again. A new ticket
 *   gets its environments when it is created.
 */

import type { Document } from 'mongodb';
import { ticketKey, type TicketDelta } from '../batch.js';
import {
  firstEnvironments,
  markText,
  MAX_ENVIRONMENTS,
  mergeEnvironments,
  regresses,
  regressionTime,
} from '../ticket-merge.js';
import type { Collections } from './mongodb-connection.js';
import { environmentsOf } from './mongodb-documents.js';
import { readSightings, type Sightings } from './mongodb-releases.js';

const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

/** The fields a ticket `delta` creates starts with, besides its counts, state and release marks. */
export function newTicketFields(delta: TicketDelta): Document {
  return { environments: [...firstEnvironments(delta)], solvedInRelease: null };
}

/** What the count of `delta` keeps of its releases: the earliest and latest mark. */
export function markUpdates(delta: TicketDelta): { $min: Document; $max: Document } {
  return {
    $min: delta.firstRelease === null ? {} : { firstReleaseMark: markText(delta.firstRelease) },
    $max: delta.lastRelease === null ? {} : { lastReleaseMark: markText(delta.lastRelease) },
  };
}

export type ReleaseRuleResult = { readonly doc: Document; readonly regressed: boolean } | 'changed' | null;

/**
 * Count `delta` into its ticket when the ticket is solved in a release and
 * the delta has releases: `count` is the update that counts it, `reopen`
 * what a regression sets besides. Null when the ticket is not such a ticket
 * (or this batch counted it already): the usual updates apply. 'changed'
 * when the ticket changed between the read and the update.
 */
export async function countSolvedInRelease(
  c: Collections,
  delta: TicketDelta,
  batchId: string,
  graceMs: number,
  sightings: Sightings,
  count: Document,
  reopen: (at: Date) => Document,
): Promise<ReleaseRuleResult> {
  const key = { appId: delta.appId, hash: delta.hash };
  const doc = await c.tickets.findOne(key);
  if (doc === null || doc.solved !== true || doc.mutedAt != null || doc.solvedInRelease == null) return null;
  if (Array.isArray(doc.batches) && doc.batches.includes(batchId)) return null;
  const solvedIn = String(doc.solvedInRelease);
  const known = sightings.has(ticketKey(delta.appId, solvedIn))
    ? sightings
    : new Map([...sightings, ...(await readSightings(c, delta.appId, [solvedIn]))]);
  const base = { solved: true, solvedAt: iso(doc.solvedAt), mutedAt: null, solvedInRelease: solvedIn };
  const regressed = regresses(base, delta, graceMs, (release) => known.get(ticketKey(delta.appId, release)));
  const stillAsRead = {
    ...key,
    batches: { $ne: batchId },
    solved: true,
    mutedAt: null,
    solvedInRelease: solvedIn,
    solvedAt: doc.solvedAt ?? null,
  };
  const update = regressed ? { ...count, ...reopen(new Date(regressionTime(base, delta))) } : count;
  const changed = await c.tickets.findOneAndUpdate(stillAsRead, update, { returnDocument: 'after' });
  return changed === null ? 'changed' : { doc: changed, regressed };
}

/** Add the environments of `delta` a counted ticket lacks, while it has room for them. */
export async function addEnvironments(c: Collections, doc: Document, delta: TicketDelta): Promise<void> {
  const kept = environmentsOf(doc);
  const merged = mergeEnvironments(kept, delta.environments);
  for (const environment of merged?.filter((e) => !kept.includes(e)) ?? []) {
    // Only while there is room: the first environments seen are kept.
    await c.tickets.updateOne({ _id: doc._id as never, [`environments.${MAX_ENVIRONMENTS - 1}`]: { $exists: false } }, {
      $addToSet: { environments: environment },
    } as Document);
  }
}
