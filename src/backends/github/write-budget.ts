/**
 * GitHub's write budget: how many writes (issues, comments, reopens, labels)
 * a GitHubTracker asks the store to allow per time window. GitHub's secondary
 * limits refuse content-creating requests well before the primary 5 000 an
 * hour, and a refusal earns a longer ban; staying at 80 a minute and 500 an
 * hour keeps logtickets under them.
 *
 * The tracker only states the budget (`GitHubTracker.writeBudget`); the store
 * keeps the times of recent writes for the whole fleet and its deliverer
 * awaits room before each write (`beforeWrite`), so that every process
 * together, not each one, stays within it.
 */

import { LogticketsError } from '../../errors.js';
import { checkWindows, type BudgetWindow } from '../tracker-state.js';

export type { BudgetWindow } from '../tracker-state.js';

export const GITHUB_WRITE_BUDGET: readonly BudgetWindow[] = Object.freeze([
  Object.freeze({ writes: 80, perMs: 60_000 }),
  Object.freeze({ writes: 500, perMs: 3_600_000 }),
]);

/** The budget a GitHubTracker states: GitHub's by default, else a frozen copy of the windows given, checked. */
export function budgetOf(windows: readonly BudgetWindow[] | undefined): readonly BudgetWindow[] {
  if (windows === undefined) return GITHUB_WRITE_BUDGET;
  try {
    checkWindows(windows);
  } catch (error) {
    throw new LogticketsError('INVALID_ARGUMENT', `GitHubTracker options.writeBudget: ${(error as Error).message}`);
  }
  return Object.freeze(windows.map((w) => Object.freeze({ writes: w.writes, perMs: w.perMs })));
}
