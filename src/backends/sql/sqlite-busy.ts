/**
 * SQLite's "busy": another connection holds the write lock (or, while a
 * store is created, the journal mode switch). Statements are sent with no
 * busy wait inside SQLite, which would sleep on the thread that runs them;
 * they are tried again here after short pauses instead. Used on the
 * application's thread and in the SQLite worker thread alike.
 */

export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Run `fn` again, after short random pauses, while it fails with an error `transient` accepts. */
export async function retryWhileBusy<T>(
  fn: () => Promise<T>,
  waitMs: number,
  transient: (error: unknown) => boolean = isBusy,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!transient(error) || Date.now() > deadline) throw error;
      const pause = Math.min(50, 1 + attempt) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
