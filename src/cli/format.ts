/**
 * Small pieces of the CLI's wording: counts with the right plural, times
 * that say their zone, and an error message on one line.
 */

import { oneLine } from '../ticketing/text.js';

const IRREGULAR: Readonly<Record<string, string>> = {
  delivery: 'deliveries',
  process: 'processes',
  'shop process': 'shop processes',
};

/** `1 ticket`, `2 tickets`, `0 deliveries`. */
export function plural(n: number, singular: string, many: string = IRREGULAR[singular] ?? `${singular}s`): string {
  return `${n} ${n === 1 ? singular : many}`;
}

// TZ values that name UTC itself: shown as UTC rather than +00:00.
const UTC_NAMES = /^:?(?:Etc\/)?(?:UTC|UCT|GMT|Zulu|Universal|Z)(?:[+-]?0)?$/i;

/**
 * A time as the CLI shows it, to the second, with its zone: local time with
 * its UTC offset when TZ names a zone (`2026-11-24 10:14:03 +01:00`), else
 * UTC (`2026-11-24 09:14:03 UTC`). JSON output keeps ISO 8601 in UTC.
 * Text that is not a time is returned as it is.
 */
export function cliTime(iso: string, tz: string | undefined = process.env.TZ): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  if (tz === undefined || tz === '' || UTC_NAMES.test(tz))
    return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  const two = (n: number) => String(n).padStart(2, '0');
  // Date's local time follows TZ (Node reads it when it changes).
  const offset = -date.getTimezoneOffset();
  const zone = `${offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  return `${day} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${zone}`;
}

/**
 * An error message on one line: a stack trace that came with it is left
 * out, its other lines are joined with `; `, control characters are made
 * visible, and it is cut at 2000 characters.
 */
export function oneLineMessage(message: string): string {
  const lines = message
    .split(/\r\n|[\r\n\u2028\u2029]/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^at (.+:\d+:\d+\)?|.*\((native|index \d+)\)|.*<anonymous>\)?)$/.test(l));
  return oneLine(lines.join('; '), 2000);
}
