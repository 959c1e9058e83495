/**
 * What a terminal shows after some output: the lines of a screen without
 * scrolling, after carriage returns, line feeds and the erase sequences the
 * CLI's progress bar writes (`ESC[K`, `ESC[2K`, `ESC[J`). Other escape
 * sequences (cursor visibility, colours) change nothing here.
 */
export function screen(output: string): string[] {
  const rows: string[][] = [[]];
  let row = 0;
  let col = 0;
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!;
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      rows[row] ??= [];
    } else if (ch === '\x1b') {
      const m = /^\x1b(?:\[([?\d;]*)([A-Za-z])|[78])/.exec(output.slice(i));
      if (m === null) continue;
      i += m[0].length - 1;
      if (m[2] === 'K') rows[row]!.length = m[1] === '2' ? 0 : Math.min(rows[row]!.length, col);
      else if (m[2] === 'J') {
        rows[row]!.length = Math.min(rows[row]!.length, col);
        rows.length = row + 1;
      }
    } else {
      const line = rows[row]!;
      while (line.length < col) line.push(' ');
      line[col++] = ch;
    }
  }
  return rows.map((r) => r.join('').trimEnd());
}
