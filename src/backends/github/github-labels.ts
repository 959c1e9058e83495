/**
 * The labels logtickets needs in a repository (the search label and the
 * regression label), created where the repository lacks them: once per
 * tracker instance, before the first issue or reopen that carries them
 * (GitHub's API does not promise to make a missing label on its own).
 * Never fails a delivery for GitHub's sake: a label that cannot be made is
 * warned about, and GitHub keeps or drops labels as the credentials' access
 * allows. After a retryable failure (outage, rate limit) it is tried again
 * with the next delivery.
 *
 * Creating a label is a write like any other: the calling delivery's
 * `beforeWrite` is awaited first, and its refusal (no budget, lease lost)
 * reaches that delivery untouched, the label being tried again next time.
 */

import type { Octokit } from 'octokit';
import { LogticketsError } from '../../errors.js';

export interface LabelKeeperOptions {
  /** The client, made on first use (github-client.ts). */
  readonly client: () => Promise<Octokit>;
  readonly owner: string;
  readonly repo: string;
  readonly wanted: ReadonlyArray<readonly [string, { readonly color: string; readonly description: string }]>;
  /** Runs a request, turning failures into LogticketsErrors. */
  readonly call: <T>(action: string, run: () => Promise<T>) => Promise<T>;
  readonly timeoutMs: number;
  readonly warn: (message: string) => void;
}

/** A refusal of `beforeWrite`, carried through the label work to be rethrown as it was. */
class WriteRefused {
  constructor(readonly reason: unknown) {}
}

export class LabelKeeper {
  private ready: Promise<void> | undefined;
  /** Done, for good or as far as it can be: later deliveries make no label writes. */
  settled = false;

  constructor(private readonly options: LabelKeeperOptions) {}

  /**
   * Make the missing labels, awaiting `beforeWrite` before each creation.
   * Rejects only with a refusal of `beforeWrite` (as it came). Calls made
   * while the work is under way share it.
   */
  async ensure(beforeWrite?: () => Promise<void>, signal?: AbortSignal): Promise<void> {
    this.ready ??= this.createMissing(beforeWrite, signal).then(
      () => {
        this.settled = true;
      },
      (error: unknown) => {
        if (error instanceof WriteRefused || (error instanceof LogticketsError && error.retryable)) {
          this.ready = undefined;
          if (error instanceof WriteRefused) throw error;
          return;
        }
        this.settled = true;
        // A missing repository is reported by the delivery itself.
        if (!(error instanceof LogticketsError && error.status === 404)) this.options.warn((error as Error).message);
      },
    );
    try {
      await this.ready;
    } catch (error) {
      throw error instanceof WriteRefused ? error.reason : error;
    }
  }

  private async createMissing(
    beforeWrite: (() => Promise<void>) | undefined,
    caller: AbortSignal | undefined,
  ): Promise<void> {
    const { client, owner, repo, call } = this.options;
    // Each request ends at its timeout, or when the caller gives up (a close, a lost lease).
    const signal = () => {
      const timeout = AbortSignal.timeout(this.options.timeoutMs);
      return caller === undefined ? timeout : AbortSignal.any([timeout, caller]);
    };
    const at = <T extends object>(params: T) => ({ owner, repo, ...params, request: { signal: signal() } });
    for (const [name, look] of this.options.wanted) {
      try {
        await call(`read the label "${name}"`, async () => (await client()).rest.issues.getLabel(at({ name })));
        continue;
      } catch (error) {
        if (!(error instanceof LogticketsError) || error.status !== 404) throw error;
      }
      try {
        await beforeWrite?.();
      } catch (refusal) {
        throw new WriteRefused(refusal);
      }
      try {
        await call(`create the label "${name}"`, async () =>
          (await client()).rest.issues.createLabel(at({ name, ...look })),
        );
      } catch (error) {
        // 422: another process made it meanwhile.
        if (!(error instanceof LogticketsError) || error.status !== 422) throw error;
      }
    }
  }
}
