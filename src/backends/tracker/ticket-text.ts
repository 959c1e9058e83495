/**
 * The text of a problem's ticket and of its comments, written once for every
 * tracker. A tracker supplies its markup: how to make a label strong, and a
 * block in which record text is shown literally (the block is where all
 * safety lies: nothing from a log record is ever outside one).
 */

import { levelName } from '../../logging/level.js';
import type { OccurrenceSummary } from './occurrence-summary.js';
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
  const extra = extraOf(record);
  if (extra !== undefined) parts.push(m.strong('Extra data'), m.block(text(extra)));
  const context = [
    `first seen: ${s.first}`,
    s.count > 1 ? `seen ${s.count} times until ${s.last}` : '',
    `app: ${appId}`,
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
    `host: ${hostOf(record)}`,
  ];
  const error = errorText(record);
  if (error !== '') latest.push(`error: ${error.split('\n')[0]}`);
  const extra = extraOf(record);
  if (extra !== undefined) latest.push(`extra: ${JSON.stringify(extra)}`);
  parts.push(m.strong(s.count === 1 ? 'Details' : 'Latest'), m.block(latest.join('\n')));
  return parts.join('\n');
}
