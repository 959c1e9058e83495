/**
 * Folding a batch of occurrences into one change per ticket.
 *
 * Backends write a batch as one upsert per ticket, in a fixed order (by app id,
 * then hash) so that concurrent writers lock rows in the same order and never
 * deadlock each other.
 */

import { LogticketsError } from '../errors.js';
import type { OccurrenceInput } from './contract.js';
import { isReleaseText, MAX_RELEASE_LENGTH } from './release-text.js';

export interface TicketDelta {
  readonly hash: string;
  readonly appId: string;
  readonly level: number;
  readonly channel: string;
  readonly location: string;
  readonly function: string | null;
  /** The title of the earliest occurrence in the batch. */
  readonly title: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Occurrences this delta adds to the count. */
  readonly count: number;
  readonly occurrences: readonly OccurrenceInput[];
  /** Each release of the delta's occurrences, with the time of its earliest one. */
  readonly releases: ReadonlyMap<string, string>;
  /** The environments of its occurrences, distinct and sorted. */
  readonly environments: readonly string[];
  /** The release of its earliest occurrence that carried one (of equal times, the first name in order). */
  readonly firstRelease: ReleaseMark | null;
  /** The release of its latest occurrence that carried one (of equal times, the last name in order). */
  readonly lastRelease: ReleaseMark | null;
  /** The time of its latest occurrence without a release, or null when every one carried one. */
  readonly lastUnreleased: string | null;
}

/**
 * A release and the time of the occurrence it was seen on (ISO 8601, as
 * stores keep times). Marks are ordered by time, then by name, so that the
 * first and last release of a ticket do not depend on the order its
 * occurrences arrive in.
 */
export interface ReleaseMark {
  readonly release: string;
  readonly time: string;
}

/** Negative when mark `a` comes before `b`, positive when after, 0 when they are the same. */
export function compareMarks(a: ReleaseMark, b: ReleaseMark): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  return a.release === b.release ? 0 : a.release < b.release ? -1 : 1;
}

const HASH = /^[0-9a-f]{40}$/;
const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Reject entries no pipeline would produce, naming the field. */
export function checkOccurrence(entry: OccurrenceInput, index: number): void {
  const bad = (field: string, why: string): never => {
    throw new LogticketsError('INVALID_ARGUMENT', `occurrences[${index}].${field} ${why}`);
  };
  if (typeof entry.hash !== 'string' || !HASH.test(entry.hash)) bad('hash', 'must be 40 lowercase hex characters');
  if (typeof entry.appId !== 'string') bad('appId', 'must be a string');
  if (!Number.isInteger(entry.level)) bad('level', 'must be an integer');
  if (typeof entry.time !== 'string' || (!CANONICAL.test(entry.time) && Number.isNaN(Date.parse(entry.time)))) {
    bad('time', 'must be an ISO 8601 time');
  }
  if (entry.count !== undefined && (!Number.isInteger(entry.count) || entry.count < 1)) {
    bad('count', 'must be a positive integer');
  }
  for (const field of ['release', 'environment'] as const) {
    const value = entry[field];
    if (value !== undefined && value !== null && !isReleaseText(value)) {
      bad(field, `must be null or one line of 1 to ${MAX_RELEASE_LENGTH} characters`);
    }
  }
}

export function ticketKey(appId: string, hash: string): string {
  return `${appId}\u0000${hash}`;
}

export function groupByTicket(batch: readonly OccurrenceInput[]): TicketDelta[] {
  const groups = new Map<string, { first: OccurrenceInput; last: string; count: number; items: OccurrenceInput[] }>();
  batch.forEach((entry, index) => {
    checkOccurrence(entry, index);
    const key = ticketKey(entry.appId, entry.hash);
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { first: entry, last: entry.time, count: entry.count ?? 1, items: [entry] });
      return;
    }
    if (entry.time < group.first.time) group.first = entry;
    if (entry.time > group.last) group.last = entry.time;
    group.count += entry.count ?? 1;
    group.items.push(entry);
  });
  const deltas: TicketDelta[] = [];
  for (const { first, last, count, items } of groups.values()) {
    deltas.push({
      hash: first.hash,
      appId: first.appId,
      level: first.level,
      channel: first.channel,
      location: first.location,
      function: first.function,
      title: first.title,
      firstSeen: first.time,
      lastSeen: last,
      count,
      occurrences: items,
      ...releasesOf(items),
    });
  }
  deltas.sort((a, b) => (a.appId === b.appId ? cmp(a.hash, b.hash) : cmp(a.appId, b.appId)));
  return deltas;
}

type DeltaReleases = Pick<TicketDelta, 'releases' | 'environments' | 'firstRelease' | 'lastRelease' | 'lastUnreleased'>;

/** What a ticket's occurrences in a batch say about releases and environments. */
function releasesOf(items: readonly OccurrenceInput[]): DeltaReleases {
  const releases = new Map<string, string>();
  const environments = new Set<string>();
  let firstRelease: ReleaseMark | null = null;
  let lastRelease: ReleaseMark | null = null;
  let lastUnreleased: string | null = null;
  for (const item of items) {
    const time = isoTime(item.time);
    if (typeof item.environment === 'string') environments.add(item.environment);
    const release = item.release;
    if (typeof release !== 'string') {
      if (lastUnreleased === null || time > lastUnreleased) lastUnreleased = time;
      continue;
    }
    const earliest = releases.get(release);
    if (earliest === undefined || time < earliest) releases.set(release, time);
    const mark = { release, time };
    if (firstRelease === null || compareMarks(mark, firstRelease) < 0) firstRelease = mark;
    if (lastRelease === null || compareMarks(mark, lastRelease) > 0) lastRelease = mark;
  }
  return { releases, environments: [...environments].sort(cmp), firstRelease, lastRelease, lastUnreleased };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Normalise any ISO time to the fixed-width form every backend stores (sortable as text). */
export function isoTime(value: string | Date): string {
  if (typeof value === 'string' && CANONICAL.test(value)) return value;
  return (typeof value === 'string' ? new Date(value) : value).toISOString();
}
