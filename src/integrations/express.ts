/**
 * Request context for express 5: every record logged while a request
 * is served — in its handlers and in whatever they await — carries the
 * request, and has breadcrumbs of its own; an error that ends a request is
 * logged with it.
 *
 * ```ts
 * import { requestScope, errorHandler } from 'logtickets/express';
 *
 * const options = { user: (req) => req.user?.id, headers: ['user-agent', 'x-request-id'] };
 * app.use(requestScope(options));   // first, before the routes and body parsers
 * app.use(express.json());
 * app.get('/orders/:id', async (req, res) => { … });
 * app.use(errorHandler(options));   // after the routes, before your own error handlers
 * app.use((err, req, res, next) => res.status(500).json({ error: 'sorry' }));
 * ```
 *
 * `requestScope(options)` runs the rest of the request in a scope of its own
 * (context/scope.ts) whose request is: the method; the path without its
 * query string; the route pattern (`/orders/:id`, with the mount path the
 * router had reached when it matched the route: a mount path with
 * parameters appears with their values) as soon as a route matches; the
 * user id from the `user` hook; the allowlisted headers (never cookies or
 * credentials, see request-context.ts); and the response status, set by
 * `errorHandler` to the status the error will get, and when the response
 * has finished.
 *
 * `errorHandler(options)` logs the error at ERROR on the channel `express`
 * (or `channel`, or the given `logger`'s name) with that request context,
 * when the error's status — `err.status` or `err.statusCode` if 4xx or 5xx,
 * else 500 — is at least `minStatus` (default 500: 4xx errors are the
 * client's and are not logged; 400 logs them too). It then calls
 * `next(err)`, so your own error handlers, or express's, still answer. The
 * record is grouped by the error's call site (the first frame of its stack
 * in your code), so different errors are different tickets. An error seen
 * by several error handlers is logged once. Without `requestScope`, the
 * error handler alone still records the request, from what it finds then.
 *
 * Failing safe: a bad option throws INVALID_ARGUMENT when the middleware is
 * made (at start-up); while serving, nothing here throws into the request:
 * a `user` hook that throws leaves a marker as the user id, and any other
 * trouble is one rate-limited line on stderr.
 *
 * Only express's types are imported: the package does not depend on express.
 */

import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
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
} from './request-context.js';

/** The options of `requestScope` and `errorHandler` (the same object may be given to both). */
export type ExpressRequestOptions = RequestContextOptions<Request>;

/**
 * A middleware that serves the rest of the request in a scope of its own,
 * holding the request's context and breadcrumbs. Install it first. Throws
 * INVALID_ARGUMENT for a bad option; `channel`, `logger` and `minStatus` are
 * `errorHandler`'s and are accepted here only so both can share one object.
 */
export function requestScope(options?: ExpressRequestOptions): RequestHandler {
  const settings = requestSettings('express requestScope options', options, 'express');
  return function logticketsRequestScope(req, res, next) {
    // Installed twice (an app and a sub-app): the first scope serves the whole request.
    if (requestState(req) !== undefined) return next();
    let context: RequestContext;
    try {
      context = requestContext(settings, facts(req));
      watchRoute(req, context);
      res.once('finish', () => {
        context.status = res.statusCode;
      });
    } catch (error) {
      reportInternalError(settings.where, error);
      return next();
    }
    enterRequest(req, context, () => next());
  };
}

/**
 * An error middleware that logs the error with the request's context, then
 * passes it on (`next(err)`). Install it after the routes, before your own
 * error handlers. Throws INVALID_ARGUMENT for a bad option.
 */
export function errorHandler(options?: ExpressRequestOptions): ErrorRequestHandler {
  const settings = requestSettings('express errorHandler options', options, 'express');
  return function logticketsErrorHandler(err, req, res, next) {
    try {
      const state = stateForError(settings, req, () => facts(req));
      const context = state.context;
      context.route ??= routePattern(req.baseUrl, req.route);
      const status = errorStatus(err, ['status', 'statusCode']);
      // Once the headers are out, the status is the one they carried (express ends the connection).
      context.status = res.headersSent ? res.statusCode : status;
      logRequestError(settings, state, err, status);
    } catch (error) {
      reportInternalError(settings.where, error);
    }
    next(err);
  };
}

function facts(req: Request): RequestFacts<Request> {
  return {
    req,
    method: req.method,
    // The URL the request came with: a router mounted on a path sees only the rest of it in `url`.
    url: req.originalUrl ?? req.url,
    headers: req.headers,
    route: null,
  };
}

/**
 * The route pattern, taken when the router matches a route: then `baseUrl`
 * is the path of the routers it went through, which it no longer is once the
 * error has left them (an app-level error handler sees `baseUrl` empty).
 */
function watchRoute(req: Request, context: RequestContext): void {
  let route: unknown = req.route;
  try {
    defineRoute();
  } catch (error) {
    // Not ours to define: the error handler will take what it finds then.
    reportInternalError('express requestScope', error);
  }
  function defineRoute(): void {
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set(value: unknown) {
        route = value;
        try {
          const pattern = routePattern(req.baseUrl, value);
          if (pattern !== null) context.route = pattern;
        } catch {
          // A route we cannot read: the context keeps what it had.
        }
      },
    });
  }
}

/** `baseUrl` joined with the route's path, or null when there is no route. */
function routePattern(baseUrl: unknown, route: unknown): string | null {
  if (route === null || typeof route !== 'object') return null;
  const path = (route as { path?: unknown }).path;
  const text = Array.isArray(path)
    ? path.map(String).join(', ')
    : typeof path === 'string'
      ? path
      : path instanceof RegExp
        ? String(path)
        : null;
  if (text === null) return null;
  const base = typeof baseUrl === 'string' ? baseUrl : '';
  return (base !== '' && text === '/' ? base : base + text).slice(0, 2_000);
}
