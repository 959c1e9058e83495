/**
 * Scenario: a steady service that logs one error per event-loop turn (as when
 * each request logs one). What matters there is not the call alone but all the
 * main-thread time logging costs, the background writes included: that time is
 * taken from the requests. So each subject logs N errors, each in its own turn
 * (a setImmediate chain), and the event loop's busy time is measured from the
 * first turn until everything is written, per error. The event-loop delay p99
 * during the chain tells whether that time comes as stalls.
 *
 * Subjects: pino writing the same record to /dev/null (the peer), logtickets
 * with its default store (a SQLite file), and logtickets into PostgreSQL. An
 * empty chain (no logging) is shown too: each turn costs the loop something
 * by itself, which every subject pays alike.
 */

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { Logger, openBackend, TicketingHandler } from '../src/index.js';
import { median, type Figure } from './measure.js';

export interface SteadyOptions {
  /** Errors per measured chain (default 20 000). */
  readonly errors?: number;
  /** Errors logged (and written) before the first measured chain, for the JIT and the store (default 3 000). */
  readonly warmup?: number;
  /** Measured chains per subject; the median is reported (default 5). */
  readonly rounds?: number;
}

/** One subject. Only `log` (each turn) and `settle` are timed. */
interface Subject {
  readonly name: string;
  /** Makes `log` reach this subject, before each chain. */
  readonly begin: () => Promise<void>;
  readonly log: () => void;
  /** Resolves once everything logged is written. */
  readonly settle: () => Promise<void>;
  /** Undoes `begin`, after each chain. */
  readonly end: () => void;
  readonly close: () => Promise<void>;
}

const ORDER = { orderId: 'A-1042', userId: 77, amountCents: 12_999, currency: 'EUR' };
const TARGET = 3;
const MOONSHOT = 1.5;
const EMPTY = 'empty turn (no logging)';
const PINO = 'pino → /dev/null';

/**
 * `postgresUrl`: a PostgreSQL server to write into (bench/run.ts starts a
 * throwaway one); without it that subject is left out.
 */
export async function steadyService(postgresUrl?: string, options: SteadyOptions = {}): Promise<Figure[]> {
  const errors = options.errors ?? 20_000;
  const warmup = options.warmup ?? 3_000;
  const rounds = options.rounds ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-steady-'));
  const noop = async () => {};
  const subjects: Subject[] = [];
  const busy: number[][] = [];
  const delays: number[][] = [];
  try {
    subjects.push(
      { name: EMPTY, begin: noop, log: () => {}, settle: noop, end: () => {}, close: noop },
      pinoSubject(),
      // The default store with default options, as a new user gets it.
      oursSubject('logtickets → SQLite file', new TicketingHandler(`sqlite:${join(dir, 'steady.db')}`)),
    );
    if (postgresUrl !== undefined) {
      // Tables of their own, so that other scenarios on the same server do not change this one.
      const backend = openBackend(postgresUrl, { prefix: `s${randomBytes(3).toString('hex')}_` });
      subjects.push(oursSubject('logtickets → PostgreSQL', new TicketingHandler(backend, { closeBackends: true })));
    }
    for (let i = 0; i < subjects.length; i++) {
      busy.push([]);
      delays.push([]);
    }
    for (const subject of subjects) {
      await subject.begin();
      await chain(warmup, subject.log);
      await subject.settle();
      subject.end();
    }
    // Round-robin, so that a burst of load from elsewhere on the machine
    // falls on every subject rather than on one.
    for (let r = 0; r < rounds; r++) {
      for (const [i, subject] of subjects.entries()) {
        await subject.begin();
        const run = await measuredChain(errors, subject);
        busy[i]!.push(run.busyUs);
        delays[i]!.push(run.delayP99Ms);
        subject.end();
      }
    }
  } finally {
    for (const subject of subjects) await subject.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const runs = subjects.map((subject, i) => ({
    name: subject.name,
    busyUs: median(busy[i]!),
    delayP99Ms: median(delays[i]!),
  }));
  return figures(runs, errors, rounds);
}

/**
 * pino's destination is ended after each chain: its 'close' comes once every
 * buffered line has reached /dev/null, which is pino's "everything written".
 * So each chain gets a fresh destination and logger.
 */
function pinoSubject(): Subject {
  let destination: ReturnType<typeof pino.destination> | undefined;
  let p: pino.Logger | undefined;
  return {
    name: PINO,
    begin: async () => {
      // pino's fastest set-up, as in scenario (a): lines buffered up to 4 KiB, written asynchronously.
      destination = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
      await once(destination, 'ready');
      p = pino(destination);
    },
    log: () => p!.error(ORDER, 'payment %s failed', 'A-1042'),
    settle: async () => {
      const closed = once(destination!, 'close');
      destination!.end();
      await closed;
    },
    end: () => {},
    close: async () => {},
  };
}

function oursSubject(name: string, handler: TicketingHandler): Subject {
  const log = new Logger('shop.checkout');
  return {
    name,
    begin: async () => void handler.pushApplication(),
    log: () => log.error({ extra: ORDER }, 'payment %s failed', 'A-1042'),
    settle: async () => {
      if (!(await handler.flush({ timeoutMs: 60_000 }))) {
        throw new Error(`${name}: not everything was written: ${JSON.stringify(handler.stats().dropped)}`);
      }
    },
    end: () => void handler.popApplication(),
    close: () => handler.close({ timeoutMs: 10_000 }).then(() => undefined),
  };
}

/** `count` turns, each calling `fn` once; resolves after the last. */
function chain(count: number, fn: () => void): Promise<void> {
  return new Promise((resolve) => {
    let left = count;
    const turn = () => {
      fn();
      if (--left > 0) setImmediate(turn);
      else resolve();
    };
    setImmediate(turn);
  });
}

/** One chain: event-loop busy µs per error from its first turn until everything is written, and the loop delay p99 during it. */
async function measuredChain(errors: number, subject: Subject): Promise<Omit<Run, 'name'>> {
  // A collection left over from the previous chain would be billed to this one.
  (globalThis as { gc?: () => void }).gc?.();
  // A fresh histogram per chain: one disabled and enabled again would record
  // the whole pause in between as a delay (and ELD histograms cannot be added up).
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const start = performance.eventLoopUtilization();
  delay.enable();
  await chain(errors, subject.log);
  delay.disable();
  await subject.settle();
  // Only the busy time counts: waiting for PostgreSQL's answers or for a
  // worker thread leaves the loop free for requests.
  const busy = performance.eventLoopUtilization(start);
  return { busyUs: (busy.active * 1000) / errors, delayP99Ms: delay.percentile(99) / 1e6 };
}

interface Run {
  readonly name: string;
  /** Median over the chains of event-loop busy µs per error, from the first turn until everything is written. */
  readonly busyUs: number;
  /**
   * Median over the chains of the event-loop delay p99 during the chain (not
   * while it settles), in ms. The histogram records the intervals between its
   * 1 ms ticks: a loop that never stalls reads about 1 ms; a chain of empty
   * turns (some 50 ms) gives only a few dozen samples, so its p99 is its worst.
   */
  readonly delayP99Ms: number;
}

function figures(runs: readonly Run[], errors: number, rounds: number): Figure[] {
  const pinoUs = runs.find((r) => r.name === PINO)!.busyUs;
  const emptyUs = runs.find((r) => r.name === EMPTY)!.busyUs;
  const scenario = 'steady service, 1 error/turn';
  const out: Figure[] = [];
  for (const run of runs) {
    const ratio = run.busyUs / pinoUs;
    // Net of the empty turn, the ratio compares what the logging itself costs.
    const net = (run.busyUs - emptyUs) / (pinoUs - emptyUs);
    const note =
      run.name === PINO
        ? `median of ${rounds} chains of ${errors.toLocaleString('en-US')} errors, first turn until written`
        : run.name === EMPTY
          ? 'what each turn costs the loop by itself'
          : `moonshot ≤ ${MOONSHOT}× pino (${ratio <= MOONSHOT ? 'met' : 'not yet'}); net of the empty turn ${net.toFixed(1)}× pino`;
    out.push({
      scenario,
      subject: run.name,
      value: run.busyUs,
      unit: 'µs loop/error',
      ...(run.name.startsWith('logtickets')
        ? { ratio: { value: ratio, label: '× pino', target: `≤ ${TARGET}`, met: ratio <= TARGET } }
        : {}),
      note,
    });
  }
  for (const run of runs) {
    out.push({ scenario: 'steady service, loop delay p99', subject: run.name, value: run.delayP99Ms, unit: 'ms' });
  }
  return out;
}
