/**
 * Conformance across processes:
 * - a process that logs and just ends (no close()) exits by itself after its
 *   exit flush, with every record in the store: no store keeps it alive;
 * - a batch whose writer died before learning its outcome (in the middle of
 *   the batch where a store has no transactions) and that is retried after
 *   more than 32 other batches of the same ticket counts exactly once.
 */

import type { TestFn } from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { OccurrenceInput, TicketBackend } from '../../src/index.js';
import { hash, occurrence, type Quirks, type WithSubject } from './backend-suite.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

// Far longer than any exit flush: a child still running then is kept alive by something.
const EXIT_DEADLINE_MS = 60_000;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runChild(file: string, arg: string, timeoutMs = EXIT_DEADLINE_MS): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', fixture(file), arg],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const e = error as (Error & { killed?: boolean }) | null;
        resolve({
          code: child.exitCode,
          signal: child.signalCode,
          stdout,
          stderr,
          timedOut: e?.killed === true,
        });
      },
    );
  });
}

export function processSuite(test: TestFn, withSubject: WithSubject, quirks: Quirks): void {
  test('log and exit without close: the process ends by itself and every record is in the store', async (t) => {
    await withSubject(async (s, b) => {
      const target = s.child === undefined ? 'memory:' : JSON.stringify(s.child);
      const run = await runChild('log-and-exit.ts', target);
      t.false(run.timedOut, `still running after ${EXIT_DEADLINE_MS / 1000} s: something kept it alive`);
      t.is(run.code, 0, run.stderr);
      const stats = JSON.parse(run.stdout) as { written: number; queued: number };
      t.like(stats, { written: 25, queued: 0 });
      if (s.child === undefined) return;
      const [ticket] = await b.getTickets();
      t.like(ticket, { channel: 'exiting', occurrenceCount: 25 });
      t.is((await b.getOccurrences(ticket!.id, { limit: 100 })).length, 25);
    })(t);
  });

  test('a batch retried after more than 32 other batches of its ticket counts once', async (t) => {
    await withSubject(async (s, b) => {
      // The hot ticket sorts first, so a writer killed after its first ticket has counted only it.
      const hot = `0${hash().slice(1)}`;
      const others = Array.from({ length: 4 }, () => `f${hash().slice(1)}`);
      const batch: OccurrenceInput[] = [
        ...[0, 1, 2].map((i) => occurrence({ hash: hot, data: { i } })),
        ...others.map((h, i) => occurrence({ hash: h, data: { other: i } })),
      ];
      const batchId = `retried-${hash()}`;
      if (s.child === undefined) {
        // One process: the batch was written, its answer lost.
        await b.recordBatch(batch, { batchId });
      } else {
        const run = await runChild(
          'partial-batch.ts',
          JSON.stringify({ ...s.child, batchId, occurrences: batch, killAfter: 1 }),
        );
        t.is(run.signal, 'SIGKILL', `the writer died mid-write: ${run.stderr}`);
        const counted = await b.getTickets({ limit: 10 });
        // All of it where a batch is one transaction; else only the hot ticket, and none of the occurrences.
        t.is(counted.length, quirks.batches === 'atomic' ? 5 : 1, 'what the first attempt wrote');
        t.true(counted.every((x) => x.occurrenceCount === (x.hash === hot ? 3 : 1)));
      }
      // The hot ticket is busy meanwhile: more batches than any per-ticket memory of batch ids would hold.
      for (let i = 0; i < 40; i++) {
        await b.recordBatch([occurrence({ hash: hot, data: { later: i } })], { batchId: `${batchId}-later-${i}` });
      }
      const outcomes = await b.recordBatch(batch, { batchId });
      t.is(outcomes.find((o) => o.hash === hot)?.occurrenceCount, 43, 'the retry did not count the hot ticket again');
      const again = await b.recordBatch(batch, { batchId });
      t.deepEqual(
        again.map((o) => o.occurrenceCount),
        outcomes.map((o) => o.occurrenceCount),
        'a second retry changes nothing',
      );
      await expectCounts(t, b, new Map([[hot, 43], ...others.map((h) => [h, 1] as const)]));
    })(t);
  });
}

async function expectCounts(
  t: { is(a: unknown, b: unknown, message?: string): void },
  b: TicketBackend,
  expected: ReadonlyMap<string, number>,
): Promise<void> {
  const tickets = await b.getTickets({ limit: 100 });
  t.is(tickets.length, expected.size, 'one ticket per fingerprint');
  for (const ticket of tickets) {
    const want = expected.get(ticket.hash);
    t.is(ticket.occurrenceCount, want, `count of ${ticket.hash}`);
    const stored = await b.getOccurrences(ticket.id, { limit: 1_000 });
    t.is(stored.length, want, `occurrences of ${ticket.hash}, each stored once`);
  }
}
