/**
 * A log record: everything known about one logging call.
 *
 * The logger fills in what must be taken at the call (level, channel, time,
 * the raw stack, references to arguments and extra). What is costly to
 * compute — the formatted message and the call site — is computed on first
 * use, so a record nobody handles costs almost nothing, and a ticketing
 * handler computes them off the calling path.
 */

import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import {
  resolveCallSite,
  UNKNOWN_CALL_SITE,
  type CallSite,
  type StackHolder,
  type WrapperMatcher,
} from './call-site.js';
import { formatMessage } from './format.js';
import { levelName } from './level.js';

export interface LogOptions {
  /** Structured data attached to the record. */
  readonly extra?: Record<string, unknown>;
  /** The error this record is about. */
  readonly error?: unknown;
  /** Replaces the default grouping: records with the same fingerprint share a ticket. */
  readonly fingerprint?: string | readonly string[];
}

/**
 * Where a record came from, when its logger already knows: a record handed
 * over from another logging library (pino, winston) or built from an error
 * carries its own time and, if known, its call site.
 */
export interface RecordOrigin {
  /** Milliseconds since the epoch (default: now). */
  readonly timestamp?: number;
  /** The call site, when the source knows it (default: resolved from `stack`). */
  readonly callSite?: CallSite;
}

export interface ProcessInfo {
  readonly pid: number;
  readonly hostname: string;
  readonly threadId: number;
}

let processInfo: ProcessInfo | undefined;
/** Read once per process: the host name does not change under a running process. */
export function currentProcess(): ProcessInfo {
  processInfo ??= Object.freeze({ pid: process.pid, hostname: hostname(), threadId });
  return processInfo;
}

export class LogRecord {
  /** Milliseconds since the epoch, taken at the call. */
  readonly timestamp: number;
  readonly process: ProcessInfo;
  private formatted: string | undefined;
  private site: CallSite | undefined;

  constructor(
    readonly channel: string,
    readonly level: number,
    /** The message template, before arguments are filled in. */
    readonly msg: string,
    readonly args: readonly unknown[],
    readonly options: LogOptions,
    /** The raw frames taken at the call (resolved on first use of `callSite`). */
    readonly stack: StackHolder | null,
    /** The logger's declared wrapper functions, skipped when resolving the call site. */
    readonly wrappers: readonly WrapperMatcher[],
    origin?: RecordOrigin,
  ) {
    this.timestamp = origin?.timestamp ?? Date.now();
    this.process = currentProcess();
    this.site = origin?.callSite;
    this.knownSite = origin?.callSite !== undefined;
  }

  /** True when the call site was given rather than resolved from the stack. */
  readonly knownSite: boolean;

  get levelName(): string {
    return levelName(this.level);
  }

  get extra(): Record<string, unknown> | undefined {
    return this.options.extra;
  }

  get error(): unknown {
    return this.options.error;
  }

  /** The message with its arguments filled in. */
  get message(): string {
    this.formatted ??= formatMessage(this.msg, this.args);
    return this.formatted;
  }

  /** Where the call was made (the first frame that is neither logtickets' nor a declared wrapper's). */
  get callSite(): CallSite {
    this.site ??= this.stack === null ? UNKNOWN_CALL_SITE : resolveCallSite(this.stack, this.wrappers);
    return this.site;
  }

  /** ISO 8601, UTC, milliseconds. */
  get time(): string {
    return new Date(this.timestamp).toISOString();
  }
}
