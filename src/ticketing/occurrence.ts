/**
 * From a log record to an occurrence, in two steps.
 *
 * `capture` runs inside the logging call and takes only what could change
 * after the call returns: the format arguments and `extra`, snapshotted
 * JSON-safe, and the formatted message. Everything else — the call site, the
 * fingerprint, the error, the record's JSON — is computed by `prepare`, once,
 * off the calling path, when a writer first needs it.
 */

import { LRUCache } from 'lru-cache';
import type { OccurrenceInput } from '../backends/contract.js';
import { fingerprint } from '../fingerprint/fingerprint.js';
import { relativeTo } from '../logging/call-site.js';
import { toJsonSafe, type JsonSafeLimits, type JsonValue } from '../logging/json-safe.js';
import type { LogRecord } from '../logging/record.js';
import { oneLine } from './text.js';

export interface OccurrenceSettings {
  readonly appId: string;
  readonly salt: string;
  readonly projectRoot: string;
  readonly titleLength: number;
  readonly limits: Partial<JsonSafeLimits>;
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

export interface Captured {
  readonly record: LogRecord;
  readonly args: JsonValue;
  readonly extra: JsonValue;
  readonly message: string;
  prepared?: OccurrenceInput;
}

export function capture(record: LogRecord, settings: OccurrenceSettings): Captured {
  const extra = record.extra;
  return {
    record,
    args: record.args.length === 0 ? [] : toJsonSafe(record.args, settings.limits),
    extra: extra === undefined ? {} : toJsonSafe(extra, settings.limits),
    message: record.message,
  };
}

export function prepare(item: Captured, settings: OccurrenceSettings): OccurrenceInput {
  if (item.prepared !== undefined) return item.prepared;
  const { record } = item;
  const site = record.callSite;
  const file = relativeTo(settings.projectRoot, site.path);
  const custom = record.options.fingerprint;
  const hash = fingerprint(
    { level: record.level, channel: record.channel, file, line: site.line, custom },
    settings.salt,
  );
  const time = record.time;
  const location = `${file}:${site.line}`;
  const data: { [key: string]: JsonValue } = {
    channel: record.channel,
    level: record.level,
    levelName: record.levelName,
    msg: record.msg,
    args: item.args,
    message: item.message,
    time,
    location: { file, line: site.line, column: site.column, function: site.function },
    error: record.error === undefined ? null : toJsonSafe(record.error, settings.limits),
    extra: item.extra,
    process: { pid: record.process.pid, hostname: record.process.hostname, threadId: record.process.threadId },
    appId: settings.appId,
  };
  if (custom !== undefined) data.fingerprint = toJsonSafe(custom);
  item.prepared = {
    hash,
    appId: settings.appId,
    level: record.level,
    channel: oneLine(record.channel, 200),
    location: oneLine(location, 500),
    function: site.function === null ? null : oneLine(site.function, 200),
    title: oneLine(item.message, settings.titleLength) || '(no message)',
    time,
    data,
  };
  return item.prepared;
}
