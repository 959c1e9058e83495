/**
 * Trac wiki markup for tickets and comments.
 *
 * Every piece of text that comes from a log record goes inside a `{{{ … }}}`
 * preformatted block, where Trac renders nothing: no markup, macros or links.
 * The only ways out of such a block are a `}}}` that closes it, a `{{{` that
 * opens a nested one, and a `#!name` first line that picks a processor (such
 * as `#!html`); all three are broken with a zero-width space. The labels
 * around the blocks are ours.
 *
 * The delivery ids a text is written for go at its end in a `#!comment`
 * block, which Trac does not render. Since record text can never open a
 * block of its own (see above), only logtickets can write such a block, and
 * only those blocks are read back when looking for the ids.
 */

import { LogticketsError } from '../../errors.js';
import { levelName } from '../../logging/level.js';
import { oneLine } from '../../ticketing/text.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import {
  deliveryIdsIn,
  deliveryMarker,
  describeOccurrences,
  describeProblem,
  stateChangeText,
  type Markup,
} from '../tracker/ticket-text.js';
import type { SettableState } from '../ticket-state.js';

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

export function ticketDescription(
  s: OccurrenceSummary,
  appId: string,
  hash: string,
  deliveryIds: readonly string[] = [],
): string {
  return withDeliveryIds(describeProblem(WIKI, s, appId, hash, 'ticket'), deliveryIds);
}

/** A comment for occurrences since the last one; `regressed` when it reopens a closed ticket. */
export function occurrenceComment(
  s: OccurrenceSummary,
  regressed: boolean,
  deliveryIds: readonly string[] = [],
): string {
  return withDeliveryIds(describeOccurrences(WIKI, s, regressed, 'ticket'), deliveryIds);
}

/** The comment of a state change made by logtickets (solved, muted, reopened). */
export function stateComment(state: SettableState, deliveryIds: readonly string[] = []): string {
  return withDeliveryIds(stateChangeText(state), deliveryIds);
}

// What `deliveryIdsIn` can read back: an id with anything else would be lost, or could break out of the block.
const DELIVERY_ID = /^[0-9a-fA-F-]+$/;

/** The text with a hidden block naming `deliveryIds` at its end (unchanged when there are none). */
export function withDeliveryIds(text: string, deliveryIds: readonly string[]): string {
  if (deliveryIds.length === 0) return text;
  for (const id of deliveryIds) {
    if (typeof id !== 'string' || !DELIVERY_ID.test(id)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `deliveryIds: expected UUIDs (hex digits and dashes), got ${JSON.stringify(id)}`,
      );
    }
  }
  return `${text}\n{{{#!comment\n${deliveryMarker(deliveryIds)}\n}}}`;
}

const HIDDEN = /^\{\{\{#!comment\n([^]*?)\n\}\}\}$/gm;

/** The delivery ids (lower case) named in the hidden blocks of a text. */
export function deliveryIdsOf(text: string): string[] {
  const ids: string[] = [];
  for (const found of text.replace(/\r\n/g, '\n').matchAll(HIDDEN)) ids.push(...deliveryIdsIn(found[1]!));
  return ids;
}
