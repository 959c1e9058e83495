/**
 * What a record's surroundings add to it: the breadcrumbs that came before
 * it and the request it was logged in. Both belong to an async context, so
 * two requests served at the same time never see each other's:
 *
 *   runInScope({ request }, () => next())   // express, fastify (integrations/)
 *
 * A scope holds its own breadcrumb ring and, inside a request, the request's
 * facts; outside every scope the process-wide ring is used. The logging call
 * adds to `currentRing()` (integrations through `addBreadcrumb`); the
 * ticketing handler reads `currentScope()`.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { BreadcrumbRing, breadcrumbCapacity, breadcrumbsOn, processRing } from './breadcrumbs.js';

/** What is known about the request a record was logged in. Integrations fill it; `status` when known. */
export interface RequestContext {
  /** GET, POST, … */
  method: string;
  /** The route pattern (`/orders/:id`), when the framework knows it. */
  route: string | null;
  /** The path without its query string. */
  path: string;
  /** The response status, once known (an error middleware sets the one it will send). */
  status: number | null;
  /** From the integration's `user` hook; never read from the request by logtickets itself. */
  userId: string | null;
  /** Only the allowlisted headers, lowercase names; never cookies or credentials. */
  headers: Record<string, string>;
}

export interface ContextScope {
  /** This scope's breadcrumbs (null while breadcrumbs are off). */
  readonly breadcrumbs: BreadcrumbRing | null;
  /** The request, inside a request scope; else null. */
  readonly request: RequestContext | null;
}

const scopes = new AsyncLocalStorage<ContextScope>();

/** Run `fn` in a new scope with a ring of its own and, optionally, a request. */
export function runInScope<T>(options: { request?: RequestContext | null }, fn: () => T): T {
  const capacity = breadcrumbCapacity();
  const scope: ContextScope = {
    breadcrumbs: capacity > 0 ? new BreadcrumbRing(capacity) : null,
    request: options.request ?? null,
  };
  return scopes.run(scope, fn);
}

/** The scope of the running code, or undefined outside every scope. */
export function currentScope(): ContextScope | undefined {
  return scopes.getStore();
}

/** The ring breadcrumbs go to now: the scope's, else the process-wide one (null when off). */
export function currentRing(): BreadcrumbRing | null {
  if (!breadcrumbsOn) return null;
  const scope = scopes.getStore();
  return scope === undefined ? processRing() : scope.breadcrumbs;
}

/**
 * Keep a breadcrumb in the current ring: for integrations that receive
 * records from another logger (pino, winston). `msg` is the template or the
 * finished message (with no `args` it is kept as it is, a `%` included);
 * `time` is epoch ms (default: now). References only; nothing is formatted
 * here. Does nothing while breadcrumbs are off; never throws.
 */
export function addBreadcrumb(
  level: number,
  channel: string,
  msg: unknown,
  args: readonly unknown[] = [],
  time?: number,
): void {
  if (!breadcrumbsOn) return;
  try {
    if (!Number.isSafeInteger(level) || level < 0 || level > 1000) return;
    const ring = currentRing();
    if (ring === null) return;
    const at = typeof time === 'number' && Number.isFinite(time) ? time : Date.now();
    ring.push(at, level, typeof channel === 'string' ? channel : String(channel), msg, Array.isArray(args) ? args : []);
  } catch {
    // A breadcrumb is a nicety: a channel whose String() throws is not worth a report.
  }
}
