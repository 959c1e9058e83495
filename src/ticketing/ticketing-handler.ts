/**
 * The TicketingHandler: turns log records into tickets in one or more
 * backends.
 *
 * In the logging call it only captures the record (see occurrence.ts) and
 * puts it on each backend's queue; a BackendWriter per backend writes in the
 * background. A slow or dead backend never holds up the others, and nothing
 * here throws into the application.
 */

import { DEFAULT_BREADCRUMBS, releaseBreadcrumbs, requestBreadcrumbs } from '../context/breadcrumbs.js';
import { resolveDeployment } from '../context/release.js';
import { LogticketsError, maskSecrets } from '../errors.js';
import { checkOptions } from '../options.js';
import type { TicketBackend } from '../backends/contract.js';
import type { DelivererStats } from '../backends/delivery-report.js';
import { resolveTargets, type Target } from '../backends/open-backend.js';
import { defaultSalt, FINGERPRINT_MODES, PATH_STYLES } from '../fingerprint/fingerprint.js';
import { Handler, type LostReason } from '../logging/handler.js';
import { rateLimitedStderr } from '../logging/internal-error.js';
import { describeThrown } from '../logging/safe-read.js';
import { Level } from '../logging/level.js';
import type { LogRecord } from '../logging/record.js';
import { BackendWriter, noDrops, type DropReason, type WriterStats } from './backend-writer.js';
import { closeBackends, reportWaiting } from './closing-deliveries.js';
import {
  capture,
  customGrouping,
  occurrenceMemo,
  prepare,
  type Captured,
  type OccurrenceSettings,
} from './occurrence.js';
import { DEFAULT_LINGER_MS, OPTION_KINDS, type ErrorHook, type TicketingHandlerOptions } from './ticketing-options.js';

export { DEFAULT_LINGER_MS, MAX_LINGER_MS, type ErrorHook, type TicketingHandlerOptions } from './ticketing-options.js';
import { overflowKey, type OverflowKey } from './overflow-table.js';
import { Redactor } from './redaction.js';

export interface TicketingStats {
  readonly queued: number;
  readonly written: number;
  readonly retried: number;
  readonly coalesced: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly backends: readonly WriterStats[];
  /** Per tracker: what this process delivered, whether it delivers now, the fleet-wide pause, and what waits. */
  readonly deliveries: readonly DelivererStats[];
  /** Deliveries waiting in the store's outbox, all trackers (as of the last look). */
  readonly pendingDeliveries: number;
}

export class TicketingHandler extends Handler {
  readonly appId: string;
  /** The release and environment occurrences are recorded with (null: none). */
  readonly release: string | null;
  readonly environment: string | null;
  readonly backends: readonly TicketBackend[];
  private readonly writers: BackendWriter[];
  private readonly owned: ReadonlySet<TicketBackend>;
  private readonly settings: OccurrenceSettings;
  /** How long the flush at exit (and on signals, with init()) may take; 0: none. */
  readonly exitFlushMs: number;
  private readonly deliverHeld: boolean;
  private closing: Promise<boolean> | undefined;
  private exitHook: (() => void) | undefined;
  private exitFlushed = false;
  private readonly onError: ErrorHook;

  /**
   * `target`: a store URI (`sqlite:PATH`, `postgres://…`), a backend, or an
   * array of them (each receives every occurrence). Default: the SQLite file
   * `./logtickets.db`.
   */
  constructor(target?: Target, options: TicketingHandlerOptions = {}) {
    checkOptions('options', options, OPTION_KINDS);
    checkOptions('options.retry', options.retry, { initialMs: { number: { min: 1 } }, maxMs: { number: { min: 1 } } });
    checkOptions('options.limits', options.limits, {
      maxDepth: { integer: { min: 1 } },
      maxStringLength: { integer: { min: 1 } },
      maxArrayLength: { integer: { min: 1 } },
      maxKeys: { integer: { min: 1 } },
      maxTotalNodes: { integer: { min: 1 } },
    });
    super(options, Level.WARNING);
    const appId = options.appId ?? 'generic';
    if (appId === '') throw new LogticketsError('INVALID_ARGUMENT', 'options.appId must be a non-empty string');
    this.appId = appId;
    const fingerprintMode = options.fingerprintMode ?? 'line';
    if (!FINGERPRINT_MODES.includes(fingerprintMode)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `options.fingerprintMode must be one of ${FINGERPRINT_MODES.join(', ')}, got ${JSON.stringify(fingerprintMode)}`,
      );
    }
    const pathStyle = options.pathStyle ?? 'relative';
    if (!PATH_STYLES.includes(pathStyle)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `options.pathStyle must be one of ${PATH_STYLES.join(', ')}, got ${JSON.stringify(pathStyle)}`,
      );
    }
    // Checked before any backend is opened, so a bad pattern leaves nothing open behind it.
    const redactor = new Redactor(options.redaction);
    const projectRoot = options.projectRoot ?? process.cwd();
    const deployment = resolveDeployment(options, { env: process.env, cwd: projectRoot });
    const { backends, owned } = resolveTargets(target);
    this.backends = backends;
    this.owned = options.closeBackends === true ? new Set(backends) : owned;
    const breadcrumbs = options.breadcrumbs ?? DEFAULT_BREADCRUMBS;
    this.settings = {
      appId,
      salt: options.hashSalt ?? defaultSalt(appId),
      projectRoot,
      titleLength: options.titleLength ?? 200,
      limits: options.limits ?? {},
      fingerprintMode,
      pathStyle,
      redactor,
      memo: occurrenceMemo(),
      release: deployment.release,
      environment: deployment.environment,
      breadcrumbs,
    };
    this.release = deployment.release;
    this.environment = deployment.environment;
    this.exitFlushMs = options.exitFlushMs ?? 5_000;
    this.deliverHeld = options.deliverHeldOnClose ?? false;
    const onError = options.onError ?? defaultErrorHook();
    this.onError = onError;
    this.writers = backends.map(
      (backend) =>
        new BackendWriter(backend, {
          maxQueue: options.maxQueue ?? 10_000,
          maxQueueBytes: options.maxQueueBytes ?? 32 * 1024 * 1024,
          maxFolded: options.maxFolded ?? 1_000,
          batchSize: options.batchSize ?? 500,
          lingerMs: options.lingerMs ?? DEFAULT_LINGER_MS,
          lingerHoldsProcess: this.exitFlushMs === 0,
          maxRejectedAttempts: options.maxRejectedAttempts ?? 5,
          backoff: options.retry ?? {},
          ...(options.regressionGraceMs === undefined ? {} : { regressionGraceMs: options.regressionGraceMs }),
          prepare: (item) => prepare(item, this.settings),
          onError,
        }),
    );
    requestBreadcrumbs(this, breadcrumbs);
    // A backend that delivers to trackers starts now: a quiet service still carries out state changes.
    for (const backend of backends) backend.start?.();
  }

  handle(record: LogRecord): void {
    if (this.exitHook === undefined && this.exitFlushMs > 0 && this.closing === undefined) this.watchExit();
    // capture() reads the caller's values defensively and does not throw; if it
    // ever did, the dispatcher hands the error to recordLost, which counts it.
    // While a writer's queue is full, a call it already counts costs no
    // snapshot: only its key (overflow-table.ts).
    let item: Captured | undefined;
    let key: OverflowKey | undefined;
    for (const writer of this.writers) {
      if (writer.overflowing) {
        key ??= overflowKey({
          level: record.level,
          channel: record.channel,
          site: record.knownSite ? record.callSite : null,
          stack: record.stack,
          wrappers: record.wrappers,
          ...customGrouping(record),
        });
        if (writer.countKnown(key, record.timestamp)) continue;
      }
      item ??= capture(record, this.settings);
      writer.enqueue(item, key);
    }
  }

  /** A record offered to this handler was lost before reaching its queues: counted for every backend. */
  override recordLost(reason: LostReason, error: unknown): void {
    for (const writer of this.writers) writer.lose(reason);
    this.reportLost(reason, error);
  }

  /** Wait until every queued occurrence is written. Resolves false if `timeoutMs` passed first. Never rejects. */
  async flush(options: { timeoutMs?: number } = {}): Promise<boolean> {
    const results = await Promise.all(this.writers.map((w) => w.flush(options.timeoutMs)));
    return results.every(Boolean);
  }

  /**
   * Stop accepting records, write what waits, then deliver what is due to the
   * trackers (waiting for comment windows that end in time; with
   * `deliverHeld`, or the `deliverHeldOnClose` option, sending held digests at
   * once), all within `timeoutMs` (default 10 000) plus a small margin. Counts
   * what could not be written as dropped; closes the backends this handler
   * opened from URIs (backends passed in are settled, not closed). Resolves
   * true when nothing was lost. Deliveries that still wait are not lost: they
   * stay in the store, `stats().pendingDeliveries` counts them, and one line
   * on stderr says so.
   */
  close(options: { timeoutMs?: number; deliverHeld?: boolean } = {}): Promise<boolean> {
    try {
      checkOptions('close options', options, { timeoutMs: { integer: { min: 0 } }, deliverHeld: 'boolean' });
    } catch (error) {
      return Promise.reject(error);
    }
    this.closing ??= (async () => {
      this.unwatchExit();
      releaseBreadcrumbs(this);
      const timeoutMs = options.timeoutMs ?? 10_000;
      const deadline = Date.now() + timeoutMs;
      const results = await Promise.all(this.writers.map((w) => w.close(timeoutMs)));
      const deliverHeld = options.deliverHeld ?? this.deliverHeld;
      const report = await closeBackends(this.backends, this.owned, {
        timeoutMs: Math.max(0, deadline - Date.now()),
        deliverHeld,
      });
      reportWaiting(report, deliverHeld);
      return results.every(Boolean);
    })();
    return this.closing;
  }

  stats(): TicketingStats {
    const backends = this.writers.map((w) => w.stats());
    const dropped = noDrops();
    let queued = 0;
    let written = 0;
    let retried = 0;
    let coalesced = 0;
    for (const s of backends) {
      queued += s.queued;
      written += s.written;
      retried += s.retried;
      coalesced += s.coalesced;
      for (const reason of Object.keys(dropped) as DropReason[]) dropped[reason] += s.dropped[reason];
    }
    const deliveries = this.backends.flatMap((b) => b.deliveryStats?.() ?? []);
    const pendingDeliveries = deliveries.reduce((n, d) => n + d.pending, 0);
    return { queued, written, retried, coalesced, dropped, backends, deliveries, pendingDeliveries };
  }

  private reportLost(reason: LostReason, error: unknown): void {
    const what = { filter_error: 'its filter threw', handler_error: 'handling it threw', invalid: 'it was unusable' };
    const lost = new LogticketsError(
      'INVALID_ARGUMENT',
      `a record was lost (${what[reason]}): ${describeThrown(error)}`,
    );
    for (const backend of this.backends) {
      try {
        this.onError(lost, { backend: backend.name, attempt: 0, willRetry: false });
      } catch {
        // A throwing onError hook must not reach the logging call.
      }
    }
  }

  /**
   * Before a process ends on its own, give queued occurrences a bounded
   * chance to be written and due deliveries a chance to be sent; say on
   * stderr what is left.
   */
  private watchExit(): void {
    this.exitHook = () => {
      const delivers = this.backends.some((b) => b.settle !== undefined);
      if (this.exitFlushed || (!delivers && this.writers.every((w) => w.size === 0))) return;
      this.exitFlushed = true;
      const deadline = Date.now() + this.exitFlushMs;
      // A ref'd timer keeps the process alive while the flush runs.
      const keepAlive = setTimeout(() => undefined, this.exitFlushMs);
      // Once only: a backend that stays down must not keep the process alive forever.
      void (async () => {
        await this.flush({ timeoutMs: this.exitFlushMs });
        this.reportUnwritten();
        if (!delivers) return;
        // Backends this handler owns are closed (their leases handed over at once); the others settle.
        const timeoutMs = Math.max(0, deadline - Date.now());
        const owned = new Set([...this.owned].filter((b) => b.settle !== undefined));
        const report = await closeBackends(this.backends, owned, { timeoutMs, deliverHeld: this.deliverHeld });
        reportWaiting(report, this.deliverHeld);
      })().finally(() => clearTimeout(keepAlive));
    };
    process.on('beforeExit', this.exitHook);
  }

  /** The process is ending with occurrences still queued: say so, since nothing else will. */
  private reportUnwritten(): void {
    for (const writer of this.writers) {
      const waiting = writer.size;
      if (waiting === 0) continue;
      try {
        process.stderr.write(
          `logtickets: ${maskSecrets(writer.backend.name)}: the process is ending with ${waiting} occurrence${waiting === 1 ? '' : 's'} not written (exitFlushMs ${this.exitFlushMs} ran out)\n`,
        );
      } catch {
        // stderr is gone too: nothing more to do.
      }
    }
  }

  private unwatchExit(): void {
    if (this.exitHook !== undefined) process.off('beforeExit', this.exitHook);
  }
}

function defaultErrorHook(): ErrorHook {
  const report = rateLimitedStderr();
  return (error, info) => {
    const next = info.willRetry ? 'will retry' : 'records dropped';
    report(`${info.backend}|${error.code}`, `${maskSecrets(info.backend)}: ${error.code}: ${error.message} (${next})`);
  };
}
