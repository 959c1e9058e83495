/**
 * Reporting logtickets' own trouble without ever throwing into the
 * application: one line on stderr, at most once per key per interval, with
 * a count of what was held back.
 */

import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { maskSecrets } from '../errors.js';

export interface RateLimitedReporter {
  (key: string, message: string): void;
}

/**
 * stderr as logtickets writes it: through the stream on the main thread; in a
 * worker thread (a pino transport runs in one) straight to descriptor 2,
 * because a worker's stream goes through the main thread and a line written
 * just before the process exits would be lost.
 */
function writeStderr(line: string): void {
  if (isMainThread) process.stderr.write(line);
  else writeSync(2, line);
}

export function rateLimitedStderr(
  intervalMs = 30_000,
  write: (line: string) => unknown = writeStderr,
): RateLimitedReporter {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (key, message) => {
    const now = Date.now();
    const seen = last.get(key);
    if (seen !== undefined && now - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    const held = seen !== undefined && seen.suppressed > 0 ? ` (${seen.suppressed} similar messages held back)` : '';
    last.set(key, { at: now, suppressed: 0 });
    if (last.size > 1000) last.delete(last.keys().next().value as string);
    try {
      // One line, also when a store's or a tracker's message has several.
      write(
        `logtickets: ${maskSecrets(message)
          .trim()
          .replace(/\s*[\r\n\u2028\u2029]+\s*/g, '; ')}${held}\n`,
      );
    } catch {
      // stderr itself failed: nothing more can be done without disturbing the application.
    }
  };
}

const report = rateLimitedStderr();

/** A handler or filter threw while a record was dispatched. */
export function reportInternalError(where: string, error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  report(where, `${where} failed: ${message}`);
}
