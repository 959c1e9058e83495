/**
 * GitHub-flavoured Markdown for issues and comments.
 *
 * Everything that comes from a log record goes inside fenced code blocks,
 * where GitHub renders nothing: no @mentions (no notifications), no #123
 * references, no HTML or links. A fence is one backtick longer than the
 * longest backtick run inside it, so record text cannot close it. Titles
 * cannot hold code: there `@` and `#` are kept from linking with a
 * zero-width joiner. Bodies and titles are cut to GitHub's limits with a
 * visible note, and the fingerprint marker always survives the cut.
 */

import type { JsonValue } from '../../logging/json-safe.js';
import { levelName } from '../../logging/level.js';
import { oneLine } from '../../ticketing/text.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';

/** GitHub's limits: 65,536 characters for a body, 256 for a title. */
export const MAX_BODY = 65_536;
export const MAX_TITLE = 256;
const MAX_BLOCK = 20_000;
const ZWJ = '\u200D';

export function marker(hash: string): string {
  return `<!-- logtickets:fingerprint=${hash} -->`;
}

export function fenced(text: string): string {
  let body =
    text.length > MAX_BLOCK ? `${text.slice(0, MAX_BLOCK)}\n…[truncated ${text.length - MAX_BLOCK} chars]` : text;
  body = body.replace(/\r\n?/g, '\n');
  const longest = Math.max(0, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${body}\n${fence}`;
}

export function issueTitle(s: OccurrenceSummary): string {
  const title = oneLine(`[${levelName(s.level)}] ${s.channel}: ${s.title} (${s.location})`, MAX_TITLE - 20);
  // No mention or reference may come alive in a title.
  return title
    .replace(/@(?=\w)/g, `@${ZWJ}`)
    .replace(/#(?=\d)/g, `#${ZWJ}`)
    .slice(0, MAX_TITLE);
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
  return text(field(error, 'stack')) || `${text(field(error, 'name'))}: ${text(field(error, 'message'))}`;
}

const hasExtra = (extra: JsonValue | undefined) =>
  extra !== undefined && extra !== null && !(typeof extra === 'object' && Object.keys(extra).length === 0);

function host(record: JsonValue): string {
  const name = text(field(record, 'process', 'hostname'));
  return name === '' ? '' : `${name} (pid ${text(field(record, 'process', 'pid'))})`;
}

/** Fit a body into GitHub's limit, keeping the marker at its end. */
function fit(body: string, tail: string): string {
  const room = MAX_BODY - tail.length - 2;
  if (body.length <= room) return `${body}\n\n${tail}`;
  const note = "\n\n…[this text was cut to fit GitHub's limit; the whole record is in the logtickets store]";
  let cut = body.slice(0, room - note.length - 10);
  // An unclosed fence would swallow the note: close it.
  const fences = cut.match(/^`{3,}/gm) ?? [];
  if (fences.length % 2 === 1) cut += `\n${fences[fences.length - 1]}`;
  return `${cut}${note}\n\n${tail}`;
}

export function issueBody(s: OccurrenceSummary, appId: string, hash: string): string {
  const record = s.firstRecord;
  const parts = [
    `Opened by logtickets for a problem logged at **${levelName(s.level)}** level. Later occurrences are added as comments.`,
    '',
    '**Message**',
    fenced(text(field(record, 'message')) || s.title),
    '**Where**',
    fenced(`${s.location}${s.function === null ? '' : ` in ${s.function}()`}\nlogger: ${s.channel}`),
  ];
  const error = errorText(record);
  if (error !== '') parts.push('**Error**', fenced(error));
  const extra = field(record, 'extra');
  if (hasExtra(extra)) parts.push('**Extra data**', fenced(text(extra)));
  parts.push(
    '**Context**',
    fenced(
      [
        `first seen: ${s.first}`,
        s.count > 1 ? `seen ${s.count} times until ${s.last}` : '',
        `app: ${appId}`,
        `host: ${host(record)}`,
        `fingerprint: ${hash}`,
      ]
        .filter((line) => line !== '')
        .join('\n'),
    ),
  );
  return fit(parts.join('\n'), marker(hash));
}

export function occurrenceComment(s: OccurrenceSummary, regressed: boolean): string {
  const parts: string[] = [];
  if (regressed)
    parts.push(
      '**Regression:** this problem occurred again after the issue was closed as completed, so it was reopened.',
      '',
    );
  if (s.count === 1) {
    parts.push(`**Occurred again** at ${s.last} (UTC).`);
  } else {
    parts.push(`**${s.count} more occurrences** between ${s.first} and ${s.last} (UTC).`);
    const lines = s.messages.map(([message, n]) => `${String(n).padStart(6)}× ${message}`);
    if (s.otherMessages > 0) lines.push(`${String(s.otherMessages).padStart(6)}× (other messages)`);
    parts.push('**Messages**', fenced(lines.join('\n')));
  }
  const record = s.latestRecord;
  const latest = [
    `message: ${text(field(record, 'message')) || s.title}`,
    `time: ${text(field(record, 'time'))}`,
    `host: ${host(record)}`,
  ];
  const error = errorText(record);
  if (error !== '') latest.push(`error: ${error.split('\n')[0]}`);
  const extra = field(record, 'extra');
  if (hasExtra(extra)) latest.push(`extra: ${JSON.stringify(extra)}`);
  parts.push(s.count === 1 ? '**Details**' : '**Latest**', fenced(latest.join('\n')));
  return fit(parts.join('\n'), '');
}
