/**
 * What a tracker delivery carries and how the store merges it: a summary of
 * the occurrences of one problem, and the digest of several summaries (count
 * added, first and last time widened, distinct messages kept up to a cap,
 * the latest record replaced). The store merges a new delivery into the
 * problem's pending outbox row with `mergePayloads`, in the same write that
 * counts the batch.
 *
 * A delivery may also carry `sync`: a state change made in the store (solve,
 * reopen, mute, unmute) for the tracker to carry out. A payload with only
 * `sync` asks for the state alone; merged into a summary it rides along, and
 * of two the later change is kept.
 */

import type { JsonValue } from '../logging/json-safe.js';
import type { TicketDelta } from './batch.js';
import type { SettableState } from './ticket-state.js';

/** A store state change to carry out in a tracker. */
export interface StateSync {
  readonly state: SettableState;
  /** When the store made it (ISO 8601): of two, the later wins. */
  readonly at: string;
}

export interface OccurrenceSummary {
  readonly level: number;
  readonly channel: string;
  readonly location: string;
  readonly function: string | null;
  readonly title: string;
  readonly count: number;
  readonly first: string;
  readonly last: string;
  /** Distinct messages with how often each was seen (at most MAX_MESSAGES). */
  readonly messages: ReadonlyArray<readonly [string, number]>;
  /** Messages beyond MAX_MESSAGES, counted only. */
  readonly otherMessages: number;
  /** The first record of the summary, and the latest. */
  readonly firstRecord: JsonValue;
  readonly latestRecord: JsonValue;
  /** A store state change riding along (see above). */
  readonly sync?: StateSync;
}

export const MAX_MESSAGES = 10;

export function summarize(delta: TicketDelta): OccurrenceSummary {
  const counts = new Map<string, number>();
  let first = delta.occurrences[0]!;
  let latest = first;
  for (const o of delta.occurrences) {
    counts.set(o.title, (counts.get(o.title) ?? 0) + (o.count ?? 1));
    if (o.time < first.time) first = o;
    if (o.time >= latest.time) latest = o;
  }
  return capMessages({
    level: delta.level,
    channel: delta.channel,
    location: delta.location,
    function: delta.function,
    title: delta.title,
    count: delta.count,
    first: delta.firstSeen,
    last: delta.lastSeen,
    messages: [...counts],
    otherMessages: 0,
    firstRecord: first.data,
    latestRecord: latest.data,
  });
}

/** One digest for several summaries of the same problem. */
export function merge(summaries: readonly OccurrenceSummary[]): OccurrenceSummary {
  const earliest = summaries.reduce((a, b) => (b.first < a.first ? b : a));
  const latest = summaries.reduce((a, b) => (b.last >= a.last ? b : a));
  const counts = new Map<string, number>();
  let other = 0;
  for (const s of summaries) {
    for (const [message, n] of s.messages) counts.set(message, (counts.get(message) ?? 0) + n);
    other += s.otherMessages;
  }
  const { sync: _ignored, ...rest } = earliest;
  const sync = latestSync(summaries.map((s) => s.sync));
  return capMessages({
    ...rest,
    count: summaries.reduce((n, s) => n + s.count, 0),
    last: latest.last,
    messages: [...counts],
    otherMessages: other,
    latestRecord: latest.latestRecord,
    ...(sync === undefined ? {} : { sync }),
  });
}

/** The later of several state changes (undefined when there is none). */
export function latestSync(syncs: ReadonlyArray<StateSync | undefined>): StateSync | undefined {
  let latest: StateSync | undefined;
  for (const s of syncs) if (s !== undefined && (latest === undefined || s.at >= latest.at)) latest = s;
  return latest;
}

/** The payload of a delivery that only asks a tracker to carry out a state change. */
export function syncPayload(sync: StateSync): JsonValue {
  return { sync: { state: sync.state, at: sync.at } };
}

/** The state change a payload carries, if any (a summary's or a sync-only payload's). */
export function syncOf(payload: JsonValue): StateSync | undefined {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const sync = (payload as Record<string, JsonValue>).sync;
  if (sync === null || typeof sync !== 'object' || Array.isArray(sync)) return undefined;
  const { state, at } = sync as Record<string, JsonValue>;
  if ((state === 'open' || state === 'solved' || state === 'muted') && typeof at === 'string') return { state, at };
  return undefined;
}

function isSyncOnly(payload: JsonValue): boolean {
  return syncOf(payload) !== undefined && Object.keys(payload as Record<string, JsonValue>).length === 1;
}

function capMessages(s: OccurrenceSummary): OccurrenceSummary {
  if (s.messages.length <= MAX_MESSAGES) return s;
  const sorted = [...s.messages].sort((a, b) => b[1] - a[1]);
  const kept = sorted.slice(0, MAX_MESSAGES);
  const dropped = sorted.slice(MAX_MESSAGES).reduce((n, [, c]) => n + c, 0);
  return { ...s, messages: kept, otherMessages: s.otherMessages + dropped };
}

export function asSummary(payload: JsonValue): OccurrenceSummary {
  return payload as unknown as OccurrenceSummary;
}

/** Whether a payload has the shape of a summary (the store only digests those). */
export function isSummary(payload: JsonValue): boolean {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return false;
  const p = payload as Record<string, JsonValue>;
  return (
    typeof p.count === 'number' &&
    typeof p.first === 'string' &&
    typeof p.last === 'string' &&
    typeof p.otherMessages === 'number' &&
    Array.isArray(p.messages) &&
    p.messages.every((m) => Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'number')
  );
}

/**
 * The payload of a pending row after `next` joins `current`: the digest of
 * both when both are summaries, keeping the later state change of either; a
 * sync-only payload joins a summary (or another one) the same way; any other
 * payload is replaced by the newer one (the store cannot know how to add it up).
 */
export function mergePayloads(current: JsonValue, next: JsonValue): JsonValue {
  const sync = latestSync([syncOf(current), syncOf(next)]);
  const withSync = (payload: JsonValue): JsonValue =>
    sync === undefined ? payload : { ...(payload as Record<string, JsonValue>), sync: { ...sync } };
  if (isSummary(current) && isSummary(next))
    return merge([asSummary(current), asSummary(next)]) as unknown as JsonValue;
  if (isSummary(current) && isSyncOnly(next)) return withSync(current);
  if (isSyncOnly(current) && (isSummary(next) || isSyncOnly(next))) return withSync(next);
  return next;
}
