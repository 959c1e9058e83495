import test from 'ava';
import { fingerprint, LogticketsError, logbookHash, type LogbookHashInput } from '../../src/index.js';

// Expected values computed with Python 3 by replaying Logbook's hash_record_raw
// (HashingHandlerMixin plus TicketingBaseHandler's salt) on a record with these
// attributes: `'%d\0' % level`, `(channel or '') + '\0'`, `filename + '\0'`,
// `str(lineno)`, then `'\0' + salt` when the salt is not None.
const base = { level: 14, channel: 'myapp', filename: '/srv/app/views.py', lineno: 42, salt: 'apphash-generic' };
const KNOWN = '40c86d6144fca10437b51b75d58f5e2955dba643';

const vectors: ReadonlyArray<[string, LogbookHashInput, string]> = [
  ['the known Logbook vector', base, KNOWN],
  [
    'channel null: Logbook writes an empty channel',
    { ...base, channel: null },
    '4cff0b4df68adeb7e7cd0877df86952376fa8c81',
  ],
  ['channel undefined', { ...base, channel: undefined }, '4cff0b4df68adeb7e7cd0877df86952376fa8c81'],
  [
    'channel left out',
    { level: 14, filename: '/srv/app/views.py', lineno: 42, salt: 'apphash-generic' },
    '4cff0b4df68adeb7e7cd0877df86952376fa8c81',
  ],
  ['channel empty: the same as none', { ...base, channel: '' }, '4cff0b4df68adeb7e7cd0877df86952376fa8c81'],
  ['channel null, salt null', { ...base, channel: null, salt: null }, '05ce799a88e5a3c1ab7ccf0fc0e3b72fc53e4edf'],
  [
    'channel null, salt undefined',
    { ...base, channel: null, salt: undefined },
    '05ce799a88e5a3c1ab7ccf0fc0e3b72fc53e4edf',
  ],
  [
    'channel null, empty salt: still a separator',
    { ...base, channel: null, salt: '' },
    'a7c1b5962e2b7e65f4646e3d9af378f716046bca',
  ],
  [
    'channel undefined, no salt',
    { level: 13, channel: undefined, filename: 'src/checkout.ts', lineno: 7 },
    '9025dabad87e4f15641fba17585f735298bf2fab',
  ],
  ['salt null: no salt at all', { ...base, salt: null }, '7ade486c4f6a88b940b1ae106b7a72ffd288b5d7'],
  ['salt undefined', { ...base, salt: undefined }, '7ade486c4f6a88b940b1ae106b7a72ffd288b5d7'],
  ['lineno null: str(None) is "None"', { ...base, lineno: null }, 'c063e1d0b7c57dd84ea40def62f8b4eda4dbf0f2'],
  ['lineno undefined', { ...base, lineno: undefined }, 'c063e1d0b7c57dd84ea40def62f8b4eda4dbf0f2'],
  [
    'lineno null, channel null, salt null',
    { ...base, channel: null, lineno: null, salt: null },
    '4c1ee13c68cfe81a77fd843a3be27c1ebbd59559',
  ],
  [
    'lineno undefined with non-ASCII text and salt',
    { level: 15, channel: null, filename: 'src/zahlung/ü.ts', lineno: undefined, salt: 'apphash-ünï' },
    'b41a51b8280cd3712aa4afbf1fa5f40907956832',
  ],
  [
    'lineno negative',
    { level: 14, channel: 'myapp', filename: 'x.py', lineno: -1 },
    'b39049203e2f16114b36e5f19015b0228d1bc0b0',
  ],
  [
    'everything empty or zero',
    { level: 9, channel: null, filename: '', lineno: 0 },
    '4c9b66a77a014497b7da1bdb6263ad97f5baaf3b',
  ],
  ["level 14.9: '%d' truncates", { ...base, level: 14.9 }, KNOWN],
  [
    "level -0.5: '%d' gives 0",
    { level: -0.5, channel: 'myapp', filename: 'x.py', lineno: 1 },
    'a9b9ac1fbb9da4940d164d52612eca8c78cd6b09',
  ],
  [
    "level 1e21: '%d' writes every digit",
    { level: 1e21, channel: 'myapp', filename: 'x.py', lineno: 1 },
    'ebe20bf96846a42de8b1641b8c019e856393b81d',
  ],
];

for (const [title, input, expected] of vectors) {
  test(`logbookHash as Logbook hashes it: ${title}`, (t) => {
    t.is(logbookHash(input), expected);
  });
}

test('a missing channel never hashes as the text null or undefined', (t) => {
  for (const channel of [null, undefined]) {
    t.not(logbookHash({ ...base, channel }), logbookHash({ ...base, channel: String(channel) }));
    t.is(logbookHash({ ...base, channel }), logbookHash({ ...base, channel: '' }));
  }
});

// Where Logbook itself raises (`'%d' % None`, `None.encode()`, `5.encode()`), there is no hash to match.
const rejected: ReadonlyArray<[string, Record<string, unknown>, RegExp]> = [
  ['level null', { ...base, level: null }, /level must be a finite number, got null/],
  ['level undefined', { ...base, level: undefined }, /level must be a finite number, got undefined/],
  ['level NaN', { ...base, level: Number.NaN }, /level must be a finite number, got NaN/],
  ['level Infinity', { ...base, level: Number.POSITIVE_INFINITY }, /level must be a finite number, got Infinity/],
  ['level as text', { ...base, level: '14' }, /level must be a finite number, got string/],
  ['filename null', { ...base, filename: null }, /filename must be a string .*got null/],
  ['filename undefined', { ...base, filename: undefined }, /filename must be a string .*got undefined/],
  ['filename a number', { ...base, filename: 7 }, /filename must be a string .*got 7/],
  ['channel a number', { ...base, channel: 5 }, /channel must be a string, null or undefined, got 5/],
  ['channel an object', { ...base, channel: { name: 'x' } }, /channel must be .*got object/],
  ['lineno NaN', { ...base, lineno: Number.NaN }, /lineno must be an integer, null or undefined, got NaN/],
  ['lineno fractional', { ...base, lineno: 4.5 }, /lineno must be an integer.*got 4\.5/],
  ['lineno as text', { ...base, lineno: '42' }, /lineno must be an integer.*got string/],
  ['salt a number', { ...base, salt: 42 }, /salt must be a string, null or undefined, got 42/],
];

for (const [title, input, message] of rejected) {
  test(`logbookHash rejects what Logbook cannot hash: ${title}`, (t) => {
    t.throws(() => logbookHash(input as never), {
      instanceOf: LogticketsError,
      code: 'INVALID_ARGUMENT',
      message,
    } as never);
  });
}

test('an input that is not an object is a typed error, for logbookHash and fingerprint alike', (t) => {
  for (const input of [null, undefined, 42, 'text']) {
    t.throws(() => logbookHash(input as never), {
      instanceOf: LogticketsError,
      message: /logbookHash: its input must be an object/,
    });
    t.throws(() => fingerprint(input as never, 'salt'), {
      instanceOf: LogticketsError,
      message: /fingerprint: its input must be an object/,
    });
  }
});
