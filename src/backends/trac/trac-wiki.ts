/**
 * Trac wiki markup for tickets and comments.
 *
 * Every piece of text that comes from a log record goes inside a `{{{ … }}}`
 * preformatted block, where Trac renders nothing: no markup, macros or links.
 * The only ways out of such a block are a `}}}` that closes it, a `{{{` that
 * opens a nested one, and a `#!name` first line that picks a processor (such
 * as `#!html`); all three are broken with a zero-width space. The labels
 * around the blocks are ours.
 */

import type { JsonValue } from '../../logging/json-safe.js';
import { levelName } from '../../logging/level.js';
import { oneLine } from '../../ticketing/text.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';

const ZWSP = '\u200B';
const MAX_BLOCK = 20_000;

/** Text that stays literal inside a `{{{ }}}` block. */
export function literal(text: string): string {
  let safe = text
    .replace(/\}\}\}/g, `}${ZWSP}}}`)
    .replace(/\{\{\{/g, `{${ZWSP}{{`)
    .replace(/^(\s*)#!/gm, `$1#${ZWSP}!`);
  if (safe.length > MAX_BLOCK) safe = `${safe.slice(0, MAX_BLOCK)}\n…[truncated ${safe.length - MAX_BLOCK} chars]`;
  return safe;
}

export function block(text: string): string {
  return `{{{\n${literal(text)}\n}}}`;
}

function field(data: JsonValue, ...path: string[]): JsonValue | undefined {
  let value: JsonValue | undefined = data;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = value[key];
  }
  return value;
}

const text = (value: JsonValue | undefined): string =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value, null, 2);

function errorText(record: JsonValue): string {
  const error = field(record, 'error');
  if (error === undefined || error === null) return '';
  const stack = text(field(error, 'stack'));
  if (stack !== '') return stack;
  return `${text(field(error, 'name'))}: ${text(field(error, 'message'))}`;
}

function where(record: JsonValue): string {
  const host = text(field(record, 'process', 'hostname'));
  const pid = text(field(record, 'process', 'pid'));
  return host === '' ? '' : `${host} (pid ${pid})`;
}

/** `[LEVEL] channel: message (file:line)`, one line, capped. */
export function ticketSummary(s: OccurrenceSummary, maxLength = 250): string {
  return oneLine(`[${levelName(s.level)}] ${s.channel}: ${s.title} (${s.location})`, maxLength);
}

export function ticketDescription(s: OccurrenceSummary, appId: string, hash: string): string {
  const record = s.firstRecord;
  const parts = [
    `This ticket was opened by logtickets for a problem logged at ${levelName(s.level)} level. Later occurrences are added as comments.`,
    '',
    "'''Message'''",
    block(text(field(record, 'message')) || s.title),
    "'''Where'''",
    block(`${s.location}${s.function === null ? '' : ` in ${s.function}()`}\nlogger: ${s.channel}`),
  ];
  const error = errorText(record);
  if (error !== '') parts.push("'''Error'''", block(error));
  const extra = field(record, 'extra');
  if (extra !== undefined && extra !== null && !(typeof extra === 'object' && Object.keys(extra).length === 0)) {
    parts.push("'''Extra data'''", block(text(extra)));
  }
  parts.push(
    "'''Context'''",
    block(
      [
        `first seen: ${s.first}`,
        s.count > 1 ? `seen ${s.count} times until ${s.last}` : '',
        `app: ${appId}`,
        `host: ${where(record)}`,
        `fingerprint: ${hash}`,
      ]
        .filter((line) => line !== '')
        .join('\n'),
    ),
  );
  return parts.join('\n');
}

/** A comment for occurrences since the last one; `regressed` when it reopens a closed ticket. */
export function occurrenceComment(s: OccurrenceSummary, regressed: boolean): string {
  const parts: string[] = [];
  if (regressed)
    parts.push("'''Regression:''' this problem occurred again after the ticket was closed, so it was reopened.", '');
  if (s.count === 1) {
    parts.push(`'''Occurred again''' at ${s.last} (UTC).`);
  } else {
    parts.push(`'''${s.count} more occurrences''' between ${s.first} and ${s.last} (UTC).`);
    const lines = s.messages.map(([message, n]) => `${String(n).padStart(6)}× ${message}`);
    if (s.otherMessages > 0) lines.push(`${String(s.otherMessages).padStart(6)}× (other messages)`);
    parts.push("'''Messages'''", block(lines.join('\n')));
  }
  const record = s.latestRecord;
  const latest = [
    `message: ${text(field(record, 'message')) || s.title}`,
    `time: ${text(field(record, 'time'))}`,
    `host: ${where(record)}`,
  ];
  const error = errorText(record);
  if (error !== '') latest.push(`error: ${error.split('\n')[0]}`);
  const extra = field(record, 'extra');
  if (extra !== undefined && extra !== null && !(typeof extra === 'object' && Object.keys(extra).length === 0)) {
    latest.push(`extra: ${JSON.stringify(extra)}`);
  }
  parts.push(s.count === 1 ? "'''Details'''" : "'''Latest'''", block(latest.join('\n')));
  return parts.join('\n');
}
