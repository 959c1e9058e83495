/**
 * `logtickets serve` and `logtickets report`: the dashboard (src/web/) over
 * the CLI's store. Both read the store only — serve opens it read-only unless
 * `--allow-writes` — and take the list's filters as flags, which become the
 * dashboard's URL parameters.
 */

import { writeFileSync } from 'node:fs';
import { isAnalytics } from '../backends/analytics.js';
import type { TicketBackend } from '../backends/contract.js';
import type { LinkedTracker } from '../backends/tracker/ticket-links.js';
import { ApiError } from '../web/api-error.js';
import type { DashboardStore } from '../web/api.js';
import { buildReport } from '../web/report.js';
import { startDashboard } from '../web/server.js';
import type { Flags } from './ticket-commands.js';
import { UsageError } from './usage-error.js';

function dashboardStore(backend: TicketBackend): DashboardStore {
  if (!isAnalytics(backend))
    throw new UsageError(`the store ${backend.name} cannot aggregate occurrences for the dashboard`);
  return backend as DashboardStore;
}

/** The list's flags as dashboard parameters. */
export function flagParams(flags: Flags): URLSearchParams {
  const params = new URLSearchParams();
  const copy: ReadonlyArray<readonly [string, string]> = [
    ['state', 'state'],
    ['level', 'min-level'],
    ['app', 'app'],
    ['channel', 'channel'],
    ['release', 'release'],
    ['environment', 'environment'],
    ['q', 'search'],
    ['period', 'period'],
    ['from', 'from'],
    ['to', 'to'],
    ['sort', 'order'],
  ];
  for (const [param, flag] of copy) {
    const value = flags[flag];
    if (typeof value === 'string') params.set(param, value);
  }
  if (typeof flags.level === 'string') params.set('level', flags.level);
  if (flags.open === true) params.set('state', 'open,regressed');
  if (flags.solved === true) params.set('state', 'solved');
  if (flags.muted === true) params.set('state', 'muted');
  return params;
}

export function portFlag(value: string | boolean | undefined): number {
  if (value === undefined) return 7070;
  if (typeof value !== 'string' || !/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`--port must be a port number from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** Serve until SIGINT or SIGTERM; resolves once the server is closed. */
export async function serve(
  backend: TicketBackend,
  flags: Flags,
  trackers: readonly LinkedTracker[],
  write: (line: string) => void,
): Promise<void> {
  const token = typeof flags.token === 'string' ? flags.token : process.env.LOGTICKETS_TOKEN || undefined;
  const dashboard = await startDashboard({
    store: dashboardStore(backend),
    trackers,
    host: typeof flags.host === 'string' ? flags.host : '127.0.0.1',
    port: portFlag(flags.port),
    allowWrites: flags['allow-writes'] === true,
    ...(token === undefined ? {} : { token }),
  });
  const mode = flags['allow-writes'] === true ? 'solve, reopen and mute allowed' : 'read-only';
  const login = token === undefined ? '' : ' (open it once with ?token=… to sign in)';
  write(`logtickets dashboard on ${dashboard.url}${login}, ${mode}; Ctrl-C stops it`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await dashboard.close();
}

export async function report(
  backend: TicketBackend,
  flags: Flags,
  trackers: readonly LinkedTracker[],
): Promise<string> {
  const out = flags.out;
  if (typeof out !== 'string' || out === '') throw new UsageError('report needs --out FILE (the HTML file to write)');
  let html: string;
  try {
    html = await buildReport({ store: dashboardStore(backend), trackers, params: flagParams(flags) });
  } catch (error) {
    // A bad --period, --from or --state: the same words the dashboard answers with.
    if (error instanceof ApiError && error.status === 400) throw new UsageError(error.message);
    throw error;
  }
  writeFileSync(out, html);
  return `wrote ${out} (${Math.round(Buffer.byteLength(html) / 1024)} KB): open it in a browser, no network needed`;
}
