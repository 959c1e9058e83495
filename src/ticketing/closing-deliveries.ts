/**
 * What a closing (or exiting) handler does for the deliveries of its
 * backends: a backend that delivers to trackers settles within the time left
 * (delivering what is due, and held digests when asked), and closes if the
 * handler owns it. Deliveries that still wait are not lost — they stay in the
 * store for a later process or `logtickets sync` — but a short-lived process
 * should know: one line on stderr says how many wait and where.
 */

import type { TicketBackend } from '../backends/contract.js';
import type { CloseOptions, DelivererStats, DeliveryReport } from '../backends/delivery-report.js';
import { maskSecrets } from '../errors.js';

/** Settle (or close, when owned) every backend within `timeoutMs`; what still waits, in all trackers. */
export async function closeBackends(
  backends: readonly TicketBackend[],
  owned: ReadonlySet<TicketBackend>,
  options: Required<CloseOptions>,
): Promise<DeliveryReport> {
  const reports = await Promise.all(
    backends.map(async (b): Promise<DeliveryReport | undefined> => {
      try {
        if (owned.has(b)) {
          const result = await b.close(options);
          return result === undefined ? undefined : result;
        }
        return await b.settle?.(options);
      } catch {
        return undefined;
      }
    }),
  );
  const trackers = reports.flatMap((r) => r?.trackers ?? []);
  return { pending: trackers.reduce((n, s) => n + s.pending, 0), trackers };
}

/** Say on stderr which trackers still have deliveries waiting, and what sends them. */
export function reportWaiting(report: DeliveryReport, deliverHeld: boolean): void {
  const waiting = report.trackers.filter((s: DelivererStats) => s.pending > 0);
  if (waiting.length === 0) return;
  const list = waiting.map((s) => `${s.pending} to ${maskSecrets(s.tracker)}`).join(', ');
  const why = deliverHeld ? '' : ' (held by comment windows, or the tracker is paused)';
  try {
    process.stderr.write(
      `logtickets: deliveries still wait in the store${why}: ${list}; a running process or \`logtickets sync\` sends them${deliverHeld ? '' : '; close({ deliverHeld: true }) sends held ones at once'}\n`,
    );
  } catch {
    // stderr is gone too: nothing more to do.
  }
}
