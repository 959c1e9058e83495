/**
 * What a batch's occurrences of one ticket do to it, the same in every
 * store: whether they reopen it as a regression, and how its environments
 * and first and last releases change. Pure; each store applies the answer
 * atomically in its own way (sql-record.ts, mongodb-record.ts,
 * memory-record.ts).
 *
 * The regression rule. A solved ticket that is muted never regresses. One
 * solved without a release (or solved before releases were kept) regresses
 * when the batch's latest occurrence came after the grace window of its
 * solve, as it always did. One solved in release R regresses when
 * - an occurrence of the batch carries a release ordered after R
 *   (release-order.ts), whenever it came: the problem is back in a later
 *   release; one from R or an older release is only counted; or
 * - an occurrence without a release came after the grace window.
 * A release R that was never seen counts as first seen when the ticket was
 * solved (it matters only where names, not versions, are ordered).
 */

import { compareMarks, isoTime, type ReleaseMark, type TicketDelta } from './batch.js';
import { compareReleases } from './release-order.js';

/** A ticket keeps at most this many environments: the first ones seen. */
export const MAX_ENVIRONMENTS = 50;

/** What the regression rule reads of a ticket. */
export interface RegressionBase {
  readonly solved: boolean;
  readonly solvedAt: string | null;
  readonly mutedAt: string | null;
  readonly solvedInRelease: string | null;
}

/** What merging reads of a ticket besides: its environments and release marks. */
export interface MergeBase extends RegressionBase {
  readonly environments: readonly string[];
  readonly firstRelease: ReleaseMark | null;
  readonly lastRelease: ReleaseMark | null;
}

/** The first sighting of a release of the ticket's app, as the store keeps it (undefined: never seen). */
export type FirstSeen = (release: string) => string | undefined;

type RuleDelta = Pick<TicketDelta, 'lastSeen' | 'releases' | 'lastUnreleased'>;

export function regresses(ticket: RegressionBase, delta: RuleDelta, graceMs: number, firstSeen: FirstSeen): boolean {
  if (!ticket.solved || ticket.mutedAt !== null) return false;
  const solvedAt = ticket.solvedAt === null ? null : Date.parse(ticket.solvedAt);
  const afterGrace = (time: string) => solvedAt === null || solvedAt < Date.parse(time) - graceMs;
  const solvedIn = ticket.solvedInRelease;
  if (solvedIn === null || delta.releases.size === 0) return afterGrace(delta.lastSeen);
  if (delta.lastUnreleased !== null && afterGrace(delta.lastUnreleased)) return true;
  const solvedInSeen = firstSeen(solvedIn) ?? ticket.solvedAt ?? new Date(0).toISOString();
  for (const [release, time] of delta.releases) {
    if (compareReleases(release, solvedIn, firstSeen(release) ?? time, solvedInSeen) > 0) return true;
  }
  return false;
}

/**
 * When a regression by `delta` happened: its latest occurrence, or the solve
 * when that came later (an occurrence of a later release may predate it), so
 * that a ticket's last change never moves back in time.
 */
export function regressionTime(ticket: Pick<RegressionBase, 'solvedAt'>, delta: Pick<TicketDelta, 'lastSeen'>): string {
  const last = isoTime(delta.lastSeen);
  return ticket.solvedAt !== null && ticket.solvedAt > last ? ticket.solvedAt : last;
}

/**
 * The release a regression by `delta` is told with in the ticket's history:
 * that of its latest occurrence, the one whose time regressionTime takes (of
 * several at that time, the release of the last one that carried one, as
 * lastRelease orders them); null when none of them carried a release.
 */
export function regressionRelease(delta: Pick<TicketDelta, 'lastSeen' | 'lastRelease'>): string | null {
  const mark = delta.lastRelease;
  return mark !== null && mark.time === isoTime(delta.lastSeen) ? mark.release : null;
}

/**
 * The environments kept once `added` (sorted) are seen: those kept, and new
 * ones while there is room, sorted. Null when they stay as they are.
 */
export function mergeEnvironments(kept: readonly string[], added: readonly string[]): string[] | null {
  const have = new Set(kept);
  const fresh = added.filter((environment) => !have.has(environment));
  const room = MAX_ENVIRONMENTS - kept.length;
  if (fresh.length === 0 || room <= 0) return null;
  return [...kept, ...fresh.slice(0, room)].sort();
}

/** The first release mark once `candidate` is seen, when it replaces `current` (it comes before); else null. */
export function earlierMark(current: ReleaseMark | null, candidate: ReleaseMark | null): ReleaseMark | null {
  return candidate !== null && (current === null || compareMarks(candidate, current) < 0) ? candidate : null;
}

/** The last release mark once `candidate` is seen, when it replaces `current` (it comes after); else null. */
export function laterMark(current: ReleaseMark | null, candidate: ReleaseMark | null): ReleaseMark | null {
  return candidate !== null && (current === null || compareMarks(candidate, current) > 0) ? candidate : null;
}

/**
 * A mark as one text that sorts as marks do (its time has a fixed width):
 * how a store that can only keep a minimum or maximum of one field keeps it.
 */
export function markText(mark: ReleaseMark): string {
  return `${mark.time} ${mark.release}`;
}

/** The mark a text of markText holds, or null for anything else. */
export function fromMarkText(text: unknown): ReleaseMark | null {
  const cut = typeof text === 'string' ? text.indexOf('Z ') : -1;
  if (cut < 0) return null;
  return { time: (text as string).slice(0, cut + 1), release: (text as string).slice(cut + 2) };
}

/** What a batch changes in a ticket that exists; null fields stay as they are. */
export interface MergePlan {
  readonly regressed: boolean;
  /** When it regressed (null when it did not). */
  readonly regressedAt: string | null;
  /** The release it regressed with (regressionRelease; null when it did not, or without a release). */
  readonly regressedRelease: string | null;
  readonly environments: readonly string[] | null;
  readonly firstRelease: ReleaseMark | null;
  readonly lastRelease: ReleaseMark | null;
}

export function planMerge(ticket: MergeBase, delta: TicketDelta, graceMs: number, firstSeen: FirstSeen): MergePlan {
  const regressed = regresses(ticket, delta, graceMs, firstSeen);
  return {
    regressed,
    regressedAt: regressed ? regressionTime(ticket, delta) : null,
    regressedRelease: regressed ? regressionRelease(delta) : null,
    environments: mergeEnvironments(ticket.environments, delta.environments),
    firstRelease: earlierMark(ticket.firstRelease, delta.firstRelease),
    lastRelease: laterMark(ticket.lastRelease, delta.lastRelease),
  };
}

/** The environments a ticket that `delta` creates starts with. */
export function firstEnvironments(delta: Pick<TicketDelta, 'environments'>): readonly string[] {
  return delta.environments.slice(0, MAX_ENVIRONMENTS);
}
