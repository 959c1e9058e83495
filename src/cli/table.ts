/**
 * Aligned plain-text tables for the CLI. Cells are made one-line and free of
 * control characters first, so log text cannot move the cursor or recolour a
 * terminal.
 */

import { oneLine } from '../ticketing/text.js';

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number;
  readonly align?: 'left' | 'right';
  /** Longest cell before it is cut with an ellipsis (default 60). */
  readonly max?: number;
  /**
   * Where a long cell is cut: its end (default), or its start, for text whose
   * end matters most — a location keeps its file name and line number
   * (`…/checkout/pay.ts:42`).
   */
  readonly cut?: 'end' | 'start';
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) =>
    columns.map((c) => {
      const text = String(c.value(row));
      return c.cut === 'start' ? cutStart(oneLine(text, Infinity), c.max ?? 60) : oneLine(text, c.max ?? 60);
    }),
  );
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]!))));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? pad(v, widths[i]!, true) : pad(v, widths[i]!, false)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/**
 * Text cut from its start to at most `max` characters, the ellipsis first;
 * at a path separator when that leaves the last path segment whole.
 */
export function cutStart(text: string, max: number): string {
  if (text.length <= max) return text;
  let tail = text.slice(text.length - Math.max(0, max - 1));
  // From the first separator in it: the segments after it are whole (without one, the file name alone is too long).
  const slash = tail.search(/[/\\]/);
  if (slash > 0) tail = tail.slice(slash);
  // Never start on the second half of a surrogate pair.
  return `…${tail.replace(/^[\uDC00-\uDFFF]/, '')}`;
}

// Width in terminal columns, counting wide East Asian characters and emoji as two.
function width(text: string): number {
  let n = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    n +=
      (code >= 0x1100 && code <= 0x115f) ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe30 && code <= 0xfe4f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      (code >= 0x1f300 && code <= 0x1faff) ||
      (code >= 0x20000 && code <= 0x3fffd)
        ? 2
        : 1;
  }
  return n;
}

function pad(text: string, to: number, right: boolean): string {
  const gap = ' '.repeat(Math.max(0, to - width(text)));
  return right ? gap + text : text + gap;
}
