/**
 * recordText: a record's JSON text, with breadcrumbs joined from the texts
 * kept beside them, must read back as exactly the record.
 */

import test from 'ava';
import { recordText, withJsonText } from '../../src/logging/json-text.js';
import type { JsonValue } from '../../src/logging/json-safe.js';

test('a record with kept breadcrumb texts reads back as the same value', (t) => {
  const crumb = withJsonText({ time: '2026-11-30T10:00:00.000Z', level: 'INFO', channel: 'a"b', message: 'x\u2028y' });
  t.true(Object.isFrozen(crumb));
  t.deepEqual(Object.keys(crumb), ['time', 'level', 'channel', 'message'], 'the text is not a key');
  const records: JsonValue[] = [
    { message: 'm', breadcrumbs: [crumb, crumb, { time: 't', level: 'DEBUG', channel: 'c', message: 'plain' }] },
    { breadcrumbs: [crumb] },
    { message: 'no breadcrumbs', breadcrumbs: [] },
    { message: 'none at all' },
    ['not', 'a', 'record'],
    'text',
    null,
  ];
  for (const record of records) t.deepEqual(JSON.parse(recordText(record)), record);
});
