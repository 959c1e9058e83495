/**
 * What an occurrence takes from its surroundings (context/scope.ts): the
 * breadcrumbs logged before it and the request it was logged in.
 *
 * In the logging call only references are taken — the ring's entries as they
 * are, and a copy of the request's few fields (the request object changes as
 * the response goes out). Messages are formatted, capped and redacted later,
 * in `prepare`, off the calling path.
 */

import type { Breadcrumb } from '../context/breadcrumbs.js';
import { currentScope, type RequestContext } from '../context/scope.js';
import { BREADCRUMB_FIELDS, DEFAULT_BREADCRUMBS, processRing } from '../context/breadcrumbs.js';
import { formatMessage } from '../logging/format.js';
import { toJsonSafe, type JsonValue } from '../logging/json-safe.js';
import { withJsonText } from '../logging/json-text.js';
import { levelName } from '../logging/level.js';
import { safeText } from '../logging/safe-read.js';
import type { Redactor } from './redaction.js';

/** A breadcrumb's message is a glimpse: longer text is cut. */
export const BREADCRUMB_MESSAGE_LENGTH = 300;
const CHANNEL_LENGTH = 100;

export interface TakenContext {
  /** Oldest first, flat (BreadcrumbRing.flat); null when the handler keeps no breadcrumbs. */
  readonly breadcrumbs: readonly unknown[] | null;
  readonly request: JsonValue;
}

const NOTHING: TakenContext = Object.freeze({ breadcrumbs: null, request: null });

/** At the logging call: the last `keep` breadcrumbs of the current ring, and the request. */
export function takeContext(keep: number): TakenContext {
  const scope = currentScope();
  const ring = scope === undefined ? processRing() : scope.breadcrumbs;
  const request = scope?.request ?? null;
  if (request === null && (keep === 0 || ring === null)) return NOTHING;
  const breadcrumbs = keep > 0 && ring !== null && ring.size > 0 ? ring.flat(keep) : null;
  return { breadcrumbs, request: request === null ? null : requestCopy(request) };
}

function requestCopy(request: RequestContext): JsonValue {
  const headers: { [name: string]: JsonValue } = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name] = String(value).slice(0, 1000);
  return {
    method: String(request.method).slice(0, 20),
    route: request.route === null ? null : String(request.route).slice(0, 500),
    path: String(request.path).slice(0, 2000),
    status: typeof request.status === 'number' ? request.status : null,
    userId: request.userId === null ? null : String(request.userId).slice(0, 200),
    headers,
  };
}

/** Roughly how many bytes the taken context holds (the writer bounds its queue by it). */
export function contextSize(context: TakenContext): number {
  return ((context.breadcrumbs?.length ?? 0) / BREADCRUMB_FIELDS) * 200 + (context.request === null ? 0 : 500);
}

/**
 * What was worked out per breadcrumb, by redactor. A breadcrumb is usually
 * carried by many occurrences in a row (up to the ring's size), so each is
 * formatted and redacted once: by its argument list, which the logging call
 * makes anew for every call, or, for a message without arguments, by its
 * text (small tables, started over when full).
 */
interface CrumbMemo {
  readonly byCall: Map<readonly unknown[], JsonValue>;
  readonly byText: Map<string, string>;
}
const memos = new WeakMap<Redactor, CrumbMemo>();
const TEXTS_KEPT = 2_000;
const CALLS_KEPT = 4 * DEFAULT_BREADCRUMBS;

/** The breadcrumbs as the record keeps them: time, level name, channel, message, redacted. */
export function breadcrumbsData(flat: readonly unknown[], redactor: Redactor): JsonValue[] {
  let memo = memos.get(redactor);
  if (memo === undefined) {
    memo = { byCall: new Map(), byText: new Map() };
    memos.set(redactor, memo);
  }
  const out: JsonValue[] = [];
  for (let o = 0; o < flat.length; o += BREADCRUMB_FIELDS) {
    const crumb: Breadcrumb = {
      time: flat[o] as number,
      level: flat[o + 1] as number,
      channel: flat[o + 2] as string,
      msg: flat[o + 3],
      args: flat[o + 4] as readonly unknown[],
    };
    out.push(crumbData(crumb, redactor, memo));
  }
  return out;
}

function crumbData(crumb: Breadcrumb, redactor: Redactor, memo: CrumbMemo): JsonValue {
  const byCall = crumb.args.length > 0;
  if (byCall) {
    const known = memo.byCall.get(crumb.args);
    if (known !== undefined) return known;
  }
  let message: string | undefined;
  if (!byCall && typeof crumb.msg === 'string') message = memo.byText.get(crumb.msg);
  if (message === undefined) {
    message = redactor.text(toJsonSafe(crumbMessage(crumb)) as string);
    if (!byCall && typeof crumb.msg === 'string') {
      if (memo.byText.size >= TEXTS_KEPT) memo.byText.clear();
      memo.byText.set(crumb.msg, message);
    }
  }
  const data: JsonValue = withJsonText({
    time: new Date(crumb.time).toISOString(),
    level: levelName(crumb.level),
    channel: redactor.text(safeText(crumb.channel).slice(0, CHANNEL_LENGTH)),
    message,
  });
  if (byCall) {
    // Bounded, and started over when full: only the breadcrumbs of recent occurrences come back.
    if (memo.byCall.size >= CALLS_KEPT) memo.byCall.clear();
    memo.byCall.set(crumb.args, data);
  }
  return data;
}

function crumbMessage(crumb: Breadcrumb): string {
  try {
    const template = typeof crumb.msg === 'string' ? crumb.msg : safeText(crumb.msg);
    return formatMessage(template, crumb.args, BREADCRUMB_MESSAGE_LENGTH);
  } catch {
    return '[unprintable]';
  }
}
