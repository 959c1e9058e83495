/**
 * Scenario (d): a flood of 10,000 occurrences of 5 problems against the real
 * Trac. Counts the XML-RPC calls made (at a pass-through proxy) next to one
 * call per occurrence, and the time until everything is delivered.
 * Target: at most 2 calls per ticket per comment window.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, TicketingHandler, TrackedStore, TracTracker } from '../src/index.js';
import { startFaultProxy } from '../test/services/trac/fault-proxy.js';
import { startTrac } from '../test/services/trac/trac-server.js';
import type { Figure } from './measure.js';

const OCCURRENCES = 10_000;
const PROBLEMS = 5;
const WINDOW_MS = 3_000;
const FLOOD_MS = 8_000;

export async function tracDelivery(): Promise<Figure[]> {
  const server = await startTrac();
  const proxy = await startFaultProxy(server.url);
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-bench-trac-'));
  try {
    const backend = new TrackedStore({
      store: `sqlite:${join(dir, 'store.db')}`,
      trackers: [new TracTracker({ url: proxy.url, username: server.username, password: server.password })],
      commentIntervalMs: WINDOW_MS,
      pollIntervalMs: 200,
    });
    const handler = new TicketingHandler(backend);
    const loggers = Array.from({ length: PROBLEMS }, (_, i) => new Logger(`bench.problem${i}`));
    const started = Date.now();
    // The flood: spread over FLOOD_MS, as a failing dependency would produce it.
    const perTick = OCCURRENCES / (FLOOD_MS / 50);
    for (let sent = 0; sent < OCCURRENCES;) {
      handler.run(() => {
        for (let i = 0; i < perTick && sent < OCCURRENCES; i++, sent++)
          loggers[sent % PROBLEMS]!.error('dependency down (%d)', sent);
      });
      await new Promise((r) => setTimeout(r, 50));
    }
    await handler.flush();
    const delivered = await backend.deliverPending({ timeoutMs: 120_000 });
    const elapsed = Date.now() - started;
    await handler.close();
    await backend.close();
    const calls = proxy.totalCalls();
    // The custom-field check is made once per process, not per ticket.
    const perTicketCalls = calls - (proxy.calls.get('ticket.getTicketFields') ?? 0);
    const windows = Math.ceil(elapsed / WINDOW_MS);
    const perTicketWindow = perTicketCalls / (PROBLEMS * windows);
    return [
      { scenario: 'Trac flood', subject: 'one call per occurrence (naive)', value: OCCURRENCES, unit: 'calls' },
      {
        scenario: 'Trac flood',
        subject: `logtickets (${PROBLEMS} problems, ${WINDOW_MS / 1000} s comment window)`,
        value: calls,
        unit: 'calls',
        ratio: {
          value: perTicketWindow,
          label: 'calls per ticket per window',
          target: '≤ 2',
          met: perTicketWindow <= 2,
        },
        note: `${[...proxy.calls].map(([m, n]) => `${m} ${n}`).join(', ')} (the field check is once per process)`,
      },
      {
        scenario: 'Trac flood',
        subject: `time until all ${OCCURRENCES} delivered`,
        value: elapsed / 1000,
        unit: 's',
        note: delivered ? `flood lasted ${FLOOD_MS / 1000} s` : 'NOT all delivered',
      },
    ];
  } finally {
    await proxy.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
