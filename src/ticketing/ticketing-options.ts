/**
 * What a TicketingHandler can be told, and how each option is checked.
 */

import { MAX_BREADCRUMBS } from '../context/breadcrumbs.js';
import { MAX_REGRESSION_GRACE_MS } from '../backends/ticket-state.js';
import type { LogticketsError } from '../errors.js';
import type { FingerprintMode, PathStyle } from '../fingerprint/fingerprint.js';
import type { HandlerOptions } from '../logging/handler.js';
import type { JsonSafeLimits } from '../logging/json-safe.js';
import type { OptionKind } from '../options.js';
import type { BackoffOptions } from './backoff.js';
import type { RedactionOptions } from './redaction.js';

export type ErrorHook = (
  error: LogticketsError,
  info: { backend: string; attempt: number; willRetry: boolean },
) => void;

export interface TicketingHandlerOptions extends HandlerOptions {
  /** Tells apps that share a store apart (default `generic`, as in Logbook). */
  readonly appId?: string;
  /** Salt of the fingerprint (default `apphash-<appId>`, as in Logbook). */
  readonly hashSalt?: string;
  /** Call-site files are named relative to this directory (default: the working directory). */
  readonly projectRoot?: string;
  /**
   * How records are grouped into tickets: `line` (default, Logbook's: level,
   * channel, file and line) or `function` (the calling function instead of the
   * line, so edits above a call keep its ticket).
   */
  readonly fingerprintMode?: FingerprintMode;
  /**
   * How call-site files are named in fingerprints and locations: `relative`
   * to projectRoot (default) or `absolute`, as Logbook hashes them, so that
   * tickets imported from a Logbook store (`logtickets import-logbook`) are
   * met again where the paths are the same.
   */
  readonly pathStyle?: PathStyle;
  /** Secrets replaced before anything is stored or sent (default: the built-in patterns). */
  readonly redaction?: RedactionOptions;
  /** Occurrences waiting per backend before folding starts (default 10 000). */
  readonly maxQueue?: number;
  /** Roughly how many bytes of records may wait per backend before folding starts (default 32 MiB). */
  readonly maxQueueBytes?: number;
  /** Tickets whose overflow occurrences are counted while the queue is full (default 1 000). */
  readonly maxFolded?: number;
  /** Occurrences per write (default 500). */
  readonly batchSize?: number;
  /**
   * How long a write waits for more occurrences while its batch is not full
   * (default 200 ms; 0: at the next turn). A steady trickle of errors then
   * costs the store a few transactions a second, not one per error.
   * `flush()`, `close()` and the exit flush do not wait.
   */
  readonly lingerMs?: number;
  /** Attempts for a batch a backend rejects as permanent, before it is dropped (default 5). */
  readonly maxRejectedAttempts?: number;
  readonly retry?: BackoffOptions;
  /** Ticket titles are cut to this many characters (default 200). */
  readonly titleLength?: number;
  /** Size caps of record data. */
  readonly limits?: Partial<JsonSafeLimits>;
  /** Called for each failed write. Default: one line on stderr per backend and error kind, at most every 30 s. */
  readonly onError?: ErrorHook;
  /** Close the backends passed in as instances too, on `close()` (default false: only those opened from URIs). */
  readonly closeBackends?: boolean;
  /** On `beforeExit`, wait this long for queued occurrences to be written and due deliveries sent (default 5 000 ms; 0 turns it off). */
  readonly exitFlushMs?: number;
  /**
   * At `close()` and at exit, send digests that comment windows hold at once
   * (default false: they wait in the store for a later process). For cron
   * jobs, CLIs and serverless functions.
   */
  readonly deliverHeldOnClose?: boolean;
  /**
   * An occurrence less than this many ms after its ticket was solved counts
   * without reopening it: it was already in flight (default 60 000; 0: none).
   */
  readonly regressionGraceMs?: number;
  /**
   * The release every occurrence is recorded with; null for none. Default:
   * LOGTICKETS_RELEASE, else detected once (context/release.ts).
   */
  readonly release?: string | null;
  /** The environment (production, staging…); null for none. Default: LOGTICKETS_ENVIRONMENT, else NODE_ENV. */
  readonly environment?: string | null;
  /**
   * How many of the records logged before an occurrence it carries, of
   * every level (default 40, at most 1 000; 0: none).
   */
  readonly breadcrumbs?: number;
}

const positive = { integer: { min: 1 } } as const;
/** The group-commit wait, by default and at most (longer would only delay tickets). */
export const DEFAULT_LINGER_MS = 200;
export const MAX_LINGER_MS = 10_000;
export const OPTION_KINDS: Record<keyof TicketingHandlerOptions, OptionKind> = {
  level: 'any',
  filter: 'function',
  bubble: 'boolean',
  appId: 'string',
  hashSalt: 'string',
  projectRoot: 'string',
  fingerprintMode: 'string',
  pathStyle: 'string',
  redaction: 'object',
  maxQueue: positive,
  maxQueueBytes: { integer: { min: 1024 } },
  maxFolded: positive,
  batchSize: positive,
  lingerMs: { integer: { min: 0, max: MAX_LINGER_MS } },
  maxRejectedAttempts: positive,
  retry: 'object',
  titleLength: positive,
  limits: 'object',
  onError: 'function',
  exitFlushMs: { integer: { min: 0 } },
  closeBackends: 'boolean',
  deliverHeldOnClose: 'boolean',
  regressionGraceMs: { integer: { min: 0, max: MAX_REGRESSION_GRACE_MS } },
  release: 'any',
  environment: 'any',
  breadcrumbs: { integer: { min: 0, max: MAX_BREADCRUMBS } },
};
