/**
 * The fleet's outbox seen from the bench process: the shared store's outbox
 * rows counted every few ms, to know the peak, and when everything was
 * delivered (no row left once every replica has written its flood).
 */

import type { TicketStore } from '../src/index.js';

export class OutboxWatch {
  /** Most rows seen at once. */
  peak = 0;
  samples = 0;
  private last = -1;
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> | undefined;
  private waiters: Array<{ check: (rows: number) => boolean; resolve: (at: number) => void }> = [];

  constructor(
    private readonly store: TicketStore,
    private readonly everyMs = 20,
  ) {}

  start(): this {
    const tick = () => {
      this.looking = this.look()
        .catch((error: unknown) => void process.stderr.write(`outbox watch: ${String(error)}\n`))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.everyMs);
        });
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  /** Resolves the time of the first sample from now on with no row left; undefined after `timeoutMs`. */
  async untilEmpty(timeoutMs: number): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
    const empty = new Promise<number>((resolve) => this.waiters.push({ check: (rows) => rows === 0, resolve }));
    try {
      return await Promise.race([empty, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Rows at the last sample. */
  get rows(): number {
    return this.last;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.looking;
  }

  private async look(): Promise<void> {
    const rows = await this.store.countOutbox();
    const at = Date.now();
    this.samples++;
    this.last = rows;
    this.peak = Math.max(this.peak, rows);
    for (const w of this.waiters.filter((x) => x.check(rows))) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(at);
    }
  }
}
