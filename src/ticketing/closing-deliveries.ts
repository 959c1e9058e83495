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

/** Why one tracker's deliveries still wait, as far as this process knows. */
function whyWaiting(s: DelivererStats, deliverHeld: boolean): string {
  if (s.pausedUntil !== null && s.pausedUntil > new Date(Date.now()).toISOString())
    return `${maskSecrets(s.tracker)} is paused until ${s.pausedUntil}: ${maskSecrets(s.reason ?? 'backoff')}`;
  if (!s.delivering) return `another process delivers to ${maskSecrets(s.tracker)}`;
  return deliverHeld ? 'not sent in time' : 'held by comment windows';
}

/** Say on stderr which trackers still have deliveries waiting, why, and what sends them. */
export function reportWaiting(report: DeliveryReport, deliverHeld: boolean): void {
  const waiting = report.trackers.filter((s: DelivererStats) => s.pending > 0);
  if (waiting.length === 0) return;
  const list = waiting.map((s) => `${s.pending} to ${maskSecrets(s.tracker)}`).join(', ');
  const why = waiting.map((s) => whyWaiting(s, deliverHeld)).join('; ');
  const hint = deliverHeld
    ? ''
    : '; close({ deliverHeld: true }) or the config key handler.deliverHeldOnClose sends held digests at once';
  try {
    process.stderr.write(
      `logtickets: deliveries still wait in the store: ${list} (${why}); a running replica or \`logtickets sync\` sends them${hint}\n`,
    );
  } catch {
    // stderr is gone too: nothing more to do.
  }
}
