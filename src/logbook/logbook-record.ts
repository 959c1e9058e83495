/**
 * From Logbook's rows to what a logtickets store records.
 *
 * A ticket keeps Logbook's hash as its fingerprint (so a TicketingHandler
 * with pathStyle `absolute` meets it again), its app id, level (Logbook's
 * numbers are logtickets' own: CRITICAL 15 … TRACE 9), channel and
 * `file:line` location. Each occurrence keeps its time (from the table,
 * which is exact, not the JSON's `time`, whose microseconds Logbook writes
 * unpadded) and its record, laid out as logtickets lays out its own
 * (message, error, location, extra, process), with every field the layout
 * has no place for, and where it came from, under `logbook`.
 *
 * Logbook writes naive times, in UTC unless the application asked for local
 * time: they are read as UTC.
 */

import type { OccurrenceInput } from '../backends/contract.js';
import { levelName, MAX_LEVEL } from '../logging/level.js';
import type { JsonValue } from '../logging/json-safe.js';
import { ticketTitle } from '../ticketing/occurrence.js';
import type { Redactor } from '../ticketing/redaction.js';
import { oneLine } from '../ticketing/text.js';
import type { LogbookOccurrenceRow, LogbookTicketRow } from './logbook-tables.js';

/** A Logbook ticket, checked. */
export interface LogbookTicket {
  readonly ticketId: number;
  readonly hash: string;
  readonly appId: string;
  readonly level: number;
  readonly channel: string;
  readonly location: string;
  readonly module: string | null;
  /** ISO 8601, or null when Logbook has none. */
  readonly lastSeen: string | null;
  readonly occurrenceCount: number;
  readonly solved: boolean;
  /** Its occurrence rows. */
  readonly rows: number;
}

/** The ticket, or why it cannot be imported. */
export function readTicket(row: LogbookTicketRow): LogbookTicket | string {
  const hash = typeof row.hash === 'string' ? row.hash.trim().toLowerCase() : '';
  if (!/^[0-9a-f]{40}$/.test(hash)) return 'its record_hash is not 40 hexadecimal characters';
  const level = Number(row.level);
  if (!Number.isInteger(level) || level < 0 || level > MAX_LEVEL) return `its level ${String(row.level)} is no level`;
  return {
    ticketId: row.ticketId,
    hash,
    appId: row.appId ?? 'generic',
    level,
    channel: row.channel ?? '',
    location: oneLine(row.location ?? '', 500),
    module: row.module,
    lastSeen: row.lastOccurrence === null ? null : logbookTime(row.lastOccurrence),
    occurrenceCount: Math.max(0, Number(row.occurrenceCount ?? 0) || 0),
    solved: row.solved,
    rows: Number(row.rows),
  };
}

/**
 * A time as Logbook's SQL backend stores it (`2026-01-15 12:00:00.123456`,
 * also with `T`, without a fraction, or with a zone) as ISO 8601 in UTC to
 * the millisecond; null when it is none.
 */
export function logbookTime(text: string): string | null {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i.exec(text.trim());
  if (m === null) return null;
  const ms = (m[3] ?? '').padEnd(3, '0').slice(0, 3);
  const zone = (m[4] ?? 'Z')
    .toUpperCase()
    .replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')
    .replace(/^([+-]\d\d)$/, '$1:00');
  const date = new Date(`${m[1]}T${m[2]}.${ms}${zone}`);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** What tells an imported occurrence apart: its Logbook id and its time exactly as Logbook stored it. */
export function importKey(occurrenceId: number, rawTime: string | null): string {
  return `${occurrenceId}\u0000${rawTime ?? ''}`;
}

/** The import key an occurrence's data carries, when it came from a Logbook store. */
export function importedKey(data: JsonValue): string | undefined {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const from = (data as { readonly [key: string]: JsonValue }).logbook;
  if (from === null || typeof from !== 'object' || Array.isArray(from)) return undefined;
  const { occurrenceId, time } = from as { readonly [key: string]: JsonValue };
  return typeof occurrenceId === 'number' ? importKey(occurrenceId, typeof time === 'string' ? time : null) : undefined;
}

// Record fields that get a place of their own in the data (the others are kept under `logbook.record`).
const PLACED = new Set([
  'channel',
  'level',
  'msg',
  'args',
  'kwargs',
  'message',
  'time',
  'extra',
  'filename',
  'lineno',
  'func_name',
  'module',
  'exception_name',
  'exception_message',
  'formatted_exception',
  'process',
  'process_name',
  'thread',
  'thread_name',
]);

type JsonObject = { readonly [key: string]: JsonValue };

export interface OccurrenceSettings {
  readonly redactor: Redactor;
  readonly titleLength: number;
  /** Where the store is (its credential-free name), kept with each occurrence. */
  readonly source: string;
}

/** The occurrence to record, or why it cannot be imported. */
export function occurrenceInput(
  ticket: LogbookTicket,
  row: LogbookOccurrenceRow,
  settings: OccurrenceSettings,
): OccurrenceInput | string {
  const record = parseRecord(row.data);
  const field = (key: string): JsonValue => record[key] ?? null;
  const text = (key: string): string | null => (typeof record[key] === 'string' ? (record[key] as string) : null);
  const time =
    (row.time === null ? null : logbookTime(row.time)) ?? (text('time') === null ? null : logbookTime(text('time')!));
  if (time === null) return `occurrence ${row.occurrenceId} has no time that can be read`;
  const redact = settings.redactor;
  const rawMessage = text('message') ?? text('msg') ?? '';
  const message = redact.text(rawMessage);
  const exceptionName = text('exception_name');
  const error: JsonValue =
    exceptionName === null && text('formatted_exception') === null
      ? null
      : redact.value({
          name: exceptionName,
          message: field('exception_message'),
          stack: field('formatted_exception'),
        });
  const rest = Object.fromEntries(Object.entries(record).filter(([key]) => !PLACED.has(key)));
  const data: JsonObject = {
    channel: ticket.channel,
    level: ticket.level,
    levelName: levelName(ticket.level),
    msg: redact.value(field('msg')),
    args: redact.args(field('args'), rawMessage, message),
    kwargs: redact.value(field('kwargs')),
    message,
    time,
    location: { file: field('filename'), line: field('lineno'), function: field('func_name'), module: field('module') },
    error,
    extra: redact.value(record.extra ?? {}),
    process: {
      pid: field('process'),
      processName: field('process_name'),
      thread: field('thread'),
      threadName: field('thread_name'),
    },
    appId: ticket.appId,
    release: null,
    environment: null,
    logbook: {
      source: settings.source,
      ticketId: ticket.ticketId,
      occurrenceId: row.occurrenceId,
      time: row.time,
      record: redact.value(rest),
    },
  };
  return {
    hash: ticket.hash,
    appId: ticket.appId,
    level: ticket.level,
    channel: oneLine(ticket.channel, 200),
    location: ticket.location,
    function: text('func_name') === null ? null : oneLine(text('func_name')!, 200),
    title: ticketTitle(message, error, settings.titleLength),
    time,
    data,
    release: null,
    environment: null,
  };
}

/** The record Logbook stored as JSON text; text that is no JSON object is kept whole under `data`. */
function parseRecord(text: string | null): JsonObject {
  if (text === null) return {};
  try {
    const value = JSON.parse(text) as JsonValue;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as JsonObject)
      : { data: value };
  } catch {
    return { data: text };
  }
}
