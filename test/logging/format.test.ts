import test from 'ava';
import { formatMessage, Level, levelName, maskSecrets, parseLevel } from '../../src/index.js';

test('printf-style placeholders', (t) => {
  t.is(formatMessage('%s paid %d (%i) = %f%%', ['ann', '12.5', 7.9, '0.25']), 'ann paid 12.5 (7) = 0.25%');
  t.is(formatMessage('obj %j and %o', [{ a: 1 }, [1, 'x']]), 'obj {"a":1} and [1,"x"]');
  t.is(formatMessage('no placeholders', []), 'no placeholders');
  t.is(formatMessage('extra args', ['a', 2]), 'extra args a 2');
  t.is(formatMessage('missing %s %s', ['one']), 'missing one %s');
  t.is(formatMessage('%s', [new RangeError('too far')]), 'RangeError: too far');
  t.is(formatMessage('%d', [10n]), '10n');
  t.is(formatMessage('%x stays', [1]), '%x stays 1');
});

test('messages stay small whatever the arguments', (t) => {
  const huge = { body: Buffer.alloc(1_000_000), list: Array.from({ length: 1_000_000 }, (_, i) => i) };
  for (const message of [
    formatMessage('request failed', [huge]),
    formatMessage('%j', [huge]),
    formatMessage('%s', [huge.list]),
    formatMessage('y'.repeat(2_000_000), []),
  ]) {
    t.true(message.length < 10_000, `${message.length} chars`);
  }
  t.regex(formatMessage('y'.repeat(9_000), []), /…\[truncated 808 chars\]$/);
});

test('formatting never throws', (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const hostile = {
    toString() {
      throw new Error('no');
    },
  };
  t.is(formatMessage('%j', [cyclic]), '{"self":"[Circular: $]"}');
  t.is(formatMessage('%s', [hostile]), '[unprintable]');
  t.is(formatMessage('%s', [Symbol('s')]), 'Symbol(s)');
  t.is(formatMessage('%j', [undefined]), 'undefined');
});

test('levels keep Logbook names and numbers', (t) => {
  t.deepEqual(Level, { CRITICAL: 15, ERROR: 14, WARNING: 13, NOTICE: 12, INFO: 11, DEBUG: 10, TRACE: 9 });
  t.is(levelName(14), 'ERROR');
  t.is(levelName(99), 'LEVEL99');
  t.is(parseLevel('warn'), 13);
  t.is(parseLevel('Error'), 14);
  t.is(parseLevel('12'), 12);
  t.is(parseLevel('loud'), undefined);
});

test('secrets in URIs and tokens are masked in messages', (t) => {
  for (const [text, secret] of [
    ['postgres://admin:s3cr/et@db.internal:5432/app', 's3cr/et'],
    ['postgres://:hunter2@[bad/x', 'hunter2'],
    ['mongodb://u:p%40ss@h/db', 'p%40ss'],
    ['Authorization: Bearer abcdefghijklmnop', 'abcdefghijklmnop'],
    ['token ghp_0123456789abcdefghijABCDEFGHIJ', 'ghp_0123456789abcdefghijABCDEFGHIJ'],
  ]) {
    t.false(maskSecrets(text!).includes(secret!), maskSecrets(text!));
  }
  t.is(maskSecrets('postgres://admin:pw@db/app'), 'postgres://admin:***@db/app');
});
