/**
 * The MongoDB store's per-tracker lease, state and write budget
 * (tracker-state.ts), one document per tracker (`_id`: the tracker):
 * - the lease is one findOneAndUpdate that only matches a free, expired or
 *   own lease, with an upsert; when it matches nothing the upsert collides
 *   with the `_id` and the lease is not acquired;
 * - a state change is an update that only matches while the caller holds an
 *   unexpired lease;
 * - the write budget keeps the times of recent writes in the document (one
 *   entry per write, pruned past the longest window), so a write is checked
 *   and recorded by one conditional update on the document's version `v`,
 *   without transactions.
 */

import type { Document } from 'mongodb';
import { LogticketsError } from '../../errors.js';
import {
  checkTtl,
  checkWindows,
  defaultTrackerState,
  longestWindow,
  nextWriteAt,
  validPatch,
  type BudgetWindow,
  type TrackerLease,
  type TrackerState,
  type TrackerStatePatch,
  type WriteGrant,
} from '../tracker-state.js';
import type { Collections } from './mongodb-connection.js';
import { isDuplicateKey } from './mongodb-errors.js';

const MAX_TAKE_ATTEMPTS = 500;
const iso = (value: unknown): string | null => (value instanceof Date ? value.toISOString() : null);

export async function acquireLease(
  c: Collections,
  tracker: string,
  owner: string,
  ttlMs: number,
  now: Date,
): Promise<boolean> {
  checkTtl(ttlMs);
  const until = new Date(now.getTime() + ttlMs);
  try {
    const doc = await c.trackers.findOneAndUpdate(
      { _id: tracker as never, $or: [{ owner }, { owner: null }, { until: { $lte: now } }] },
      { $set: { owner, until } },
      { upsert: true, returnDocument: 'after' },
    );
    return doc?.owner === owner;
  } catch (error) {
    // Held by another owner: the upsert tried to create a second document for the tracker.
    if (isDuplicateKey(error)) return false;
    throw error;
  }
}

export async function releaseLease(c: Collections, tracker: string, owner: string): Promise<void> {
  await c.trackers.updateOne({ _id: tracker as never, owner }, { $set: { owner: null, until: null } });
}

export async function readLease(c: Collections, tracker: string): Promise<TrackerLease | null> {
  const doc = await c.trackers.findOne({ _id: tracker as never }, { projection: { owner: 1, until: 1 } });
  if (doc?.owner == null || !(doc.until instanceof Date)) return null;
  return { owner: String(doc.owner), until: doc.until.toISOString() };
}

export async function readState(c: Collections, tracker: string): Promise<TrackerState> {
  const doc = await c.trackers.findOne({ _id: tracker as never }, { projection: { writes: 0 } });
  if (doc === null) return defaultTrackerState(tracker);
  return {
    tracker,
    pausedUntil: iso(doc.pausedUntil),
    failures: Number(doc.failures ?? 0),
    reason: doc.reason == null ? null : String(doc.reason),
    cursor: doc.cursor == null ? null : String(doc.cursor),
  };
}

export async function updateState(
  c: Collections,
  tracker: string,
  owner: string,
  patch: TrackerStatePatch,
  now: Date,
): Promise<boolean> {
  validPatch(patch);
  const set: Document = {};
  if (patch.pausedUntil !== undefined)
    set.pausedUntil = patch.pausedUntil === null ? null : new Date(patch.pausedUntil);
  if (patch.failures !== undefined) set.failures = patch.failures;
  if (patch.reason !== undefined) set.reason = patch.reason;
  if (patch.cursor !== undefined) set.cursor = patch.cursor;
  const filter = { _id: tracker as never, owner, until: { $gt: now } };
  if (Object.keys(set).length === 0) return (await c.trackers.countDocuments(filter)) > 0;
  const result = await c.trackers.updateOne(filter, { $set: set });
  return result.matchedCount > 0;
}

export async function takeWrite(
  name: string,
  c: Collections,
  tracker: string,
  owner: string,
  windows: readonly BudgetWindow[],
  now: Date,
): Promise<WriteGrant> {
  checkWindows(windows);
  const nowMs = now.getTime();
  const cutoff = nowMs - longestWindow(windows);
  for (let attempt = 1; attempt <= MAX_TAKE_ATTEMPTS; attempt++) {
    const doc = await c.trackers.findOne({ _id: tracker as never });
    const until = doc?.until instanceof Date ? doc.until.getTime() : nowMs;
    if (doc === null || doc.owner !== owner || until <= nowMs) {
      return { granted: false, notBefore: new Date(Math.max(nowMs, until)).toISOString() };
    }
    const times = ((doc.writes as Date[] | undefined) ?? []).map((d) => d.getTime()).filter((t) => t > cutoff);
    const at = nextWriteAt(times, windows, nowMs);
    if (at !== null) return { granted: false, notBefore: new Date(at).toISOString() };
    const kept = [...times, nowMs].sort((a, b) => a - b).map((t) => new Date(t));
    const result = await c.trackers.updateOne(
      { _id: tracker as never, owner, until: { $gt: now }, v: doc.v ?? null },
      { $set: { writes: kept }, $inc: { v: 1 } },
    );
    if (result.matchedCount > 0) return { granted: true };
    // Another write of the same owner got in between: count again.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, attempt)));
  }
  throw new LogticketsError('BACKEND_BUSY', `the write budget of ${tracker} kept changing under this take`, {
    backend: name,
    retryable: true,
  });
}
