/**
 * A store with known occurrences at known times, written by three OS
 * processes at once, for the dashboard's tests. The dashboard's clock is
 * pinned to NOW, so the last 7 days run from 2026-11-23T13:00Z to
 * 2026-11-30T13:00Z in hours.
 *
 *   payments  ERROR    36 occurrences (one entry folds 2), 35 of them in the last 7 days
 *   slow      WARNING  4, release 1.2.0 in production
 *   hostile   ERROR    1, a record made of markup, a javascript: URL, a bidi override, 5 MB of text
 *   muted     WARNING  2, then muted
 *   queue     ERROR    1, solved, then 1 more two days later: regressed
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { OccurrenceInput, TicketBackend } from '../../src/index.js';

const exec = promisify(execFile);

export const NOW = Date.parse('2026-11-30T12:30:00.000Z');
export const HOSTILE_TITLE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
export const BIG = 5_000_000;

const hashOf = (name: string) => createHash('sha1').update(name).digest('hex');
export const HASHES = {
  payments: hashOf('payments'),
  slow: hashOf('slow'),
  hostile: hashOf('hostile'),
  muted: hashOf('muted'),
  queue: hashOf('queue'),
} as const;

function entry(
  name: keyof typeof HASHES,
  time: string,
  message: string,
  more: Partial<OccurrenceInput> = {},
): OccurrenceInput {
  const facts = {
    payments: { level: 14, channel: 'shop.payments', location: 'src/pay.ts:42', title: 'payment failed' },
    slow: { level: 13, channel: 'db', location: 'src/db.ts:7', title: 'slow query' },
    hostile: { level: 14, channel: 'evil\u202Eredaeh', location: 'src/evil.ts:1', title: HOSTILE_TITLE },
    muted: { level: 13, channel: 'cache', location: 'src/cache.ts:3', title: 'cache miss storm' },
    queue: { level: 14, channel: 'jobs', location: 'src/queue.ts:9', title: 'queue stalled' },
  }[name];
  return {
    hash: HASHES[name],
    appId: 'shop',
    function: null,
    ...facts,
    time,
    data: { message, time, levelName: facts.level === 14 ? 'ERROR' : 'WARNING' },
    ...more,
  };
}

/** The payments problem's occurrences: what its hourly histogram must show. */
export const PAYMENTS_PER_HOUR: ReadonlyArray<readonly [string, number]> = [
  ['2026-11-27T08:00:00.000Z', 25],
  ['2026-11-28T10:00:00.000Z', 2],
  ['2026-11-29T03:00:00.000Z', 3],
  ['2026-11-30T03:00:00.000Z', 5],
];

function payments(): OccurrenceInput[] {
  const list: OccurrenceInput[] = [];
  for (let i = 0; i < 25; i++) {
    list.push(entry('payments', `2026-11-27T08:00:${String(i).padStart(2, '0')}.000Z`, `payment failed: retry ${i}`));
  }
  list.push(entry('payments', '2026-11-28T10:00:00.000Z', 'payment failed: folded', { count: 2 }));
  for (const m of [30, 31, 32]) list.push(entry('payments', `2026-11-29T03:${m}:00.000Z`, 'payment failed: timeout'));
  for (const m of [5, 10, 15, 20, 25])
    list.push(
      entry('payments', `2026-11-30T03:${String(m).padStart(2, '0')}:00.000Z`, 'payment failed: card declined'),
    );
  list.push(entry('payments', '2026-11-20T10:00:00.000Z', 'payment failed: timeout'));
  return list;
}

function others(): OccurrenceInput[] {
  const list: OccurrenceInput[] = [];
  for (const m of [0, 1, 2, 3]) {
    list.push(
      entry('slow', `2026-11-30T11:0${m}:00.000Z`, 'slow query: 2.5 s', {
        release: '1.2.0',
        environment: 'production',
      }),
    );
  }
  return list;
}

/** Recorded by the test's own process: 5 MB does not fit in a command-line argument. */
function hostile(): OccurrenceInput[] {
  const list: OccurrenceInput[] = [];
  list.push(
    entry('hostile', '2026-11-30T10:00:00.000Z', `${HOSTILE_TITLE} javascript:alert(1)`, {
      data: {
        message: `${HOSTILE_TITLE} javascript:alert(1)`,
        error: {
          name: 'Error',
          message: '<b>bold</b>',
          stack: 'Error: <svg onload="window.__pwned=4">\n    at evil (src/evil.ts:1:1)',
        },
        extra: { link: 'javascript:window.__pwned=3', rtl: '\u202Egnp.exe', big: 'x'.repeat(BIG) },
      },
    }),
  );
  return list;
}

function quiet(): OccurrenceInput[] {
  const list: OccurrenceInput[] = [];
  for (const m of [0, 5]) list.push(entry('muted', `2026-11-30T09:0${m}:00.000Z`, 'cache miss storm'));
  list.push(entry('queue', '2026-11-25T10:00:00.000Z', 'queue stalled'));
  return list;
}

/** Seed `uri` from three OS processes at once, then change states; returns the ticket ids by name. */
export async function seedDashboard(uri: string, store: TicketBackend): Promise<Record<keyof typeof HASHES, number>> {
  const all = [...payments(), ...others(), ...quiet()];
  const fixture = fileURLToPath(new URL('../fixtures/seed-occurrences.ts', import.meta.url));
  await Promise.all(
    [0, 1, 2].map((k) =>
      exec(
        process.execPath,
        ['--import', 'tsx', fixture, JSON.stringify({ uri, occurrences: all.filter((_, i) => i % 3 === k) })],
        {
          timeout: 90_000,
          maxBuffer: 1 << 20,
        },
      ),
    ),
  );
  await store.recordBatch(hostile());
  const ids = {} as Record<keyof typeof HASHES, number>;
  for (const ticket of await store.getTickets({ limit: 100, filter: {} })) {
    const name = (Object.keys(HASHES) as Array<keyof typeof HASHES>).find((n) => HASHES[n] === ticket.hash)!;
    ids[name] = ticket.id;
  }
  await store.muteTicket(ids.muted, { at: '2026-11-30T09:30:00.000Z' });
  await store.solveTicket(ids.queue, { at: '2026-11-26T00:00:00.000Z' });
  await store.recordBatch([entry('queue', '2026-11-28T12:00:00.000Z', 'queue stalled again')]);
  return ids;
}
