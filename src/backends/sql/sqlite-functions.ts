/**
 * The functions the SQL store adds to each of its SQLite connections (on the
 * worker thread and on the application's), for what SQLite does not do
 * itself.
 *
 * `logtickets_fold(text)` folds case as JavaScript does: SQLite's own
 * `lower()` folds ASCII letters only, and a ticket search ignores case the
 * same way in every store (the in-memory reference folds with
 * `toLowerCase`, PostgreSQL with `lower()` in a UTF-8 locale).
 */

export const SQLITE_FOLD = 'logtickets_fold';

interface FunctionHost {
  function(name: string, options: { deterministic: boolean }, fn: (value: unknown) => unknown): unknown;
}

export function addSqliteFunctions(db: FunctionHost): void {
  db.function(SQLITE_FOLD, { deterministic: true }, (value) =>
    typeof value === 'string' ? value.toLowerCase() : value,
  );
}
