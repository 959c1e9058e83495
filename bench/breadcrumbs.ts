/**
 * Scenario: what breadcrumbs cost the caller. An INFO call below the
 * handler's level (WARNING) is not handled, but with breadcrumbs on it is
 * kept in the ring: the figures are that call with breadcrumbs on (default
 * 40; in the process-wide ring and inside a request scope), the same call
 * with breadcrumbs off (`breadcrumbs: 0`), and pino's `logger.info` writing
 * to /dev/null as the peer. The cost of adding a breadcrumb is the
 * difference between on and off; the target is ≤ 1 µs per record.
 *
 * The cases alternate, segment by segment, so that load from elsewhere on the
 * machine falls on all of them; each figure is the median over its rounds.
 * Breadcrumbs are on or off for the whole process (the largest size any
 * handler asks for), so each segment makes its own handler and closes it.
 *
 *   npm run build && node --import tsx --expose-gc bench/breadcrumbs.ts
 */

import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { runInScope } from '../src/context/scope.js';
import { Logger, MemoryBackend, TicketingHandler, type TicketingHandlerOptions } from '../src/index.js';
import { median, printFigures, type Figure } from './measure.js';

const CALLS = 2_000;
const SEGMENTS = 8;
const TARGET_US = 1;

type Case = 'on' | 'on, in a scope' | 'off' | 'pino';

export async function breadcrumbCost(rounds = 40): Promise<Figure[]> {
  const destination = pino.destination({ dest: '/dev/null', minLength: 4096, sync: false });
  await once(destination, 'ready');
  const p = pino(destination);
  const log = new Logger('shop.checkout');
  const calls: Record<Case, (i: number) => void> = {
    on: (i) => log.info('order %s: step %d done', 'A-1042', i),
    'on, in a scope': (i) => log.info('order %s: step %d done', 'A-1042', i),
    off: (i) => log.info('order %s: step %d done', 'A-1042', i),
    pino: (i) => p.info('order %s: step %d done', 'A-1042', i),
  };
  const samples: Record<Case, number[]> = { on: [], 'on, in a scope': [], off: [], pino: [] };
  const perSegment = Math.max(1, Math.ceil(rounds / SEGMENTS));
  // Warm every path up before anything is timed.
  for (const which of Object.keys(calls) as Case[]) await segment(which, calls[which], 3, []);
  for (let s = 0; s < SEGMENTS; s++) {
    for (const which of Object.keys(calls) as Case[]) await segment(which, calls[which], perSegment, samples[which]);
  }
  destination.flushSync();
  destination.end();
  await once(destination, 'close');

  const ns = (which: Case) => median(samples[which]);
  const cost = (which: Case) => Math.max(0, ns(which) - ns('off'));
  const worst = Math.max(cost('on'), cost('on, in a scope'));
  const scenario = 'breadcrumbs';
  const times = (a: Case, b: Case) => `${(ns(a) / ns(b)).toFixed(2)}× ${b}`;
  const figure = (which: Case, subject: string, note: string): Figure => ({
    scenario,
    subject,
    value: ns(which) / 1000,
    unit: 'µs/call',
    note,
  });
  return [
    { scenario, subject: 'pino logger.info → /dev/null (peer)', value: ns('pino') / 1000, unit: 'µs/call' },
    figure('off', 'INFO below the level, breadcrumbs off (breadcrumbs: 0)', times('off', 'pino')),
    figure('on', 'INFO below the level, breadcrumbs on (40)', `${times('on', 'off')}, ${times('on', 'pino')}`),
    figure(
      'on, in a scope',
      '… the same inside runInScope (a request)',
      `${times('on, in a scope', 'off')}, ${times('on, in a scope', 'pino')}`,
    ),
    {
      scenario,
      subject: 'adding a breadcrumb (on − off)',
      value: worst / 1000,
      unit: 'µs/record',
      ratio: { value: worst / 1000, label: 'µs', target: `≤ ${TARGET_US}`, met: worst / 1000 <= TARGET_US },
      note: `process ring ${(cost('on') / 1000).toFixed(3)} µs, scope ring ${(cost('on, in a scope') / 1000).toFixed(3)} µs`,
    },
  ];
}

/** `rounds` timed rounds of CALLS calls, with the handler and scope the case needs. */
async function segment(which: Case, call: (i: number) => void, rounds: number, into: number[]): Promise<void> {
  const options: TicketingHandlerOptions = {
    exitFlushMs: 0,
    onError: () => {},
    ...(which === 'off' ? { breadcrumbs: 0 } : {}),
  };
  const handler = new TicketingHandler(new MemoryBackend(), options).pushApplication();
  try {
    const timed = async () => {
      for (let r = 0; r < rounds; r++) {
        const start = process.hrtime.bigint();
        for (let i = 0; i < CALLS; i++) call(i);
        into.push(Number(process.hrtime.bigint() - start) / CALLS);
        // The loop turns between rounds, as in a service: pino's destination writes then.
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await (which === 'on, in a scope' ? runInScope({}, timed) : timed());
  } finally {
    handler.popApplication();
    await handler.close();
    (globalThis as { gc?: () => void }).gc?.();
  }
}

/** The target line, from the figures of `breadcrumbCost`. */
export function breadcrumbTargetLine(figures: readonly Figure[]): string {
  const cost = figures.find((f) => f.scenario === 'breadcrumbs' && f.unit === 'µs/record');
  if (cost === undefined) return `adding a breadcrumb ≤ ${TARGET_US} µs per record: not measured`;
  return `adding a breadcrumb ≤ ${TARGET_US} µs per record: ${cost.value <= TARGET_US ? 'met' : 'missed'} (${cost.value.toFixed(3)} µs)`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await breadcrumbCost();
  printFigures(figures);
  console.log(`\n${breadcrumbTargetLine(figures)}`);
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}`);
}
