/**
 * The reads of a GitHubTracker: finding a problem's issue by the hidden
 * fingerprint marker in its body, listing logtickets' issues, and reading
 * the delivery ids an issue's text carries.
 *
 * Finding lists every issue with the search label (all states, every page)
 * once, and keeps that map for 30 s so that a burst of new problems costs one
 * listing. A hit in it is sure (issues are never moved between problems); a
 * miss is only trusted after looking at the issues changed since that
 * listing (one small request), so that an issue created meanwhile — by
 * another process, or by a create of this one whose answer was lost — is
 * never taken for "no issue". Creates forget the map, and a listing that was
 * under way during a create is not kept.
 */

import type { Octokit } from 'octokit';
import { LogticketsError } from '../../errors.js';
import type { TrackerCallOptions } from '../tracker/tracker.js';
import { deliveryIdsIn } from '../tracker/ticket-text.js';

export interface Issue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  state_reason?: string | null;
  labels: Array<string | { name?: string }>;
  updated_at: string;
  closed_at?: string | null;
  pull_request?: unknown;
}

export interface IssueFinderOptions {
  /** The client, made on first use (github-client.ts). */
  readonly client: () => Promise<Octokit>;
  readonly owner: string;
  readonly repo: string;
  readonly searchLabel: string;
  /** Runs a request, turning failures into LogticketsErrors. */
  readonly call: <T>(action: string, run: () => Promise<T>) => Promise<T>;
  /** A request's timeout (`factor` × the tracker's), combined with the caller's signal. */
  readonly signal: (options: TrackerCallOptions | undefined, factor?: number) => AbortSignal;
}

const MARKER = /<!-- logtickets:fingerprint=([0-9a-f]{40}) -->/;
const LISTING_MS = 30_000;
/** How far before a listing's start the look at newer issues reaches, for GitHub's clock and ours. */
const CLOCK_MARGIN_MS = 5 * 60_000;

interface Listing {
  /** Our clock when the listing was asked for. */
  readonly at: number;
  readonly byHash: Map<string, number>;
}

export class IssueFinder {
  private listing: Listing | undefined;
  /** Moves on at each create: a listing asked for in an older generation is not kept. */
  private generation = 0;

  constructor(private readonly options: IssueFinderOptions) {}

  async find(hash: string, call?: TrackerCallOptions): Promise<string | undefined> {
    let listing = this.listing;
    if (listing === undefined || Date.now() - listing.at > LISTING_MS) {
      listing = await this.fullListing(call);
    } else if (!listing.byHash.has(hash)) {
      // A miss in a kept listing: look at what changed since, then decide.
      const generation = this.generation;
      const since = new Date(listing.at - CLOCK_MARGIN_MS).toISOString();
      const newer = await this.list({ since, signal: this.options.signal(call, 4) });
      addIssues(listing.byHash, newer);
      if (generation !== this.generation && this.listing === listing) this.listing = undefined;
    }
    const number = listing.byHash.get(hash);
    return number === undefined ? undefined : String(number);
  }

  /** Run a create: the kept listing is forgotten before and after it, whatever its outcome. */
  async creating<T>(run: () => Promise<T>): Promise<T> {
    this.forget();
    try {
      return await run();
    } finally {
      this.forget();
    }
  }

  /** Every issue with the search label (all states, every page), without pull requests. */
  async list(params: { since?: string; signal: AbortSignal }): Promise<Issue[]> {
    const { client, owner, repo } = this.options;
    const issues = await this.options.call('list issues', async () => {
      const octokit = await client();
      return octokit.paginate(octokit.rest.issues.listForRepo, {
        owner,
        repo,
        labels: this.options.searchLabel,
        state: 'all',
        per_page: 100,
        ...(params.since === undefined ? {} : { since: params.since }),
        request: { signal: params.signal },
      });
    });
    return (issues as Issue[]).filter((issue) => !issue.pull_request);
  }

  /**
   * The delivery ids (lower case) in the issue's body and in its comments
   * updated at or after `since`, taken down to its second. Throws the
   * translated error of a failed read (404, 410 included).
   */
  async deliveryIds(issue_number: number, since: Date, call?: TrackerCallOptions): Promise<Set<string>> {
    const { client, owner, repo, signal } = this.options;
    const { data: issue } = await this.options.call('read an issue', async () =>
      (await client()).rest.issues.get({ owner, repo, issue_number, request: { signal: signal(call) } }),
    );
    const from = since.toISOString().replace(/\.000Z$/, 'Z');
    const comments = await this.options.call('list comments', async () => {
      const octokit = await client();
      return octokit.paginate(octokit.rest.issues.listComments, {
        owner,
        repo,
        issue_number,
        since: from,
        per_page: 100,
        request: { signal: signal(call, 4) },
      });
    });
    const texts = [issue.body ?? '', ...comments.map((c) => c.body ?? '')];
    return new Set(texts.flatMap((text) => deliveryIdsIn(text)));
  }

  private forget(): void {
    this.generation++;
    this.listing = undefined;
  }

  private async fullListing(call: TrackerCallOptions | undefined): Promise<Listing> {
    const generation = this.generation;
    const at = Date.now();
    const issues = await this.list({ signal: this.options.signal(call, 4) });
    const listing: Listing = { at, byHash: new Map() };
    addIssues(listing.byHash, issues);
    if (generation === this.generation) this.listing = listing;
    return listing;
  }
}

/** The issue number an external id names; anything else is an INVALID_ARGUMENT. */
export function issueNumber(externalId: string): number {
  const n = Number(externalId);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new LogticketsError('INVALID_ARGUMENT', `not a GitHub issue number: ${JSON.stringify(externalId)}`);
  }
  return n;
}

export function labelNames(issue: Issue): string[] {
  return issue.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((l) => l !== '');
}

/** Each marked issue by its fingerprint; the oldest issue of a fingerprint wins, should a duplicate ever exist. */
function addIssues(byHash: Map<string, number>, issues: readonly Issue[]): void {
  for (const issue of issues) {
    const found = MARKER.exec(issue.body ?? '');
    if (found !== null && !(byHash.get(found[1]!)! < issue.number)) byHash.set(found[1]!, issue.number);
  }
}
