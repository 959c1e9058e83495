/**
 * From a log record to an occurrence, in two steps.
 *
 * `capture` runs inside the logging call and takes what could change after
 * the call returns: the format arguments, `extra` and the error, snapshotted
 * JSON-safe, and the formatted message. Everything else — the call site, the
 * fingerprint, the record's JSON — is computed by `prepare`, once, off the
 * calling path, when a writer first needs it.
 */

import { LRUCache } from 'lru-cache';
import type { OccurrenceInput } from '../backends/contract.js';
import { fingerprint, type FingerprintMode } from '../fingerprint/fingerprint.js';
import {
  relativeTo,
  resolveCallSite,
  UNKNOWN_CALL_SITE,
  type CallSite,
  type StackHolder,
  type WrapperMatcher,
} from '../logging/call-site.js';
import { levelName } from '../logging/level.js';
import { toJsonSafe, type JsonSafeLimits, type JsonValue, type SnapshotMeter } from '../logging/json-safe.js';
import { readKey, thrownMarker } from '../logging/safe-read.js';
import type { LogRecord, ProcessInfo } from '../logging/record.js';
import type { Redactor } from './redaction.js';
import { oneLine } from './text.js';

export interface OccurrenceSettings {
  readonly appId: string;
  readonly salt: string;
  readonly projectRoot: string;
  readonly titleLength: number;
  readonly limits: Partial<JsonSafeLimits>;
  readonly fingerprintMode: FingerprintMode;
  /** Secrets are replaced here, before anything is stored or sent. */
  readonly redactor: Redactor;
  /** Fingerprints and relative paths already computed (a service logs from few places, many times). */
  readonly memo: LRUCache<string, string>;
}

export function occurrenceMemo(): LRUCache<string, string> {
  return new LRUCache<string, string>({ max: 20_000 });
}

function memoized(settings: OccurrenceSettings, key: string, compute: () => string): string {
  let value = settings.memo.get(key);
  if (value === undefined) {
    value = compute();
    settings.memo.set(key, value);
  }
  return value;
}

/**
 * What the queue keeps of a record: snapshots only, never the caller's own
 * objects, so a queue that fills while a backend is down holds capped copies
 * instead of keeping request bodies and the like alive.
 */
export interface Captured {
  readonly channel: string;
  readonly level: number;
  readonly msg: JsonValue;
  readonly message: string;
  readonly args: JsonValue;
  readonly extra: JsonValue;
  readonly error: JsonValue;
  readonly timestamp: number;
  readonly stack: StackHolder | null;
  /** A call site given with the record (records from other loggers); otherwise resolved from `stack`. */
  readonly site: CallSite | null;
  readonly wrappers: readonly WrapperMatcher[];
  readonly process: ProcessInfo;
  readonly fingerprint: string | readonly string[] | undefined;
  /** Why a custom fingerprint given with the record could not be used (default grouping applies). */
  readonly unreadableFingerprint: string | undefined;
  /** Roughly how many bytes this entry holds (the writer bounds its queue by it). */
  size: number;
  prepared?: OccurrenceInput;
}

export function capture(record: LogRecord, settings: OccurrenceSettings): Captured {
  const limits = settings.limits;
  const meter: SnapshotMeter = { bytes: 256 };
  // The options object is the caller's: each field is read on its own, so one
  // throwing getter leaves a marker in its place and the rest is still kept.
  const options = record.options;
  const extra = field(options, 'extra');
  const error = field(options, 'error');
  const custom = field(options, 'fingerprint');
  const grouping = custom.marker === undefined ? readFingerprint(custom.value) : {};
  let message: string;
  try {
    message = record.message;
  } catch (thrown) {
    message = thrownMarker(thrown);
  }
  const item: Captured = {
    channel: record.channel,
    level: record.level,
    // Templates and messages are cleaned like any other string (caps, lone surrogates).
    msg: toJsonSafe(record.msg, limits, meter),
    message: toJsonSafe(message, limits, meter) as string,
    args: record.args.length === 0 ? [] : toJsonSafe(record.args, limits, meter),
    extra: extra.marker ?? (extra.value === undefined ? {} : toJsonSafe(extra.value, limits, meter)),
    error: error.marker ?? (error.value === undefined ? null : toJsonSafe(error.value, limits, meter)),
    timestamp: record.timestamp,
    stack: record.stack,
    site: record.knownSite ? record.callSite : null,
    wrappers: record.wrappers,
    process: record.process,
    fingerprint: grouping.fingerprint,
    unreadableFingerprint: custom.marker ?? grouping.marker,
    size: 0,
  };
  item.size = meter.bytes;
  return item;
}

function field(options: object, key: string): { value?: unknown; marker?: string } {
  const read = readKey(options, key);
  return read.ok ? { value: read.value } : { marker: read.marker };
}

/** A custom fingerprint as text; when it cannot be read, the record keeps its default grouping and says why. */
function readFingerprint(value: unknown): { fingerprint?: string | readonly string[]; marker?: string } {
  if (value === undefined || value === null) return {};
  try {
    return { fingerprint: Array.isArray(value) ? value.map((part) => String(part)) : String(value) };
  } catch (thrown) {
    return { marker: thrownMarker(thrown) };
  }
}

export function prepare(item: Captured, settings: OccurrenceSettings): OccurrenceInput {
  if (item.prepared !== undefined) return item.prepared;
  const site = item.site ?? (item.stack === null ? UNKNOWN_CALL_SITE : resolveCallSite(item.stack, item.wrappers));
  const file = memoized(settings, `p\u0000${site.path}`, () => relativeTo(settings.projectRoot, site.path));
  const custom = item.fingerprint;
  const channel = oneLine(item.channel, 200);
  const mode = settings.fingerprintMode;
  const hash =
    custom === undefined
      ? memoized(
          settings,
          `h\u0000${mode}\u0000${item.level}\u0000${item.channel}\u0000${file}\u0000${site.line}\u0000${site.function}`,
          () =>
            fingerprint(
              { level: item.level, channel: item.channel, file, line: site.line, function: site.function },
              settings.salt,
              mode,
            ),
        )
      : fingerprint({ level: item.level, channel: item.channel, file, line: site.line, custom }, settings.salt);
  const redact = settings.redactor;
  const message = redact.text(item.message);
  const time = new Date(item.timestamp).toISOString();
  const location = `${file}:${site.line}`;
  const data: { [key: string]: JsonValue } = {
    channel: toJsonSafe(item.channel),
    level: item.level,
    levelName: levelName(item.level),
    msg: redact.value(item.msg),
    args: redact.args(item.args, item.message, message),
    message,
    time,
    location: { file: toJsonSafe(file), line: site.line, column: site.column, function: toJsonSafe(site.function) },
    error: redact.value(item.error),
    extra: redact.value(item.extra),
    process: { pid: item.process.pid, hostname: item.process.hostname, threadId: item.process.threadId },
    appId: settings.appId,
  };
  if (custom !== undefined) data.fingerprint = toJsonSafe(custom);
  else if (item.unreadableFingerprint !== undefined) data.fingerprint = item.unreadableFingerprint;
  item.prepared = {
    hash,
    appId: settings.appId,
    level: item.level,
    channel,
    location: oneLine(location, 500),
    function: site.function === null ? null : oneLine(site.function, 200),
    title: oneLine(message, settings.titleLength) || '(no message)',
    time,
    data,
  };
  return item.prepared;
}
