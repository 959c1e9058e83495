/**
 * From a config file to working objects: the store, the trackers, and a
 * ready TicketingHandler. The CLI and the integrations (pino, winston) build
 * everything through here, so one file configures them all alike.
 */

import type { AxiosProxyConfig } from 'axios';
import { LogticketsError } from '../errors.js';
import { isTicketStore, type TicketBackend, type TicketStore } from '../backends/contract.js';
import { GitHubTracker } from '../backends/github/github-tracker.js';
import { defaultStoreUri, openBackend } from '../backends/open-backend.js';
import { TracTracker } from '../backends/trac/trac-tracker.js';
import { TrackedStore, type TrackerEntry } from '../backends/tracker/tracked-store.js';
import type { Tracker } from '../backends/tracker/tracker.js';
import type { FingerprintMode, PathStyle } from '../fingerprint/fingerprint.js';
import { TicketingHandler, type TicketingHandlerOptions } from '../ticketing/ticketing-handler.js';
import type { GitHubConfig, LogticketsConfig, TracConfig } from './config-schema.js';
import { loadConfig, type LoadConfigOptions, type LoadedConfig } from './load-config.js';

export interface ConfiguredTracker {
  /** The tracker's name in output: the config's `name`, else the tracker's. */
  readonly label: string;
  readonly tracker: Tracker;
}

export interface Configured {
  readonly store: TicketStore | TicketBackend;
  readonly trackers: readonly ConfiguredTracker[];
  /** What a handler writes to: the store alone, or the store with its trackers. Closing it closes everything. */
  readonly target: TicketBackend;
  /** The store with its trackers (delivery, links), when the config names trackers. */
  readonly tracked: TrackedStore | undefined;
}

/** Open (without connecting) the store and trackers a config names. */
export function openConfigured(
  config: LogticketsConfig,
  options: { storeUri?: string; prefix?: string } = {},
): Configured {
  const store = openBackend(options.storeUri ?? config.store?.uri ?? defaultStoreUri(), {
    ...storeOptions(config),
    ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
  });
  const trackerConfigs = config.trackers ?? [];
  if (trackerConfigs.length === 0) return { store, trackers: [], target: store, tracked: undefined };
  if (!isTicketStore(store)) {
    void store.close();
    throw new LogticketsError('INVALID_CONFIG', `store: ${store.name} cannot keep the links and outbox trackers need`);
  }
  const trackers: ConfiguredTracker[] = [];
  const entries: TrackerEntry[] = [];
  try {
    trackerConfigs.forEach((tracker, index) => {
      try {
        const entry = openTracker(tracker, config);
        entries.push(entry);
        trackers.push({ label: tracker.name ?? entry.tracker.name, tracker: entry.tracker });
      } catch (error) {
        if (error instanceof LogticketsError && error.code === 'INVALID_ARGUMENT') {
          throw new LogticketsError('INVALID_CONFIG', `trackers[${index}]: ${error.message}`);
        }
        throw error;
      }
    });
  } catch (error) {
    void store.close();
    throw error;
  }
  const tracked = new TrackedStore({ store, trackers: entries, closeStore: true });
  return { store, trackers, target: tracked, tracked };
}

/** The TicketingHandler options a config's `handler` and `redaction` blocks give. */
export function handlerOptions(config: LogticketsConfig): TicketingHandlerOptions {
  const h = config.handler ?? {};
  const options: Record<string, unknown> = {
    level: h.level,
    appId: h.appId,
    hashSalt: h.hashSalt,
    projectRoot: h.projectRoot,
    fingerprintMode: h.fingerprint as FingerprintMode | undefined,
    pathStyle: h.pathStyle as PathStyle | undefined,
    maxQueue: h.maxQueue,
    maxFolded: h.maxFolded,
    batchSize: h.batchSize,
    lingerMs: h.lingerMs,
    maxRejectedAttempts: h.maxRejectedAttempts,
    exitFlushMs: h.flushTimeoutMs,
    deliverHeldOnClose: h.deliverHeldOnClose,
    regressionGraceMs: h.regressionGraceMs,
    titleLength: h.titleLength,
    release: h.release,
    environment: h.environment,
    breadcrumbs: h.breadcrumbs,
    retry: strip(h.retry),
    limits: strip(h.limits),
    redaction: strip(config.redaction),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as TicketingHandlerOptions;
}

/**
 * A ready TicketingHandler from a config file path or a config object.
 * Throws a ConfigError (code INVALID_CONFIG) listing every problem of an
 * invalid config. Nothing connects until the first record is written; close
 * the handler to flush and close the store and trackers.
 */
export function createHandlerFromConfig(
  source: string | object,
  options: LoadConfigOptions & Pick<TicketingHandlerOptions, 'filter' | 'bubble' | 'onError'> = {},
): TicketingHandler {
  const { env, baseDir, ...extra } = options;
  const loaded = loadConfig(source, {
    ...(env === undefined ? {} : { env }),
    ...(baseDir === undefined ? {} : { baseDir }),
  });
  return handlerFromLoaded(loaded, extra);
}

export function handlerFromLoaded(
  loaded: LoadedConfig,
  extra: Pick<TicketingHandlerOptions, 'filter' | 'bubble' | 'onError'> = {},
): TicketingHandler {
  const opts = { ...handlerOptions(loaded.config), ...extra, closeBackends: true };
  const { target } = openConfigured(loaded.config);
  try {
    return new TicketingHandler(target, opts);
  } catch (error) {
    // Nothing is connected yet; closing releases what the backends set up.
    void target.close().catch(() => undefined);
    throw error;
  }
}

function storeOptions(config: LogticketsConfig): Record<string, unknown> {
  const { uri: _uri, $comment: _comment, ...rest } = config.store ?? { uri: '' };
  return strip(rest) ?? {};
}

/** A config's tracker entry: the Tracker, with the pacing its deliveries follow. */
function openTracker(tracker: TracConfig | GitHubConfig, config: LogticketsConfig): TrackerEntry {
  const pacing = strip({
    commentIntervalMs: tracker.commentIntervalMs ?? config.comments?.intervalMs,
    pollIntervalMs: tracker.pollIntervalMs,
    leaseMs: tracker.leaseMs,
    syncIntervalMs: tracker.syncIntervalMs,
    retry: strip(tracker.retry),
  })!;
  if (tracker.type === 'trac') {
    const trac = new TracTracker(
      strip({
        url: tracker.url,
        username: tracker.username,
        password: tracker.password,
        timeoutMs: tracker.timeoutMs,
        hashField: tracker.hashField,
        fields: strip(tracker.fields),
        mutedResolutions: tracker.mutedResolutions,
        tls: strip(tracker.tls),
        proxy: tracker.proxy === undefined ? undefined : tracker.proxy === false ? false : proxyConfig(tracker.proxy),
        writeBudget: tracker.writeBudget?.map((w) => ({ writes: w.writes, perMs: w.perMs })),
      }) as never,
    );
    return { tracker: trac, ...pacing };
  }
  const github = new GitHubTracker(
    strip({
      owner: tracker.owner,
      repo: tracker.repo,
      auth: tracker.token ?? strip(tracker.app),
      baseUrl: tracker.baseUrl,
      timeoutMs: tracker.timeoutMs,
      labels: tracker.labels,
      assignees: tracker.assignees,
      regressionLabel: tracker.regressionLabel,
      mutedLabels: tracker.mutedLabels,
      writeBudget: tracker.writeBudget?.map((w) => ({ writes: w.writes, perMs: w.perMs })),
      writeIntervalMs: tracker.writeIntervalMs,
      notifyIntervalMs: tracker.notifyIntervalMs,
    }) as never,
  );
  return { tracker: github, ...pacing };
}

function proxyConfig(url: string): AxiosProxyConfig {
  const u = new URL(url);
  return {
    protocol: u.protocol.replace(':', ''),
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    ...(u.username === ''
      ? {}
      : { auth: { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } }),
  };
}

/** The object without `$comment` and undefined values (backends reject unknown keys). */
function strip<T extends object>(value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => k !== '$comment' && v !== undefined)) as T;
}
