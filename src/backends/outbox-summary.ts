/**
 * What a tracker delivery carries and how the store merges it: a summary of
 * the occurrences of one problem, and the digest of several summaries (count
 * added, first and last time widened, distinct messages kept up to a cap,
 * the latest record replaced). The store merges a new delivery into the
 * problem's pending outbox row with `mergePayloads`, in the same write that
 * counts the batch.
 */

import type { JsonValue } from '../logging/json-safe.js';
import type { TicketDelta } from './batch.js';

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
  return capMessages({
    ...earliest,
    count: summaries.reduce((n, s) => n + s.count, 0),
    last: latest.last,
    messages: [...counts],
    otherMessages: other,
    latestRecord: latest.latestRecord,
  });
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
 * both when both are summaries; any other payload is replaced by the newer
 * one (the store cannot know how to add it up).
 */
export function mergePayloads(current: JsonValue, next: JsonValue): JsonValue {
  if (!isSummary(current) || !isSummary(next)) return next;
  return merge([asSummary(current), asSummary(next)]) as unknown as JsonValue;
}
