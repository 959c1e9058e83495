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

import { levelName } from '../../logging/level.js';
import { oneLine } from '../../ticketing/text.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import { describeOccurrences, describeProblem, type Markup } from '../tracker/ticket-text.js';

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

/** `[LEVEL] channel: message (file:line)`, one line, capped. */
export function ticketSummary(s: OccurrenceSummary, maxLength = 250): string {
  return oneLine(`[${levelName(s.level)}] ${s.channel}: ${s.title} (${s.location})`, maxLength);
}

const WIKI: Markup = { strong: (label) => `'''${label}'''`, block };

export function ticketDescription(s: OccurrenceSummary, appId: string, hash: string): string {
  return describeProblem(WIKI, s, appId, hash, 'ticket');
}

/** A comment for occurrences since the last one; `regressed` when it reopens a closed ticket. */
export function occurrenceComment(s: OccurrenceSummary, regressed: boolean): string {
  return describeOccurrences(WIKI, s, regressed, 'ticket');
}
