/**
 * A budget of writes per time window, below GitHub's secondary limits (by
 * default 80 per minute and 500 per hour): the deliverer asks before each
 * delivery and postpones it until the budget allows, instead of letting
 * GitHub refuse and then being banned for longer.
 */

export interface BudgetWindow {
  readonly writes: number;
  readonly perMs: number;
}

export const GITHUB_WRITE_BUDGET: readonly BudgetWindow[] = [
  { writes: 80, perMs: 60_000 },
  { writes: 500, perMs: 3_600_000 },
];

export class WriteBudget {
  private readonly times: number[] = [];
  private readonly longest: number;

  constructor(
    readonly windows: readonly BudgetWindow[] = GITHUB_WRITE_BUDGET,
    private readonly now: () => number = Date.now,
  ) {
    this.longest = Math.max(0, ...windows.map((w) => w.perMs));
  }

  /** When `n` more writes fit in every window: now, or a later time (ms since epoch). */
  availableAt(n = 1): number {
    const now = this.now();
    this.forget(now);
    let at = now;
    for (const window of this.windows) {
      const since = now - window.perMs;
      const inWindow = this.times.filter((t) => t > since);
      const over = inWindow.length + n - window.writes;
      // The write that has to leave the window first decides when there is room.
      if (over > 0) at = Math.max(at, (inWindow[over - 1] ?? now) + window.perMs + 1);
    }
    return at;
  }

  /** Count one write made now. */
  spend(): void {
    this.times.push(this.now());
  }

  used(perMs: number): number {
    const since = this.now() - perMs;
    return this.times.filter((t) => t > since).length;
  }

  private forget(now: number): void {
    while (this.times.length > 0 && this.times[0]! <= now - this.longest) this.times.shift();
  }
}
