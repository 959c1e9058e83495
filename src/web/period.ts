/**
 * The period a dashboard view covers: one of the named spans (the last 24
 * hours, 7 days, 30 days) or a custom window, and the bucket its histograms
 * use. A named period ends with the bucket that holds "now", so the last bar
 * is the current hour (or day) and every bar is a whole bucket.
 */

import {
  BUCKET_MS,
  BUCKETS,
  bucketStart,
  checkBucket,
  checkWindow,
  type Bucket,
  type CheckedWindow,
} from '../backends/analytics.js';
import { ApiError } from './api-error.js';

export const PERIOD_NAMES = ['24h', '7d', '30d'] as const;
export type PeriodName = (typeof PERIOD_NAMES)[number];
const SPAN_MS: Readonly<Record<PeriodName, number>> = {
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
export const DEFAULT_PERIOD: PeriodName = '7d';

export interface Period extends CheckedWindow {
  readonly name: PeriodName | 'custom';
  readonly bucket: Bucket;
}

/** The bucket the overview gives a span: days, but hours up to 2 days and minutes up to 6 hours. */
export function dailyBucketFor(spanMs: number): Bucket {
  return spanMs <= 2 * 86_400_000 ? bucketFor(spanMs) : 'day';
}

/** The bucket a span of time gets: minutes up to 6 hours, hours up to 8 days, else days. */
export function bucketFor(spanMs: number): Bucket {
  if (spanMs <= 6 * 3_600_000) return 'minute';
  if (spanMs <= 8 * 86_400_000) return 'hour';
  return 'day';
}

/**
 * The period of a request: `period=24h|7d|30d` (default 7d), or
 * `period=custom` (or no period) with `from` and `to` (ISO 8601); `bucket` overrides the bucket chosen
 * from the span. Errors name the parameter.
 */
export function periodOf(
  params: URLSearchParams,
  nowMs: number,
  choose: (spanMs: number) => Bucket = bucketFor,
): Period {
  const asked = params.get('bucket') || null;
  const from = params.get('from') || null;
  const to = params.get('to') || null;
  const named = params.get('period') || null;
  let window: CheckedWindow;
  let name: Period['name'];
  // A named period wins over leftover from/to; without a name, from/to make a custom one.
  if (named === 'custom' || (named === null && (from !== null || to !== null))) {
    if (from === null || to === null)
      throw new ApiError(400, 'a custom period needs both from and to (ISO 8601 times)');
    window = asApiError(() => checkWindow({ from, to }));
    name = 'custom';
  } else {
    const chosen = named ?? DEFAULT_PERIOD;
    if (!(PERIOD_NAMES as readonly string[]).includes(chosen)) {
      throw new ApiError(
        400,
        `period must be one of ${PERIOD_NAMES.join(', ')} or custom, got ${JSON.stringify(chosen)}`,
      );
    }
    name = chosen as PeriodName;
    // The window ends with the bucket that holds now, so every bar is a whole bucket.
    const fit =
      asked === null || asked === 'auto' || !(BUCKETS as readonly string[]).includes(asked)
        ? choose(SPAN_MS[name])
        : (asked as Bucket);
    const end = bucketStart(nowMs, fit) + BUCKET_MS[fit];
    window = checkWindow({ from: new Date(end - SPAN_MS[name]).toISOString(), to: new Date(end).toISOString() });
  }
  const bucket = asked === null || asked === 'auto' ? choose(window.toMs - window.fromMs) : asked;
  return { ...window, name, bucket: asApiError(() => checkBucket(bucket, window)) };
}

/**
 * Run a check of the store's contract (or a store call): its INVALID_ARGUMENT
 * becomes a 400 with the same message, which names the argument.
 */
export function asApiError<T>(check: () => T): T {
  try {
    const result = check();
    return (result instanceof Promise ? result.catch(toApiError) : result) as T;
  } catch (error) {
    return toApiError(error);
  }
}

function toApiError(error: unknown): never {
  if ((error as { code?: string }).code === 'INVALID_ARGUMENT') throw new ApiError(400, (error as Error).message);
  throw error;
}
