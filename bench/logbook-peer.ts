/**
 * Scenario: sustained ingest into SQLite through the whole pipeline, next to
 * Python Logbook's TicketingHandler (the seed of logtickets) on the same
 * workload.
 *
 * Ours: Logger → TicketingHandler → SQLite file, OCCURRENCES errors from the
 * twenty call sites of bench/call-sites.ts, logged in chunks of CHUNK with a
 * yield to the event loop between chunks (as a busy service's requests give
 * the background writer its turns), timed until `flush()` says everything is
 * written. Default handler options: when the writer falls behind, occurrences
 * past the queue are folded into counts (their record is not kept), and the
 * note says how many.
 *
 * Peer: bench/logbook_peer.py in a virtualenv under .cache/bench-venv (made
 * and filled from PyPI on first use, with the pinned versions below). Logbook
 * writes and commits each record inside the logging call, so it gets the same
 * count only if it finishes within BUDGET_S; otherwise it stops there and its
 * rate is compared (the note says how many it logged). Without python3 or the
 * packages, the peer row says why and the bench goes on.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Logger, TicketingHandler, type TicketBackend } from '../src/index.js';
import { CALL_SITES } from './call-sites.js';
import type { Figure } from './measure.js';

const OCCURRENCES = 200_000;
const CHUNK = 1_000;
/** How long Logbook may log: at a few hundred commits per second, 200,000 would take many minutes. */
const BUDGET_S = 20;
const TARGET = 100_000;
const MOONSHOT = 200_000;
const SCENARIO = 'sustained ingest, SQLite file, whole pipeline';

/**
 * Logbook 1.10.1's ticketing module is written against SQLAlchemy's 2.x API
 * (`row._mapping`, `engine.begin()`, `Session.execute`) and runs on 2.1.9;
 * Logbook up to 1.5.x called `engine.execute`, gone in SQLAlchemy 2.0, and
 * needed SQLAlchemy < 1.4 there. typing-extensions is Logbook's one dependency.
 */
const PINS = { Logbook: '1.10.1', SQLAlchemy: '2.1.9', 'typing-extensions': '4.16.0' } as const;

const root = fileURLToPath(new URL('..', import.meta.url));
const venv = join(root, '.cache', 'bench-venv');
const script = fileURLToPath(new URL('./logbook_peer.py', import.meta.url));
const run = promisify(execFile);

interface PeerResult {
  readonly logged: number;
  readonly seconds: number;
  readonly rate: number;
  readonly tickets: number;
  readonly counted: number;
  readonly logbook: string;
  readonly sqlalchemy: string;
  readonly python: string;
}

export async function logbookPeer(options: { occurrences?: number; budgetSeconds?: number } = {}): Promise<Figure[]> {
  const occurrences = options.occurrences ?? OCCURRENCES;
  const budget = options.budgetSeconds ?? BUDGET_S;
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-peer-'));
  try {
    const ours = await oursRun(occurrences, join(dir, 'ours.db'));
    const peer = await peerRun(occurrences, budget, join(dir, 'logbook.db'));
    return [peerFigure(peer, occurrences, budget), oursFigure(ours, occurrences, peer)];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface OursResult {
  readonly rate: number;
  readonly flushed: boolean;
  readonly coalesced: number;
  readonly dropped: number;
  readonly tickets: number;
  readonly counted: number;
}

async function oursRun(occurrences: number, file: string): Promise<OursResult> {
  const handler = new TicketingHandler(`sqlite:${file}`, { appId: 'bench-peer', exitFlushMs: 0 });
  const log = new Logger('shop.api');
  const store = handler.backends[0]!;
  try {
    // The store opens lazily at the first write; opened here, its tables are made before the
    // clock starts, as Logbook's handler makes them in its constructor.
    await store.open();
    const start = process.hrtime.bigint();
    for (let i = 0; i < occurrences;) {
      const end = Math.min(i + CHUNK, occurrences);
      handler.run(() => {
        for (; i < end; i++) CALL_SITES[i % CALL_SITES.length]!(log, i);
      });
      await yieldToLoop();
    }
    // A store that stops answering must not hang the bench: the row then says so.
    const flushed = await handler.flush({ timeoutMs: 300_000 });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stats = handler.stats();
    const { tickets, counted } = await countedOccurrences(store);
    return {
      rate: occurrences / seconds,
      flushed,
      coalesced: stats.coalesced,
      dropped: Object.values(stats.dropped).reduce((a, b) => a + b, 0),
      tickets,
      counted,
    };
  } finally {
    await handler.close({ timeoutMs: 2_000 });
  }
}

/** The sum of every ticket's occurrence count, through the store's API. */
async function countedOccurrences(store: TicketBackend): Promise<{ tickets: number; counted: number }> {
  const tickets = await store.countTickets();
  let counted = 0;
  for (let offset = 0; offset < tickets; offset += 500) {
    for (const ticket of await store.getTickets({ orderBy: 'id', limit: 500, offset }))
      counted += ticket.occurrenceCount;
  }
  return { tickets, counted };
}

/** Logbook's figures, or why there are none. */
async function peerRun(occurrences: number, budget: number, file: string): Promise<PeerResult | string> {
  const venvResult = await ensureVenv();
  if ('skipped' in venvResult) return venvResult.skipped;
  try {
    const { stdout } = await run(
      venvResult.python,
      ['-W', 'ignore', script, String(occurrences), String(budget), file],
      {
        timeout: (budget + 120) * 1000,
        maxBuffer: 1024 * 1024,
      },
    );
    const last = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(last) as PeerResult;
  } catch (error) {
    return `skipped: the Logbook script failed: ${why(error)}`;
  }
}

/**
 * The virtualenv's python, with the pinned packages in it (made on first use;
 * pip runs only when a version differs), or why there is none.
 */
async function ensureVenv(): Promise<{ python: string } | { skipped: string }> {
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) {
    try {
      await run('python3', ['-m', 'venv', venv], { timeout: 120_000 });
    } catch (error) {
      // A half-made virtualenv (no pip in it) would fail every later run with a less useful reason.
      rmSync(venv, { recursive: true, force: true });
      return { skipped: `skipped: no virtualenv: python3 -m venv failed: ${why(error)}` };
    }
  }
  const wanted = Object.entries(PINS).map(([name, version]) => `${name}==${version}`);
  const check = `import importlib.metadata as m; print(' '.join(n + '==' + m.version(n) for n in ${JSON.stringify(Object.keys(PINS))}))`;
  const installed = await run(python, ['-c', check], { timeout: 60_000 }).then(
    ({ stdout }) => stdout.trim(),
    () => '',
  );
  if (installed === wanted.join(' ')) return { python };
  try {
    await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...wanted], {
      timeout: 600_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { python };
  } catch (error) {
    return { skipped: `skipped: pip could not install ${wanted.join(', ')}: ${why(error)}` };
  }
}

/** The last line of a failed command's stderr (pip's and Python's verdicts are at the end), or its message. */
function why(error: unknown): string {
  const e = error as { stderr?: string; message?: string; killed?: boolean };
  if (e.killed === true) return 'timed out';
  const last = (e.stderr ?? '').trim().split('\n').at(-1);
  return (last !== undefined && last !== '' ? last : (e.message ?? String(error))).slice(0, 200);
}

function peerFigure(peer: PeerResult | string, occurrences: number, budget: number): Figure {
  const subject = 'Python Logbook TicketingHandler → SQLite file (SQLAlchemy)';
  if (typeof peer === 'string') return { scenario: SCENARIO, subject, value: 0, unit: 'occ/s', note: peer };
  const fewer =
    peer.logged < occurrences
      ? `${peer.logged.toLocaleString('en-US')} of ${occurrences.toLocaleString('en-US')} occurrences (stopped after ${budget} s; all would take ~${Math.round(occurrences / peer.rate / 60)} min)`
      : `all ${occurrences.toLocaleString('en-US')} occurrences`;
  const counts = peer.counted === peer.logged ? 'counts exact' : `COUNTED ${peer.counted}`;
  return {
    scenario: SCENARIO,
    subject,
    value: peer.rate,
    unit: 'occ/s',
    note: `${fewer} in ${peer.tickets} tickets, ${counts}; one commit per record in the logging call; Logbook ${peer.logbook}, SQLAlchemy ${peer.sqlalchemy}, Python ${peer.python}`,
  };
}

function oursFigure(ours: OursResult, occurrences: number, peer: PeerResult | string): Figure {
  const exact = ours.counted === occurrences && ours.dropped === 0 && ours.flushed;
  const met = ours.rate >= TARGET && exact;
  return {
    scenario: SCENARIO,
    subject: `logtickets: Logger → TicketingHandler → SQLite file (chunks of ${CHUNK.toLocaleString('en-US')})`,
    value: ours.rate,
    unit: 'occ/s',
    ratio:
      typeof peer === 'string'
        ? { value: ours.rate / TARGET, label: `× ${TARGET.toLocaleString('en-US')} occ/s`, target: '≥ 1', met }
        : {
            value: ours.rate / peer.rate,
            label: '× Logbook',
            target: `ours ≥ ${TARGET.toLocaleString('en-US')} occ/s`,
            met,
          },
    note:
      `moonshot ≥ ${MOONSHOT.toLocaleString('en-US')}: ${ours.rate >= MOONSHOT ? 'met' : 'missed'}; ` +
      `${occurrences.toLocaleString('en-US')} logged in ${ours.tickets} tickets, ` +
      `${exact ? 'counts exact' : `COUNTED ${ours.counted}${ours.flushed ? '' : ', flush TIMED OUT'}`}; ` +
      `${ours.coalesced.toLocaleString('en-US')} folded into counts (record not kept), ${ours.dropped} dropped`,
  };
}
