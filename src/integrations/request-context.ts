/**
 * What the web framework integrations (express.ts, fastify.ts) share: the
 * request context a record logged during a request carries, the request's
 * own scope (scope.ts: its breadcrumb ring and its RequestContext), and the
 * record an error that ends a request becomes.
 *
 * What is taken from a request, and what never is:
 *
 * - method, path (the URL's path, never its query string or fragment), the
 *   route pattern when the framework knows it, the response status;
 * - the user id, from the application's `user` hook only, asked when a
 *   record reads it (after the application's own authentication ran) and
 *   kept once known; a hook that throws leaves a `[Thrown: …]` marker, never
 *   a broken request;
 * - the allowlisted headers only (default: accept, content-type, user-agent,
 *   x-request-id). Cookies and credentials are never taken: `cookie`,
 *   `set-cookie`, `authorization`, `proxy-authorization` and every name
 *   containing auth, token, key, secret, passw, session, cookie, credential,
 *   signature, csrf or xsrf are refused with an INVALID_ARGUMENT error when
 *   listed. A header value that is a URL or a path (`referer`, say) is kept
 *   without its query string, fragment and user:password part.
 *
 * An error is logged at ERROR on the integration's channel, through the
 * handlers active at that moment, with its call site read from its stack
 * (so errors from different places are different tickets, as for crashes:
 * capture-uncaught.ts) and, when it has none, grouped by its message. It
 * is logged once per request however many error handlers see it, and is
 * then a breadcrumb of what the request logs after it.
 */

import { AsyncResource } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import { addBreadcrumb, runInScope, type RequestContext } from '../context/scope.js';
import { LogticketsError } from '../errors.js';
import { dispatch, isWanted } from '../logging/handler-stack.js';
import { reportInternalError } from '../logging/internal-error.js';
import { Level } from '../logging/level.js';
import { Logger } from '../logging/logger.js';
import { isError, readKey, safeText, thrownMarker } from '../logging/safe-read.js';
import { checkOptions } from '../options.js';
import { toLogRecord } from './foreign-record.js';

/** The options of both integrations; `Req` is the framework's request object. */
export interface RequestContextOptions<Req> {
  /**
   * The id of the request's user, asked when a record needs it (so after the
   * application's authentication has run) and kept once it is known. Its
   * throw never reaches the request: the record gets a `[Thrown: …]` marker.
   */
  readonly user?: (req: Req) => string | number | null | undefined;
  /**
   * Request headers recorded, by name (default: accept, content-type,
   * user-agent, x-request-id). Cookies, credentials and secret-looking names
   * are refused (INVALID_ARGUMENT).
   */
  readonly headers?: readonly string[];
  /** Errors are logged on this logger's channel (its name); give this or `channel`. */
  readonly logger?: Logger;
  /** The channel errors are logged on (default: the framework's name). */
  readonly channel?: string;
  /** Errors whose response status is below this are not logged (default 500: server errors only; 400 logs 4xx too). */
  readonly minStatus?: number;
}

/** The options, checked once. */
export interface RequestSettings<Req> {
  readonly where: string;
  readonly user: ((req: Req) => unknown) | undefined;
  readonly headers: readonly string[];
  readonly channel: string;
  readonly minStatus: number;
}

export const DEFAULT_HEADERS: readonly string[] = Object.freeze([
  'accept',
  'content-type',
  'user-agent',
  'x-request-id',
]);
export const DEFAULT_MIN_STATUS = 500;

const NEVER_RECORDED = new Set(['cookie', 'set-cookie', 'authorization', 'proxy-authorization']);
const SECRET_LOOKING = /auth|token|key|secret|passw|session|cookie|credential|signature|csrf|xsrf/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

const MAX_PATH = 2_000;
const MAX_HEADER_VALUE = 1_000;
const MAX_USER_ID = 200;

/** Check the options (throws INVALID_ARGUMENT naming the option). */
export function requestSettings<Req>(
  where: string,
  options: RequestContextOptions<Req> | undefined,
  defaultChannel: string,
): RequestSettings<Req> {
  checkOptions(where, options, {
    user: 'function',
    headers: 'array',
    logger: 'object',
    channel: 'string',
    minStatus: { integer: { min: 100, max: 600 } },
  });
  const own = options ?? {};
  if (own.logger !== undefined && own.channel !== undefined) {
    throw new LogticketsError('INVALID_ARGUMENT', `${where}: give either logger or channel, not both`);
  }
  if (own.logger !== undefined && !(own.logger instanceof Logger)) {
    throw new LogticketsError('INVALID_ARGUMENT', `${where}.logger must be a logtickets Logger`);
  }
  if (own.channel === '') throw new LogticketsError('INVALID_ARGUMENT', `${where}.channel must not be empty`);
  return {
    where,
    user: own.user,
    headers: own.headers === undefined ? DEFAULT_HEADERS : allowedHeaders(where, own.headers),
    channel: own.logger?.name ?? own.channel ?? defaultChannel,
    minStatus: own.minStatus ?? DEFAULT_MIN_STATUS,
  };
}

function allowedHeaders(where: string, names: readonly unknown[]): string[] {
  const out = new Set<string>();
  names.forEach((name, i) => {
    if (typeof name !== 'string' || !HEADER_NAME.test(name.toLowerCase())) {
      throw new LogticketsError('INVALID_ARGUMENT', `${where}.headers[${i}] must be a header name`);
    }
    const lower = name.toLowerCase();
    if (NEVER_RECORDED.has(lower) || SECRET_LOOKING.test(lower)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `${where}.headers[${i}]: ${JSON.stringify(lower)} is never recorded: cookies, credentials and names ` +
          'containing auth, token, key, secret, passw, session, cookie, credential, signature, csrf or xsrf are refused',
      );
    }
    out.add(lower);
  });
  return [...out];
}

/** The parts of a request the context is made from, read by each integration from its framework. */
export interface RequestFacts<Req> {
  readonly req: Req;
  readonly method: unknown;
  /** The URL as received (path and query). */
  readonly url: unknown;
  readonly headers: IncomingHttpHeaders;
  readonly route: string | null;
}

/** A RequestContext for a request; `userId` asks the `user` hook when read. Never throws. */
export function requestContext<Req>(settings: RequestSettings<Req>, facts: RequestFacts<Req>): RequestContext {
  const context: RequestContext = {
    method: typeof facts.method === 'string' ? facts.method.slice(0, 20) : safeText(facts.method).slice(0, 20),
    route: facts.route,
    path: pathOf(facts.url),
    status: null,
    userId: null,
    headers: pickHeaders(facts.headers, settings.headers),
  };
  const hook = settings.user;
  if (hook !== undefined) {
    let known: string | null = null;
    let asking = false;
    Object.defineProperty(context, 'userId', {
      enumerable: true,
      configurable: true,
      get(): string | null {
        if (known !== null || asking) return known;
        // A hook that logs would read userId again: it gets null meanwhile.
        asking = true;
        try {
          const id = userIdOf(hook(facts.req));
          if (id.ok) known = id.value;
          return id.value;
        } catch (thrown) {
          return thrownMarker(thrown);
        } finally {
          asking = false;
        }
      },
      set(value: string | null) {
        known = value;
      },
    });
  }
  return context;
}

/** The hook's answer as text (ok: an id to keep), or a marker for what is not an id. */
function userIdOf(value: unknown): { ok: boolean; value: string | null } {
  if (value === null || value === undefined) return { ok: false, value: null };
  if (typeof value === 'string') return { ok: true, value: value.slice(0, MAX_USER_ID) };
  if (typeof value === 'number' || typeof value === 'bigint') return { ok: true, value: String(value) };
  const kind = Array.isArray(value) ? 'array' : typeof value;
  return { ok: false, value: `[user hook returned ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}]` };
}

/** The path of a request URL: never its query string or fragment. */
export function pathOf(url: unknown): string {
  const text = typeof url === 'string' ? url : safeText(url);
  const end = text.search(/[?#]/);
  let path = end === -1 ? text : text.slice(0, end);
  // An absolute-form request target (`GET http://host/path`): only the path.
  const absolute = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path);
  if (absolute !== null) path = path.slice(absolute[0].length) || '/';
  return path.slice(0, MAX_PATH);
}

function pickHeaders(headers: IncomingHttpHeaders, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    out[name] = withoutQuery(text).slice(0, MAX_HEADER_VALUE);
  }
  return out;
}

/** A URL or path in a header (`referer`): without query string, fragment and user:password. */
function withoutQuery(value: string): string {
  if (!/^(?:[a-z][a-z0-9+.-]*:\/\/|\/)/i.test(value)) return value;
  const end = value.search(/[?#]/);
  const cut = end === -1 ? value : value.slice(0, end);
  return cut.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** A request's own scope, found again from its raw request object (IncomingMessage). */
export interface RequestState {
  readonly context: RequestContext;
  /** Run `fn` in the request's scope (for code the framework calls from elsewhere). */
  readonly run: <T>(fn: () => T) => T;
  /** The errors already logged for this request (several error handlers may see one). */
  readonly logged: object[];
}

const states = new WeakMap<object, RequestState>();

/** The scope of this raw request, if it was entered. */
export function requestState(raw: object): RequestState | undefined {
  return states.get(raw);
}

/**
 * The request's scope; when none was entered (the error came before the
 * integration's first step, or only the error handler is installed), one
 * made now for logging the error. Never throws.
 */
export function stateForError<Req>(
  settings: RequestSettings<Req>,
  raw: object,
  facts: () => RequestFacts<Req>,
): RequestState {
  const found = states.get(raw);
  if (found !== undefined) return found;
  let context: RequestContext;
  try {
    context = requestContext(settings, facts());
  } catch (error) {
    reportInternalError(settings.where, error);
    context = { method: '', route: null, path: '', status: null, userId: null, headers: {} };
  }
  return enterRequest(raw, context, () => states.get(raw)!);
}

/** Run `next` in a new scope for the request (its own breadcrumbs, `context` as its request). */
export function enterRequest<T>(raw: object, context: RequestContext, next: () => T): T {
  return runInScope({ request: context }, () => {
    const resource = new AsyncResource('logtickets.request');
    states.set(raw, { context, run: (fn) => resource.runInAsyncScope(fn), logged: [] });
    return next();
  });
}

/** The status an error response will have: the error's own 4xx/5xx status (`status`, `statusCode`), else 500. */
export function errorStatus(error: unknown, order: readonly ('status' | 'statusCode')[]): number {
  if (error === null || (typeof error !== 'object' && typeof error !== 'function')) return 500;
  for (const key of order) {
    const read = readKey(error, key);
    const value = read.ok ? read.value : undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599) return value;
  }
  return 500;
}

/**
 * Log the error that ends a request, in the request's scope, when `status`
 * (the error's) is at least `minStatus`. Never throws.
 */
export function logRequestError<Req>(
  settings: RequestSettings<Req>,
  state: RequestState,
  error: unknown,
  status: number,
): void {
  try {
    if (status < settings.minStatus || !isWanted(Level.ERROR)) return;
    // An error reaches the error handlers of several routers, or two installs: it is logged once.
    if (error !== null && typeof error === 'object') {
      if (state.logged.includes(error)) return;
      state.logged.push(error);
    }
    const errorLike = isError(error) || looksLikeError(error);
    const record = toLogRecord({
      level: Level.ERROR,
      channel: settings.channel,
      message: describe(error, errorLike),
      ...(errorLike ? { error } : { extra: { thrown: error } }),
    });
    state.run(() => {
      dispatch(record);
      // Kept as a breadcrumb after its own occurrence, as a logging call's record is.
      addBreadcrumb(record.level, record.channel, record.msg);
    });
  } catch (thrown) {
    reportInternalError(settings.where, thrown);
  }
}

function looksLikeError(value: unknown): boolean {
  try {
    const e = value as { stack?: unknown; message?: unknown } | null;
    return e !== null && typeof e === 'object' && typeof e.stack === 'string' && typeof e.message === 'string';
  } catch {
    return false;
  }
}

/** `Name: message` for an error, the value as text otherwise. */
function describe(error: unknown, errorLike: boolean): string {
  if (!errorLike) return safeText(error).slice(0, 1_000);
  const name = readKey(error as object, 'name');
  const message = readKey(error as object, 'message');
  return `${name.ok ? safeText(name.value ?? 'Error') : name.marker}: ${message.ok ? safeText(message.value) : message.marker}`;
}
