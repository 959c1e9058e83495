/**
 * Request context for fastify 5: every record logged while a request is
 * served — in its hooks, its handler and whatever they await — carries the
 * request, and has breadcrumbs of its own; an error that ends a request is
 * logged with it.
 *
 * ```ts
 * import logticketsPlugin from 'logtickets/fastify';
 *
 * await app.register(logticketsPlugin, { user: (request) => request.user?.id, headers: ['user-agent'] });
 * app.get('/orders/:id', async (request) => { … });   // routes after the plugin
 * ```
 *
 * The plugin applies to the whole application (it is not encapsulated:
 * `Symbol.for('skip-override')`, as fastify-plugin would set). Register it
 * before the routes and the other plugins' hooks, so that they run in the
 * request's scope. Its hooks:
 *
 * - `onRequest` serves the rest of the request in a scope of its own
 *   (context/scope.ts) whose request is: the method; the path without its
 *   query string; the route pattern (`request.routeOptions.url`, prefix
 *   included; null for a request no route matched); the user id from the
 *   `user` hook; the allowlisted headers (never cookies or credentials, see
 *   request-context.ts); and the status. fastify keeps this scope through
 *   its hooks, body parsing and the handler.
 * - `onError` logs the error at ERROR on the channel `fastify` (or
 *   `channel`, or the given `logger`'s name) with that context, its status
 *   set to the one the error will get (a 4xx or 5xx status already set on
 *   the reply, else the error's `statusCode` or `status` if 4xx or 5xx,
 *   else 500), when that status is at least `minStatus` (default 500: 4xx
 *   errors are the client's and are not logged; 400 logs them too). The
 *   record is grouped by the error's call site (the first frame of its
 *   stack in your code), so different errors are different tickets. Your
 *   error handler (`setErrorHandler`) then answers as usual.
 * - `onResponse` sets the status that was sent, for records logged after.
 *
 * Failing safe: a bad option (unknown key, wrong kind, a refused header)
 * is an INVALID_ARGUMENT error that fails the plugin's registration, so
 * `ready()` and `listen()` reject with it at start-up. While serving,
 * nothing here throws into the request: a `user` hook that throws leaves a
 * marker as the user id, and any other trouble is one rate-limited line on
 * stderr.
 *
 * Only fastify's types are imported: the package does not depend on fastify.
 */

import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../context/scope.js';
import { reportInternalError } from '../logging/internal-error.js';
import {
  enterRequest,
  errorStatus,
  logRequestError,
  requestContext,
  requestSettings,
  requestState,
  stateForError,
  type RequestContextOptions,
  type RequestFacts,
  type RequestSettings,
} from './request-context.js';

/** The plugin's options. */
export type LogticketsFastifyOptions = RequestContextOptions<FastifyRequest>;

const WHERE = 'logtickets fastify plugin options';

/** What fastify's `register` itself takes: not ours to check. */
interface RegisterOptions {
  readonly prefix?: unknown;
  readonly logLevel?: unknown;
  readonly logSerializers?: unknown;
}

function plugin(
  fastify: FastifyInstance,
  options: LogticketsFastifyOptions & RegisterOptions,
  done: (error?: Error) => void,
): void {
  let settings: RequestSettings<FastifyRequest>;
  try {
    const { prefix: _prefix, logLevel: _logLevel, logSerializers: _serializers, ...own } = options ?? {};
    settings = requestSettings(WHERE, own, 'fastify');
  } catch (error) {
    done(error as Error);
    return;
  }

  fastify.addHook('onRequest', (request, _reply, next) => {
    // Registered twice: the first scope serves the whole request.
    if (requestState(request.raw) !== undefined) return next();
    let context: RequestContext;
    try {
      context = requestContext(settings, facts(request));
    } catch (error) {
      reportInternalError(settings.where, error);
      return next();
    }
    // The hooks that follow, the body parser and the handler run from `next`: in the scope.
    enterRequest(request.raw, context, () => next());
  });

  fastify.addHook('onError', (request, reply, error, next) => {
    try {
      const state = stateForError(settings, request.raw, () => facts(request));
      const status = replyStatus(reply, error);
      state.context.status = status;
      logRequestError(settings, state, error, status);
    } catch (thrown) {
      reportInternalError(settings.where, thrown);
    }
    next();
  });

  fastify.addHook('onResponse', (request, reply, next) => {
    const state = requestState(request.raw);
    if (state !== undefined) state.context.status = reply.statusCode;
    next();
  });

  done();
}

function facts(request: FastifyRequest): RequestFacts<FastifyRequest> {
  let route: unknown;
  try {
    route = request.routeOptions.url;
  } catch {
    route = undefined;
  }
  return {
    req: request,
    method: request.method,
    url: request.url,
    headers: request.headers,
    route: typeof route === 'string' ? route : null,
  };
}

/** The status the error response will have, as fastify's default error handler decides it. */
function replyStatus(reply: FastifyReply, error: unknown): number {
  const set = reply.statusCode;
  return set >= 400 && set <= 599 ? set : errorStatus(error, ['statusCode', 'status']);
}

/** The plugin: `app.register(logticketsPlugin, options)`. */
export const logticketsPlugin = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'logtickets',
  [Symbol.for('plugin-meta')]: { name: 'logtickets' },
}) as FastifyPluginCallback<LogticketsFastifyOptions>;

export default logticketsPlugin;
