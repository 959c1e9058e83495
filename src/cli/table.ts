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
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => oneLine(String(c.value(row)), c.max ?? 60)));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]!))));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? pad(v, widths[i]!, true) : pad(v, widths[i]!, false)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
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
