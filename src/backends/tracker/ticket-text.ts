/**
 * The text of a problem's ticket and of its comments, written once for every
 * tracker. A tracker supplies its markup: how to make a label strong, and a
 * block in which record text is shown literally (the block is where all
 * safety lies: nothing from a log record is ever outside one).
 */

import { LogticketsError } from '../../errors.js';
import { levelName } from '../../logging/level.js';
import type { SettableState } from '../ticket-state.js';
import type { OccurrenceSummary } from './occurrence-summary.js';
import { breadcrumbTable, deploymentLines, requestText } from './record-context.js';
import { errorText, extraOf, field, hostOf, text } from './record-fields.js';

export interface Markup {
  strong(label: string): string;
  /** Record text, shown literally whatever it contains. */
  block(content: string): string;
}

export function describeProblem(m: Markup, s: OccurrenceSummary, appId: string, hash: string, what: string): string {
  const record = s.firstRecord;
  const parts = [
    `This ${what} was opened by logtickets for a problem logged at ${levelName(s.level)} level. Later occurrences are added as comments.`,
    '',
    m.strong('Message'),
    m.block(text(field(record, 'message')) || s.title),
    m.strong('Where'),
    m.block(`${s.location}${s.function === null ? '' : ` in ${s.function}()`}\nlogger: ${s.channel}`),
  ];
  const error = errorText(record);
  if (error !== '') parts.push(m.strong('Error'), m.block(error));
  const request = requestText(record);
  if (request !== '') parts.push(m.strong('Request'), m.block(request));
  const extra = extraOf(record);
  if (extra !== undefined) parts.push(m.strong('Extra data'), m.block(text(extra)));
  const crumbs = breadcrumbTable(record);
  if (crumbs !== '') parts.push(m.strong('Breadcrumbs (what was logged before it)'), m.block(crumbs));
  const context = [
    `first seen: ${s.first}`,
    s.count > 1 ? `seen ${s.count} times until ${s.last}` : '',
    `app: ${appId}`,
    ...deploymentLines(record),
    `host: ${hostOf(record)}`,
    `fingerprint: ${hash}`,
  ];
  parts.push(m.strong('Context'), m.block(context.filter((line) => line !== '').join('\n')));
  return parts.join('\n');
}

/** A comment for occurrences since the last one; `regressed` when it reopens a closed ticket. */
export function describeOccurrences(m: Markup, s: OccurrenceSummary, regressed: boolean, what: string): string {
  const parts: string[] = [];
  if (regressed) {
    parts.push(
      `${m.strong('Regression:')} this problem occurred again after the ${what} was closed as solved, so it was reopened.`,
      '',
    );
  }
  if (s.count === 1) {
    parts.push(`${m.strong('Occurred again')} at ${s.last} (UTC).`);
  } else {
    parts.push(`${m.strong(`${s.count} more occurrences`)} between ${s.first} and ${s.last} (UTC).`);
    const lines = s.messages.map(([message, n]) => `${String(n).padStart(6)}× ${message}`);
    if (s.otherMessages > 0) lines.push(`${String(s.otherMessages).padStart(6)}× (other messages)`);
    parts.push(m.strong('Messages'), m.block(lines.join('\n')));
  }
  const record = s.latestRecord;
  const latest = [
    `message: ${text(field(record, 'message')) || s.title}`,
    `time: ${text(field(record, 'time'))}`,
    ...deploymentLines(record),
    `host: ${hostOf(record)}`,
  ];
  const error = errorText(record);
  if (error !== '') latest.push(`error: ${error.split('\n')[0]}`);
  const request = requestText(record);
  if (request !== '') latest.push(`request: ${request.split('\n')[0]}`);
  const extra = extraOf(record);
  if (extra !== undefined) latest.push(`extra: ${JSON.stringify(extra)}`);
  parts.push(m.strong(s.count === 1 ? 'Details' : 'Latest'), m.block(latest.join('\n')));
  const crumbs = breadcrumbTable(record);
  if (crumbs !== '') parts.push(m.strong('Breadcrumbs'), m.block(crumbs));
  return parts.join('\n');
}

/**
 * What a tracker says in the comment of a state change logtickets makes
 * (Trac writes one with each change; GitHub writes none, to save writes).
 */
export function stateChangeText(state: SettableState): string {
  switch (state) {
    case 'solved':
      return 'Solved in logtickets.';
    case 'muted':
      return 'Muted in logtickets: it will not be reopened.';
    case 'open':
      return 'Reopened in logtickets.';
  }
}

/**
 * The words of a hidden marker naming the deliveries a text is written for;
 * each tracker hides them in its own markup (an HTML comment, a Trac comment
 * block). `deliveryIdsIn` finds them again.
 */
export function deliveryMarker(ids: readonly string[]): string {
  return `logtickets:delivery=${ids.join(',')}`;
}

/** Every delivery id named by a marker in a text. */
export function deliveryIdsIn(text: string): string[] {
  const ids: string[] = [];
  for (const found of text.matchAll(/logtickets:delivery=([0-9a-fA-F,-]+)/g)) {
    for (const id of found[1]!.split(',')) if (id !== '') ids.push(id.toLowerCase());
  }
  return ids;
}

/** The `since` of `deliveredIn`, checked and taken down to its second (trackers keep whole seconds). */
export function sinceSecond(since: Date): Date {
  if (!(since instanceof Date) || Number.isNaN(since.getTime())) {
    throw new LogticketsError('INVALID_ARGUMENT', 'deliveredIn: since must be a valid Date');
  }
  return new Date(Math.floor(since.getTime() / 1000) * 1000);
}
