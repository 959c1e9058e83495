/**
 * The CLI commands about a configuration rather than a store's tickets:
 * - `check-config`: the file is valid, the store answers, and each tracker is
 *   reachable, accepts the credentials and allows what logtickets does — one
 *   line per check, ok or what to fix;
 * - `test-ticket`: one synthetic record through the whole path (handler,
 *   store, outbox, trackers), then where its ticket landed;
 * - `sync`: deliver what waits in the outbox, then exit.
 */

import { isTicketStore, type TicketBackend, type TicketStore } from '../backends/contract.js';
import { ticketLinks } from '../backends/tracker/ticket-links.js';
import { openConfigured, handlerOptions, type Configured } from '../config/create-handler.js';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load-config.js';
import { LogticketsError, maskSecrets } from '../errors.js';
import { handleForeign } from '../integrations/foreign-record.js';
import { Level } from '../logging/level.js';
import { TicketingHandler } from '../ticketing/ticketing-handler.js';
import { intFlag, type Flags } from './ticket-commands.js';
import { cliTime, oneLineMessage, plural } from './format.js';
import { progress } from './progress.js';
import { chooseStore, missingSqliteFile, openStore, type CliSetup, type StoreChoice } from './store-access.js';
import { UsageError } from './usage-error.js';

export interface CommandResult {
  readonly output: string;
  readonly code: number;
}

export type { CliSetup } from './store-access.js';

function requireConfig(setup: CliSetup, command: string): string {
  if (setup.configPath === undefined) {
    throw new UsageError(`${command} needs a config file: --config PATH (or LOGTICKETS_CONFIG)`);
  }
  return setup.configPath;
}

function line(ok: boolean | 'warn', target: string, check: string, detail: string): string {
  const mark = ok === 'warn' ? 'warn' : ok ? 'ok  ' : 'FAIL';
  // One line per check, whatever a tracker or store put in its message.
  return `${mark}  ${target}: ${oneLineMessage(check)}${detail === '' ? '' : ` — ${oneLineMessage(maskSecrets(detail))}`}`;
}

function configured(loaded: LoadedConfig, setup: CliSetup): Configured {
  return openConfigured(loaded.config, {
    ...(setup.storeUri === undefined ? {} : { storeUri: setup.storeUri }),
    ...(setup.prefix === undefined ? {} : { prefix: setup.prefix }),
  });
}

export async function checkConfig(setup: CliSetup): Promise<CommandResult> {
  const path = requireConfig(setup, 'check-config');
  const lines: string[] = [];
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) {
      // A mistake in the file is exit 2, like in every other command; 1 is for live checks that fail.
      for (const problem of error.problems) lines.push(line(false, 'config', problem, ''));
      return { output: lines.join('\n'), code: 2 };
    }
    throw error;
  }
  const trackerCount = loaded.config.trackers?.length ?? 0;
  lines.push(line(true, 'config', 'valid', `${loaded.source} (${plural(trackerCount, 'tracker')})`));
  for (const secret of loaded.inlineSecrets) {
    const key = secret.replace(/^.*\./, '');
    lines.push(
      line(
        'warn',
        'config',
        `${secret} is written in the file`,
        `prefer "\${ENV_VAR}" or ${key}_file, so the file can be shared and reviewed`,
      ),
    );
  }
  let setupObjects: Configured;
  try {
    setupObjects = configured(loaded, setup);
  } catch (error) {
    lines.push(line(false, 'config', 'usable', errorText(error)));
    return { output: lines.join('\n'), code: isConfigMistake(error) ? 2 : 1 };
  }
  let failed = false;
  const { trackers, target } = setupObjects;
  try {
    const storeCheck = await checkStore(chooseStore(setup, loaded.config));
    if (storeCheck.mistake) return { output: [...lines, storeCheck.line].join('\n'), code: 2 };
    failed ||= !storeCheck.ok;
    lines.push(storeCheck.line);
    for (const { label, tracker } of trackers) {
      let checks;
      try {
        checks = await tracker.checkSetup();
      } catch (error) {
        failed = true;
        lines.push(line(false, label, 'checks', errorText(error)));
        continue;
      }
      for (const check of checks) {
        if (!check.ok) failed = true;
        lines.push(line(check.ok, label, check.name, check.detail));
      }
    }
  } finally {
    await target.close({ timeoutMs: 0 }).catch(() => undefined);
  }
  return { output: lines.join('\n'), code: failed ? 1 : 0 };
}

/**
 * The store check of check-config, on a store opened read-only: it creates
 * nothing and changes nothing. A SQLite file that is not there, or a store of
 * another program or version, fails; a database server that answers but
 * holds no logtickets store yet is a warning (a writer creates it).
 */
async function checkStore(choice: StoreChoice): Promise<{ ok: boolean; line: string; mistake?: boolean }> {
  const fail = (target: string, check: string, detail: string) => ({
    ok: false,
    line: line(false, target, check, detail),
  });
  let reader: TicketBackend;
  try {
    reader = openStore(choice, 'read');
  } catch (error) {
    // A store URI that cannot work (from --db or the environment) is a mistake in the command, not a live failure.
    return { ...fail('store', 'usable', errorText(error)), mistake: isConfigMistake(error) };
  }
  try {
    const missing = missingSqliteFile(choice.uri);
    if (missing !== undefined) {
      return fail(reader.name, 'store reachable', `no store at ${missing} (check the config's store or --db)`);
    }
    await reader.open();
    const tickets = await reader.countTickets();
    const waiting = isTicketStore(reader) ? await reader.countOutbox() : null;
    const outbox = waiting === null ? '' : `, ${plural(waiting, 'delivery')} waiting in the outbox`;
    return { ok: true, line: line(true, reader.name, 'store reachable', `${plural(tickets, 'ticket')}${outbox}`) };
  } catch (error) {
    const server = !/^sqlite:/i.test(choice.uri);
    if (error instanceof LogticketsError && error.code === 'STORE_NOT_FOUND' && server) {
      const detail = `${error.message}; the first process that logs creates it`;
      return { ok: true, line: line('warn', reader.name, 'store reachable', detail) };
    }
    return fail(reader.name, 'store reachable', errorText(error));
  } finally {
    await reader.close().catch(() => undefined);
  }
}

export async function testTicket(setup: CliSetup, flags: Flags): Promise<CommandResult> {
  const path = requireConfig(setup, 'test-ticket');
  const timeoutMs = intFlag('--timeout', flags.timeout, 60) * 1000;
  const loaded = loadConfig(path);
  const { store, trackers, target, tracked } = configured(loaded, setup);
  const handler = new TicketingHandler(target, {
    ...handlerOptions(loaded.config),
    closeBackends: true,
    exitFlushMs: 0,
  });
  const lines: string[] = [];
  let failed = false;
  try {
    const channel = 'logtickets.test-ticket';
    handleForeign(handler, {
      level: Math.max(Level.WARNING, handler.level),
      channel,
      message:
        'logtickets test ticket: a synthetic record sent by `logtickets test-ticket` to check the path to this tracker',
      extra: { sentBy: 'logtickets test-ticket', at: new Date().toISOString() },
      fingerprint: ['logtickets:test-ticket'],
    });
    if (!(await handler.flush({ timeoutMs }))) {
      const stats = handler.stats().backends[0];
      throw new LogticketsError(
        'TIMEOUT',
        `the store did not take the record within ${timeoutMs / 1000} s${stats?.lastError ? `: ${stats.lastError}` : ''}`,
      );
    }
    const [ticket] = await store.getTickets({
      filter: { channel, appId: handler.appId },
      orderBy: '-lastSeen',
      limit: 1,
    });
    if (ticket === undefined)
      throw new LogticketsError('TICKET_NOT_FOUND', 'the record was written but its ticket is not in the store');
    lines.push(
      line(true, store.name, 'stored', `ticket #${ticket.id} (${plural(ticket.occurrenceCount, 'occurrence')})`),
    );
    for (const { label, tracker } of trackers) {
      const failedBefore = tracked!.deliveryCounts(tracker.name).failed;
      const delivered = await tracked!.deliverPending({ timeoutMs, tracker: tracker.name });
      const deliveryFailed = tracked!.deliveryCounts(tracker.name).failed > failedBefore;
      const [link] = await ticketLinks(tracked!.store, [tracker], ticket);
      const where = link?.url;
      if (delivered || (where !== undefined && !deliveryFailed)) {
        // Not delivered yet but not failing: a comment waits for its ticket's comment window.
        const note = delivered ? '' : ' (this occurrence waits for the comment window; `logtickets sync` delivers it)';
        lines.push(line(true, label, 'delivered', `${where ?? '(no link)'}${note}`));
      } else {
        failed = true;
        const why = deliveryFailed
          ? 'delivery failed (the error is above; `logtickets check-config` tells what to fix)'
          : 'the tracker did not answer in time';
        lines.push(
          line(
            false,
            label,
            'delivered',
            `not delivered within ${timeoutMs / 1000} s: ${why}${where === undefined ? '' : `; the ticket is ${where}`}; it waits in the outbox`,
          ),
        );
      }
    }
  } finally {
    await handler.close({ timeoutMs: 5_000 });
  }
  return { output: lines.join('\n'), code: failed ? 1 : 0 };
}

export async function sync(setup: CliSetup, flags: Flags): Promise<CommandResult> {
  const path = requireConfig(setup, 'sync');
  const timeoutMs = intFlag('--timeout', flags.timeout, 300) * 1000;
  const loaded = loadConfig(path);
  const { trackers, target, tracked } = configured(loaded, setup);
  const lines: string[] = [];
  let failed = false;
  try {
    if (tracked === undefined) return { output: 'Nothing to sync: the config names no trackers.', code: 0 };
    // Only the store is opened: each tracker's deliveries are then sent in turn, under its own progress bar.
    await tracked.store.open();
    const outbox = tracked.store;
    // --full: every tracker's states are read first, so that a change learned from one reaches the others below.
    for (const { label, tracker } of flags.full === true ? trackers : []) {
      // Every linked ticket's state is read again: whichever process delivers to the tracker does it.
      const read = await tracked.syncAll({ tracker: tracker.name, timeoutMs });
      const polls = tracked.deliveryStats().find((s) => s.tracker === tracker.name)?.sync;
      const full = polls?.lastFull;
      lines.push(
        line(
          read,
          label,
          'states read',
          !read
            ? `not done within ${timeoutMs / 1000} s: ${await whyWaiting(outbox, tracker.name)}`
            : full === undefined
              ? 'by the process delivering to it'
              : `${plural(full.changes, 'ticket')} read, ${polls!.learned} changed here, ${full.restated} told the store's state`,
        ),
      );
      if (!read) failed = true;
    }
    for (const { label, tracker } of trackers) {
      const total = await outbox.countOutbox(tracker.name);
      if (total === 0) {
        lines.push(line(true, label, 'synced', 'nothing was waiting'));
        continue;
      }
      const bar = progress(label);
      bar.update(0, total);
      const ticker = setInterval(() => {
        void outbox.countOutbox(tracker.name).then(
          (left) => bar.update(Math.max(0, total - left), total),
          () => undefined,
        );
      }, 250);
      let done: boolean;
      let left: number;
      try {
        // sync is how short-lived processes get their held digests out: comment windows do not hold it back,
        // and a person running it after fixing a password or permission wants a try now, not after the backoff.
        done = await tracked.deliverPending({ timeoutMs, tracker: tracker.name, deliverHeld: true, retryNow: true });
        left = await outbox.countOutbox(tracker.name);
        bar.update(Math.max(0, total - left), total);
      } finally {
        clearInterval(ticker);
        // Also on an error: the bar's line is ended, and the error is printed below it.
        bar.stop();
      }
      if (done) {
        lines.push(line(true, label, 'synced', `${plural(total, 'delivery')} sent`));
      } else {
        failed = true;
        lines.push(
          line(
            false,
            label,
            'synced',
            `${left} of ${total} still waiting after ${timeoutMs / 1000} s: ${await whyWaiting(outbox, tracker.name)}`,
          ),
        );
      }
    }
    // A state change learned from one tracker during this run is queued for the others: send those too.
    const waiting = async () => {
      let n = 0;
      for (const { tracker } of trackers) n += await outbox.countOutbox(tracker.name);
      return n;
    };
    const followUps = failed ? 0 : await waiting();
    if (followUps > 0) {
      const done = await tracked.deliverPending({ timeoutMs, deliverHeld: true, retryNow: true });
      const left = await waiting();
      if (!done) failed = true;
      lines.push(
        line(
          done,
          'trackers',
          'follow-ups',
          done
            ? `${plural(followUps, 'state change')} learned during this run carried out`
            : `${left} still waiting after ${timeoutMs / 1000} s`,
        ),
      );
    }
  } finally {
    await target.close({ timeoutMs: 0 }).catch(() => undefined);
  }
  return { output: lines.join('\n'), code: failed ? 1 : 0 };
}

/** Why a tracker's deliveries still wait: its fleet-wide pause, another process delivering, or errors. */
export async function whyWaiting(store: TicketStore, tracker: string): Promise<string> {
  const [state, lease] = await Promise.all([
    store.getTrackerState(tracker).catch(() => undefined),
    store.getTrackerLease(tracker).catch(() => undefined),
  ]);
  const now = new Date().toISOString();
  if (state?.pausedUntil != null && state.pausedUntil > now)
    return `the tracker is paused for the whole fleet until ${cliTime(state.pausedUntil)} (${state.reason ?? 'backoff'}); run again later`;
  if (lease != null && lease.until > now && !lease.owner.includes(`:${process.pid}:`))
    return `another process (${lease.owner}) delivers to this tracker now and sends them as its limits allow`;
  return 'rate limits or errors (the error is above); run again, or see check-config';
}

function errorText(error: unknown): string {
  if (error instanceof LogticketsError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** Errors that are a mistake in the command line or the config file (exit 2), not a failure of a live check. */
function isConfigMistake(error: unknown): boolean {
  return (
    error instanceof LogticketsError &&
    (error.code === 'INVALID_CONFIG' ||
      error.code === 'INVALID_ARGUMENT' ||
      error.code === 'INVALID_URI' ||
      error.code === 'UNSUPPORTED_URI')
  );
}
