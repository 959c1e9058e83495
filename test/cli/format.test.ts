/** The CLI's wording helpers on their own: one-line errors, zoned times, plurals, a cut from the left. */

import test from 'ava';
import { closest } from '../../src/cli/args.js';
import { cliTime, oneLineMessage, plural } from '../../src/cli/format.js';
import { cutStart } from '../../src/cli/table.js';

test('an error message with a stack trace and several lines becomes one line without the trace', (t) => {
  const error = new Error('relation "logtickets_tickets" does not exist\nDETAIL: schema "ops"');
  t.is(oneLineMessage(error.stack!), 'Error: relation "logtickets_tickets" does not exist; DETAIL: schema "ops"');
  t.is(oneLineMessage('boom\n    at async Promise.all (index 0)\n    at <anonymous>'), 'boom');
  t.is(oneLineMessage('a\r\n\r\nb\u2028c'), 'a; b; c');
  t.is(oneLineMessage('bell \u0007 and escape \u001b[2J'), 'bell \uFFFD and escape \uFFFD[2J');
});

test('times: UTC labelled as such, or the local time of TZ with its offset', (t) => {
  const at = '2025-07-01T10:00:00.000Z';
  t.is(cliTime(at, undefined), '2025-07-01 10:00:00 UTC');
  t.is(cliTime(at, ''), '2025-07-01 10:00:00 UTC');
  t.is(cliTime(at, 'Etc/UTC'), '2025-07-01 10:00:00 UTC');
  t.is(cliTime('not a time', 'Asia/Kolkata'), 'not a time');
});

test('plurals', (t) => {
  t.is(plural(1, 'delivery'), '1 delivery');
  t.is(plural(0, 'delivery'), '0 deliveries');
  t.is(plural(2, 'ticket'), '2 tickets');
  t.is(plural(1, 'occurrence'), '1 occurrence');
  t.is(plural(3, 'shop process'), '3 shop processes');
});

test('a cut from the left keeps the end, from a path separator when it can', (t) => {
  t.is(cutStart('src/a.ts:1', 36), 'src/a.ts:1');
  t.is(cutStart('packages/shop/src/checkout/pay.ts:42', 22), '…/checkout/pay.ts:42');
  t.is(cutStart('a-very-long-file-name.ts:42', 12), '…-name.ts:42');
});

test('did you mean: the nearest word, a swap of two letters counting as one edit; none when nothing is near', (t) => {
  t.is(closest('lsit', ['list', 'show', 'stats']), 'list');
  t.is(closest('lvl', ['level', 'limit']), 'level');
  t.is(closest('min', ['min-level', 'limit']), 'min-level');
  t.is(closest('x', ['to', 'db']), undefined);
  t.is(closest('frobnicate', ['list', 'show']), undefined);
});
