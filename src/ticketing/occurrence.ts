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
import { fingerprint, type FingerprintMode, type PathStyle } from '../fingerprint/fingerprint.js';
import {
  relativeTo,
  resolveCallSite,
  UNKNOWN_CALL_SITE,
  type CallSite,
  type StackHolder,
  type WrapperMatcher,
} from '../logging/call-site.js';
import { levelName } from '../logging/level.js';
import {
  snapshotter,
  toJsonSafe,
  type JsonSafeLimits,
  type JsonValue,
  type SnapshotMeter,
} from '../logging/json-safe.js';
import { readKey, thrownMarker } from '../logging/safe-read.js';
import type { LogRecord, ProcessInfo } from '../logging/record.js';
import type { Redactor } from './redaction.js';
import { breadcrumbsData, contextSize, takeContext, type TakenContext } from './occurrence-context.js';
import { oneLine } from './text.js';

export interface OccurrenceSettings {
  readonly appId: string;
  readonly salt: string;
  readonly projectRoot: string;
  readonly titleLength: number;
  readonly limits: Partial<JsonSafeLimits>;
  readonly fingerprintMode: FingerprintMode;
  /** Call-site files relative to projectRoot, or as they are (Logbook's way). */
  readonly pathStyle: PathStyle;
  /** Secrets are replaced here, before anything is stored or sent. */
  readonly redactor: Redactor;
  /** What was already worked out about call sites (a service logs from few places, many times). */
  readonly memo: OccurrenceMemo;
  /** The release and environment every occurrence is recorded with (context/release.ts). */
  readonly release: string | null;
  readonly environment: string | null;
  /** How many breadcrumbs an occurrence carries (0: none). */
  readonly breadcrumbs: number;
}

/** A call site as every occurrence from it describes it. */
interface SiteFacts {
  readonly file: string;
  /** `file:line`, on one line. */
  readonly location: string;
  readonly fn: string | null;
  /** The record's `location` field (shared, frozen). */
  readonly data: JsonValue;
  /** By level and channel: the default fingerprint and the channel as stored. */
  readonly grouping: Map<string, { readonly hash: string; readonly channel: string; readonly channelData: JsonValue }>;
}

export interface OccurrenceMemo {
  /** File names as fingerprints use them (pathStyle), by the call site's path. */
  readonly files: LRUCache<string, string>;
  /** Resolved call sites are shared objects (call-site.ts): their facts are kept beside them. */
  readonly sites: WeakMap<CallSite, SiteFacts>;
}

export function occurrenceMemo(): OccurrenceMemo {
  return { files: new LRUCache<string, string>({ max: 20_000 }), sites: new WeakMap() };
}

// Channels seen at one call site before its table starts over (a channel per request would be unusual).
const CHANNELS_PER_SITE = 100;

function siteFacts(site: CallSite, settings: OccurrenceSettings): SiteFacts {
  let facts = settings.memo.sites.get(site);
  if (facts !== undefined) return facts;
  const files = settings.memo.files;
  let file = files.get(site.path);
  if (file === undefined) {
    file = settings.pathStyle === 'absolute' ? site.path : relativeTo(settings.projectRoot, site.path);
    files.set(site.path, file);
  }
  facts = {
    file,
    location: oneLine(`${file}:${site.line}`, 500),
    fn: site.function === null ? null : oneLine(site.function, 200),
    data: Object.freeze({
      file: toJsonSafe(file),
      line: site.line,
      column: site.column,
      function: toJsonSafe(site.function),
    }),
    grouping: new Map(),
  };
  settings.memo.sites.set(site, facts);
  return facts;
}

function grouping(item: Captured, site: CallSite, facts: SiteFacts, settings: OccurrenceSettings) {
  const key = `${item.level}\u0000${item.channel}`;
  let found = facts.grouping.get(key);
  if (found === undefined) {
    const { file } = facts;
    // The default grouping, also when this record brought its own: the next one from here may not.
    const hash = fingerprint(
      { level: item.level, channel: item.channel, file, line: site.line, function: site.function },
      settings.salt,
      settings.fingerprintMode,
    );
    found = { hash, channel: oneLine(item.channel, 200), channelData: toJsonSafe(item.channel) };
    if (facts.grouping.size >= CHANNELS_PER_SITE) facts.grouping.clear();
    facts.grouping.set(key, found);
  }
  return found;
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
  /** The raw frames, until the call site is resolved from them (then let go: they hold V8's frame objects). */
  stack: StackHolder | null;
  /** A call site given with the record (records from other loggers); otherwise resolved from `stack`. */
  readonly site: CallSite | null;
  readonly wrappers: readonly WrapperMatcher[];
  readonly process: ProcessInfo;
  readonly fingerprint: string | readonly string[] | undefined;
  /** Why a custom fingerprint given with the record could not be used (default grouping applies). */
  readonly unreadableFingerprint: string | undefined;
  /** The breadcrumbs and request taken at the call (occurrence-context.ts). */
  readonly context: TakenContext;
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
  const grouping = customGrouping(record);
  let message: string;
  try {
    message = record.message;
  } catch (thrown) {
    message = thrownMarker(thrown);
  }
  // One snapshot pass over everything the caller may change after the call returns.
  const snap = snapshotter(limits, meter);
  const item: Captured = {
    channel: record.channel,
    level: record.level,
    // Templates and messages are cleaned like any other string (caps, lone surrogates).
    msg: snap(record.msg),
    message: snap(message) as string,
    args: record.args.length === 0 ? [] : snap(record.args),
    extra: extra.marker ?? (extra.value === undefined ? {} : snap(extra.value)),
    error: error.marker ?? (error.value === undefined ? null : snap(error.value)),
    timestamp: record.timestamp,
    stack: record.stack,
    site: record.knownSite ? record.callSite : null,
    wrappers: record.wrappers,
    process: record.process,
    fingerprint: grouping.fingerprint,
    unreadableFingerprint: grouping.unreadableFingerprint,
    context: takeContext(settings.breadcrumbs),
    size: 0,
  };
  item.size = meter.bytes + contextSize(item.context);
  return item;
}

function field(options: object, key: string): { value?: unknown; marker?: string } {
  const read = readKey(options, key);
  return read.ok ? { value: read.value } : { marker: read.marker };
}

/**
 * What decides a record's ticket besides its call site: a custom fingerprint
 * given with it, as text, or why it could not be read (then the default
 * grouping applies).
 */
export function customGrouping(record: LogRecord): Pick<Captured, 'fingerprint' | 'unreadableFingerprint'> {
  const custom = field(record.options, 'fingerprint');
  const read = custom.marker === undefined ? readFingerprint(custom.value) : {};
  return { fingerprint: read.fingerprint, unreadableFingerprint: custom.marker ?? read.marker };
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
  item.stack = null;
  const facts = siteFacts(site, settings);
  const group = grouping(item, site, facts, settings);
  const custom = item.fingerprint;
  const hash =
    custom === undefined
      ? group.hash
      : fingerprint(
          { level: item.level, channel: item.channel, file: facts.file, line: site.line, custom },
          settings.salt,
        );
  const redact = settings.redactor;
  const message = redact.text(item.message);
  const time = new Date(item.timestamp).toISOString();
  const error = redact.value(item.error);
  const data: { [key: string]: JsonValue } = {
    channel: group.channelData,
    level: item.level,
    levelName: levelName(item.level),
    msg: redact.value(item.msg),
    args: redact.args(item.args, item.message, message),
    message,
    time,
    location: facts.data,
    error,
    extra: redact.value(item.extra),
    process: { pid: item.process.pid, hostname: item.process.hostname, threadId: item.process.threadId },
    appId: settings.appId,
    release: settings.release,
    environment: settings.environment,
  };
  const context = item.context;
  if (context.request !== null) data.request = redact.value(context.request);
  if (context.breadcrumbs !== null && context.breadcrumbs.length > 0)
    data.breadcrumbs = breadcrumbsData(context.breadcrumbs, redact);
  if (custom !== undefined) data.fingerprint = toJsonSafe(custom);
  else if (item.unreadableFingerprint !== undefined) data.fingerprint = item.unreadableFingerprint;
  item.prepared = {
    hash,
    appId: settings.appId,
    level: item.level,
    channel: group.channel,
    location: facts.location,
    function: facts.fn,
    title: ticketTitle(message, error, settings.titleLength),
    time,
    data,
    release: settings.release,
    environment: settings.environment,
  };
  return item.prepared;
}

/**
 * A ticket's title: the message, followed by its error's message when the
 * message does not say it already — `request failed: connect ECONNREFUSED`
 * — so that one template logged with different errors from different places
 * does not make tickets with the same title. Both are redacted already. The
 * title is not part of the fingerprint.
 */
export function ticketTitle(message: string, error: JsonValue, maxLength: number): string {
  const text = oneLine(message, Infinity);
  const said = oneLine(errorMessage(error), Infinity);
  const title = said === '' || text.includes(said) ? text : text === '' ? said : `${text}: ${said}`;
  return oneLine(title, maxLength) || '(no message)';
}

/** The message of an error as recorded (an Error's snapshot, an object with a message, or a string). */
function errorMessage(error: JsonValue): string {
  if (typeof error === 'string') return error;
  if (error === null || typeof error !== 'object' || Array.isArray(error)) return '';
  const message = (error as { readonly [key: string]: JsonValue }).message;
  return typeof message === 'string' ? message : '';
}
