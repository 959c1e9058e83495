/**
 * Progress of a long CLI operation (delivering the outbox): a bar on a
 * terminal, plain lines otherwise (a log file or CI output gets a line when
 * the count changes, at most every few seconds, and a last one at the end).
 */

import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} delivered`,
        stream,
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) {
          bar.start(total, done);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(done);
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = '';
  let lastAt = 0;
  let pending = '';
  return {
    update(done, total) {
      const line = `${label}: ${done}/${total} delivered`;
      if (line === last) return;
      pending = line;
      if (Date.now() - lastAt < 2_000) return;
      stream.write(`${line}\n`);
      last = line;
      lastAt = Date.now();
    },
    stop() {
      if (pending !== '' && pending !== last) stream.write(`${pending}\n`);
    },
  };
}
