/**
 * Progress of a long CLI operation (delivering the outbox, importing a
 * Logbook store): a bar on a
 * terminal, plain lines otherwise (a log file or CI output gets a line when
 * the count changes, at most every few seconds, and a last one at the end).
 *
 * On a terminal the bar stays on the last line. Lines printed while it runs
 * — `log()`, and whatever else is written to its stream meanwhile, such as a
 * tracker's error reported on stderr — go above it: the bar's line is
 * cleared, the line is printed, and the bar is drawn again below it, so
 * neither is written over the other.
 */

import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  /** Print a line above the bar (without a bar: just the line). */
  log(line: string): void;
  stop(): void;
}

/** `unit`: what the counts count, after them (`3/10 delivered`). */
export function progress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  unit: string = 'delivered',
): Progress {
  if (stream.isTTY === true) return terminalBar(label, stream, unit);
  let last = '';
  let lastAt = 0;
  let pending = '';
  return {
    update(done, total) {
      const line = `${label}: ${done}/${total} ${unit}`;
      if (line === last) return;
      pending = line;
      if (Date.now() - lastAt < 2_000) return;
      stream.write(`${line}\n`);
      last = line;
      lastAt = Date.now();
    },
    log(line) {
      stream.write(line.endsWith('\n') ? line : `${line}\n`);
    },
    stop() {
      if (pending !== '' && pending !== last) stream.write(`${pending}\n`);
      last = pending;
    },
  };
}

type Write = (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;

function terminalBar(label: string, stream: NodeJS.WriteStream, unit: string): Progress {
  const write = stream.write.bind(stream) as Write;
  // The bar's line as last drawn ('' once it ended with a newline).
  let drawn = '';
  const width = () => Math.max(20, (stream.columns || 80) - 1);
  // cli-progress draws through this: always on the current line, never saving and restoring the cursor
  // (a restore after lines were printed above the bar would move it onto one of them).
  const terminal = {
    cursorSave() {},
    cursorRestore() {},
    cursor() {},
    cursorTo(x: number | null) {
      if (x === 0) write('\r');
    },
    cursorRelative() {},
    cursorRelativeReset() {
      write('\r');
    },
    clearRight() {
      write('\x1b[K');
    },
    clearLine() {
      write('\r\x1b[2K');
    },
    clearBottom() {
      write('\x1b[J');
    },
    newline() {
      write('\n');
      drawn = '';
    },
    write(text: string) {
      drawn = text.slice(0, width());
      write(drawn);
    },
    lineWrapping() {},
    isTTY: () => true,
    getWidth: width,
  };
  // The bar is narrowed (to 10 at least), then the label cut, so that the line fits the terminal.
  const newBar = (total: number) => {
    const counts = ` ${total}/${total} ${unit}`.length + 4;
    const room = width() - counts - 2;
    const name = room - label.length >= 10 ? label : `${label.slice(0, Math.max(8, room - 10) - 1)}…`;
    const barsize = Math.max(10, Math.min(30, room - name.length));
    // `terminal` is cli-progress's own option, left out of its type definitions.
    return new cliProgress.SingleBar(
      { format: `${name} [{bar}] {value}/{total} ${unit}`, clearOnComplete: false, barsize, ...{ terminal } },
      cliProgress.Presets.shades_classic,
    );
  };
  let bar: cliProgress.SingleBar | undefined;
  /** Text above the bar: clear its line, write the text (ending its line), draw the bar again. */
  const above = (chunk: string | Uint8Array, rest: unknown[]): boolean => {
    if (drawn !== '') write('\r\x1b[2K');
    const result = write(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    if (drawn !== '') {
      if (!text.endsWith('\n')) write('\n');
      write(drawn);
    }
    return result;
  };
  const own = Object.getOwnPropertyDescriptor(stream, 'write');
  let started = false;
  let stopped = false;
  return {
    update(done, total) {
      if (stopped) return;
      if (!started) {
        started = true;
        // Whoever else writes to the stream while the bar runs writes above it.
        Object.defineProperty(stream, 'write', {
          configurable: true,
          writable: true,
          value: (chunk: string | Uint8Array, ...rest: unknown[]) => above(chunk, rest),
        });
        bar = newBar(total);
        bar.start(total, done);
      } else {
        bar!.setTotal(total);
        bar!.update(done);
      }
    },
    log(line) {
      above(line.endsWith('\n') ? line : `${line}\n`, []);
    },
    stop() {
      if (!started || stopped) return;
      stopped = true;
      bar!.stop();
      if (own === undefined) delete (stream as { write?: unknown }).write;
      else Object.defineProperty(stream, 'write', own);
    },
  };
}
