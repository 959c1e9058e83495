/**
 * The progress bar of `sync` and the lines printed while it runs: on a
 * terminal (a stream that says it is one, writing into a buffer), each line
 * goes above the bar and neither is written over the other.
 */

import test from 'ava';
import { Writable } from 'node:stream';
import { progress } from '../../src/cli/progress.js';
import { screen } from './screen.js';

/** A terminal 80 columns wide: a real writable stream with isTTY, keeping what is written. */
function terminal(): { stream: NodeJS.WriteStream; output: () => string } {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  Object.assign(stream, { isTTY: true, columns: 80 });
  return { stream: stream as unknown as NodeJS.WriteStream, output: () => written };
}

const BAR = /^trac \[[█░]{30}\] \d+\/\d+ delivered$/;

test('lines written to the stream while the bar runs go above it, whole; the bar ends on its own line', (t) => {
  const { stream, output } = terminal();
  const bar = progress('trac', stream);
  bar.update(0, 4);
  // As a tracker's error is reported: straight to the stream (stderr), not through the bar.
  stream.write('logtickets: trac: BACKEND_UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:9 (deliveries wait)\n');
  bar.update(2, 4);
  bar.log('a status line');
  stream.write('a last line without its newline');
  bar.update(4, 4);
  bar.stop();
  stream.write('after the bar\n');
  const lines = screen(output());
  t.deepEqual(lines.slice(0, 3), [
    'logtickets: trac: BACKEND_UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:9 (deliveries wait)',
    'a status line',
    'a last line without its newline',
  ]);
  t.regex(lines[3]!, BAR);
  t.regex(lines[3]!, /\] 4\/4 delivered$/);
  t.is(lines[4], 'after the bar', 'the stream is its own again after stop');
  t.is(lines.length, 6);
  t.is(lines[5], '');
});

test('a bar stopped before it started writes nothing; log without a bar is a plain line', (t) => {
  const { stream, output } = terminal();
  const bar = progress('trac', stream);
  bar.log('only a line');
  bar.stop();
  t.deepEqual(screen(output()), ['only a line', '']);
});

test('a long label narrows the bar so that the line fits the terminal', (t) => {
  const { stream, output } = terminal();
  const label = 'trac:https://trac.example.org/projects/shop/login/rpc';
  const bar = progress(label, stream);
  bar.update(3, 120);
  bar.stop();
  const [line] = screen(output());
  t.true(line!.length < 80, line);
  t.true(line!.endsWith('3/120 delivered'), line);
});

test('off a terminal: plain lines, the last count at the end', (t) => {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      written += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  const bar = progress('trac', stream);
  bar.update(0, 2);
  bar.log('logtickets: trac: an error');
  bar.update(2, 2);
  bar.stop();
  t.deepEqual(written.split('\n'), ['trac: 0/2 delivered', 'logtickets: trac: an error', 'trac: 2/2 delivered', '']);
});
