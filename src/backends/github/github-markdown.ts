/**
 * GitHub-flavoured Markdown for issues and comments.
 *
 * Everything that comes from a log record goes inside fenced code blocks,
 * where GitHub renders nothing: no @mentions (no notifications), no #123
 * references, no HTML or links. A fence is one backtick longer than the
 * longest backtick run inside it, so record text cannot close it. Titles
 * cannot hold code: there `@` and `#` are kept from linking with a
 * zero-width joiner. Bodies and titles are cut to GitHub's limits with a
 * visible note, and the hidden markers always survive the cut: the
 * fingerprint (how the problem's issue is found again) and the delivery ids
 * a text is written for (how a lost answer is told from a lost write).
 */

import { levelName } from '../../logging/level.js';
import { oneLine } from '../../ticketing/text.js';
import { LogticketsError } from '../../errors.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import { deliveryMarker, describeOccurrences, describeProblem, type Markup } from '../tracker/ticket-text.js';

/** GitHub's limits: 65,536 characters for a body, 256 for a title. */
export const MAX_BODY = 65_536;
export const MAX_TITLE = 256;
const MAX_BLOCK = 20_000;
const ZWJ = '\u200D';

export function marker(hash: string): string {
  return `<!-- logtickets:fingerprint=${hash} -->`;
}

// What `deliveryIdsIn` reads back; anything else would be lost, or could close the HTML comment.
const DELIVERY_ID = /^[0-9a-fA-F-]+$/;

/** The delivery ids as an HTML comment (GitHub shows none), or '' when there are none. */
export function deliveryComment(deliveryIds: readonly string[]): string {
  if (deliveryIds.length === 0) return '';
  for (const id of deliveryIds) {
    if (typeof id !== 'string' || !DELIVERY_ID.test(id)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `deliveryIds: expected UUIDs (hex digits and dashes), got ${JSON.stringify(id)}`,
      );
    }
  }
  return `<!-- ${deliveryMarker(deliveryIds)} -->`;
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

/** Fit a body into GitHub's limit, keeping the markers (`tail`) at its end. */
function fit(body: string, tail: string): string {
  const room = MAX_BODY - tail.length - 2;
  if (tail === '' && body.length <= MAX_BODY) return body;
  if (body.length <= room) return `${body}\n\n${tail}`;
  const note = "\n\n…[this text was cut to fit GitHub's limit; the whole record is in the logtickets store]";
  let cut = body.slice(0, room - note.length - 10);
  // An unclosed fence would swallow the note: close it.
  const fences = cut.match(/^`{3,}/gm) ?? [];
  if (fences.length % 2 === 1) cut += `\n${fences[fences.length - 1]}`;
  return `${cut}${note}\n\n${tail}`;
}

const MARKDOWN: Markup = { strong: (label) => `**${label}**`, block: fenced };

/** An issue's body; the delivery ids' comment goes just before the fingerprint marker, which ends the body. */
export function issueBody(
  s: OccurrenceSummary,
  appId: string,
  hash: string,
  deliveryIds: readonly string[] = [],
): string {
  const hidden = deliveryComment(deliveryIds);
  return fit(
    describeProblem(MARKDOWN, s, appId, hash, 'issue'),
    `${hidden}${hidden === '' ? '' : '\n'}${marker(hash)}`,
  );
}

/** A comment for occurrences, ending with the delivery ids' comment when there are any. */
export function occurrenceComment(
  s: OccurrenceSummary,
  regressed: boolean,
  deliveryIds: readonly string[] = [],
): string {
  return fit(describeOccurrences(MARKDOWN, s, regressed, 'issue'), deliveryComment(deliveryIds));
}
