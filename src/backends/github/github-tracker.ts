/**
 * GitHub Issues as a Tracker: one issue per problem, comments for later
 * occurrences, reopened on regression. The tracker keeps no state that
 * decides whether or when to write: the write budget (`writeBudget`, 80 a
 * minute and 500 an hour by default) and rate-limit pauses are kept by the
 * store for the whole fleet.
 * - Octokit set up in github-client.ts: writes spaced out per process, a
 *   rate-limit answer thrown as BACKEND_BUSY with `retryAt`, no write ever
 *   sent twice by a plugin;
 * - `beforeWrite` is awaited before each write request (a label, the issue,
 *   the reopen, each comment); its refusal goes through as it is and ends
 *   the call;
 * - every text written carries the delivery ids in a hidden HTML comment,
 *   which `deliveredIn` finds again after an ambiguous failure;
 * - the problem's issue is found by listing issues with the search label (all
 *   states, every page) and matching a hidden marker in the body — never the
 *   search API, which lags and would create duplicates;
 * - closed as completed → reopened with a comment and the regression label
 *   (or, when the store asks, a comment only); closed as not planned, or
 *   labelled as muted (wontfix, muted) → left alone; deleted → `gone`;
 * - `setState` closes (as completed or not planned) or reopens with a PATCH,
 *   without a comment (github-issue-state.ts);
 * - the search and regression labels are created where the repository lacks
 *   them (github-labels.ts).
 */

import type { Octokit } from 'octokit';
import type { SettableState } from '../ticket-state.js';
import { LogticketsError, secretMatchers, type SecretMatchers } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import type { BudgetWindow } from '../tracker-state.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import type { SetupCheck } from '../tracker/setup-check.js';
import { sinceSecond } from '../tracker/ticket-text.js';
import type {
  AddResult,
  SetStateResult,
  Tracker,
  TrackerCallOptions,
  TrackerChange,
  TrackerProblem,
  TrackerWriteOptions,
} from '../tracker/tracker.js';
import { githubClient } from './github-client.js';
import { checkGitHubOptions, type GitHubTrackerOptions } from './github-options.js';
import { explainGitHubError, issueDeleted } from './github-errors.js';
import { issueChange, issueTicketState, mutedLabelSet, statePatches } from './github-issue-state.js';
import { IssueFinder, issueNumber, labelNames, type Issue } from './github-issues.js';
import { LabelKeeper } from './github-labels.js';
import { issueBody, issueTitle, occurrenceComment } from './github-markdown.js';
import { githubSecrets } from './github-secrets.js';
import { checkGitHubSetup, githubIssueUrl } from './github-setup-check.js';
import { budgetOf } from './write-budget.js';

export type { GitHubAppAuth } from './github-secrets.js';
export type { GitHubTrackerOptions } from './github-options.js';

export class GitHubTracker implements Tracker {
  readonly name: string;
  readonly writeBudget: readonly BudgetWindow[];
  /** Octokit, made on the first request (github-client.ts). */
  private readonly client: () => Promise<Octokit>;
  private readonly owner: string;
  private readonly repo: string;
  private readonly baseUrl: string | undefined;
  private readonly app: boolean;
  private readonly labels: readonly string[];
  private readonly assignees: readonly string[];
  private readonly regressionLabel: string;
  private readonly mutedLabels: ReadonlySet<string>;
  private readonly timeoutMs: number;
  private readonly warn: (key: string, message: string) => void;
  private readonly labelKeeper: LabelKeeper;
  private readonly finder: IssueFinder;
  /** The token or the App's key, as matchers: replaced wherever they show up in an error (out of util.inspect's reach). */
  readonly #secrets: SecretMatchers;

  constructor(options: GitHubTrackerOptions) {
    checkGitHubOptions(options);
    const auth = options.auth;
    this.writeBudget = budgetOf(options.writeBudget);
    this.#secrets = secretMatchers(githubSecrets(auth));
    this.owner = options.owner;
    this.repo = options.repo;
    this.baseUrl = options.baseUrl;
    this.app = typeof auth !== 'string';
    this.name = githubTrackerName(options.baseUrl, options.owner, options.repo);
    this.labels = options.labels ?? ['logtickets'];
    if (this.labels.length === 0)
      throw new LogticketsError('INVALID_ARGUMENT', 'GitHubTracker options.labels needs at least one label');
    this.assignees = options.assignees ?? [];
    this.regressionLabel = options.regressionLabel ?? 'regression';
    this.mutedLabels = mutedLabelSet(options.mutedLabels ?? ['wontfix', 'muted']);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    const report = rateLimitedStderr();
    this.warn = (key, message) => report(`${this.name}|${key}`, message);
    this.client = githubClient({
      auth,
      baseUrl: options.baseUrl,
      writeIntervalMs: options.writeIntervalMs ?? 1_000,
      notifyIntervalMs: options.notifyIntervalMs ?? 3_000,
      secrets: this.#secrets,
      warn: (message) => this.warn('octokit', `${this.name}: ${message}`),
    });
    const call = <T>(action: string, run: () => Promise<T>) => this.call(action, run);
    this.labelKeeper = new LabelKeeper({
      client: this.client,
      owner: this.owner,
      repo: this.repo,
      wanted: [
        [this.labels[0]!, { color: '5319e7', description: 'A problem reported by logtickets' }],
        [this.regressionLabel, { color: 'b60205', description: 'A solved problem that came back (logtickets)' }],
      ],
      call,
      timeoutMs: this.timeoutMs,
      warn: (message) => this.warn('labels-create', `${this.name}: ${message}; issues are labelled as GitHub allows`),
    });
    this.finder = new IssueFinder({
      client: this.client,
      owner: this.owner,
      repo: this.repo,
      searchLabel: this.labels[0]!,
      call,
      signal: (o, factor) => this.signal(o, factor),
    });
  }

  /** See github-setup-check.ts: what is checked, how, and in which order. */
  checkSetup(): Promise<SetupCheck[]> {
    return checkGitHubSetup({
      client: this.client,
      owner: this.owner,
      repo: this.repo,
      baseUrl: this.baseUrl,
      app: this.app,
      searchLabel: this.labels[0]!,
      regressionLabel: this.regressionLabel,
      timeoutMs: this.timeoutMs,
      secrets: this.#secrets,
    });
  }

  /** The issue's page: `https://github.com/<owner>/<repo>/issues/<n>`, or the same on an Enterprise host. */
  ticketUrl(externalId: string): string {
    return githubIssueUrl(this.baseUrl, this.owner, this.repo, externalId);
  }

  find(problem: TrackerProblem, options?: TrackerCallOptions): Promise<string | undefined> {
    return this.finder.find(problem.hash, options);
  }

  async create(problem: TrackerProblem, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<string> {
    const body = issueBody(summary, problem.appId, problem.hash, options?.deliveryIds ?? []);
    await this.labelKeeper.ensure(options?.beforeWrite, options?.signal);
    // Outside call(): a refusal (budget, lease) reaches the caller as it is.
    await options?.beforeWrite?.();
    // Whatever happens now, a listing made before may lack this issue.
    const { data } = await this.finder.creating(() =>
      this.call('create an issue', async () =>
        (await this.client()).rest.issues.create({
          owner: this.owner,
          repo: this.repo,
          title: issueTitle(summary),
          body,
          labels: [...this.labels],
          ...(this.assignees.length > 0 ? { assignees: [...this.assignees] } : {}),
          request: { signal: this.signal(options) },
        }),
      ),
    );
    const labels = data.labels.map((l) => (typeof l === 'string' ? l : l.name));
    if (!labels.includes(this.labels[0])) {
      this.warn(
        'labels',
        `${this.name}: GitHub dropped the "${this.labels[0]}" label (the token needs push access): issues cannot be found again if links are lost`,
      );
    }
    return String(data.number);
  }

  async addOccurrences(id: string, summary: OccurrenceSummary, options?: TrackerWriteOptions): Promise<AddResult> {
    const ids = options?.deliveryIds ?? [];
    const issue_number = issueNumber(id);
    let issue: Issue;
    try {
      issue = await this.getIssue(issue_number, options);
    } catch (error) {
      if (await this.issueGone(error, options)) return 'gone';
      throw error;
    }
    const state = issueTicketState(issue, this.mutedLabels);
    if (state === 'muted') return 'muted';
    if (state === 'solved' && options?.reopen !== false) {
      const labels = labelNames(issue);
      const comment = occurrenceComment(summary, true, ids);
      await this.labelKeeper.ensure(options?.beforeWrite, options?.signal);
      await options?.beforeWrite?.();
      await this.call('reopen an issue', async () =>
        (await this.client()).rest.issues.update(
          this.at(
            {
              issue_number,
              state: 'open' as const,
              state_reason: 'reopened' as const,
              labels: [...new Set([...labels, this.regressionLabel])],
            },
            options,
          ),
        ),
      );
      await this.comment(issue_number, comment, options);
      return 'reopened';
    }
    await this.comment(issue_number, occurrenceComment(summary, false, ids), options);
    return 'commented';
  }

  /**
   * The ids carried by the issue's body, or by a comment updated at or after
   * `since` (taken down to its second: GitHub's times are whole seconds).
   * Reads only. A deleted or missing issue (404, 410) carries none.
   */
  async deliveredIn(
    externalId: string,
    deliveryIds: readonly string[],
    since: Date,
    options?: TrackerCallOptions,
  ): Promise<string[]> {
    const from = sinceSecond(since);
    if (deliveryIds.length === 0) return [];
    const issue_number = issueNumber(externalId);
    let carried: Set<string>;
    try {
      carried = await this.finder.deliveryIds(issue_number, from, options);
    } catch (error) {
      if (error instanceof LogticketsError && (error.status === 404 || error.status === 410)) return [];
      throw error;
    }
    return deliveryIds.filter((id) => carried.has(String(id).toLowerCase()));
  }

  /** Issues with the search label changed at or after `since` (pull requests left out), oldest first. */
  async changedSince(since: Date, options?: TrackerCallOptions): Promise<TrackerChange[]> {
    const issues = await this.finder.list({ since: since.toISOString(), signal: this.signal(options, 4) });
    return issues
      .map((issue) => issueChange(issue, this.mutedLabels))
      .filter((change) => change.updatedAt >= since.toISOString())
      .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
  }

  /** One read of the issue; undefined when it was deleted or is missing from a repository that is there. */
  async readState(externalId: string, options?: TrackerCallOptions): Promise<TrackerChange | undefined> {
    try {
      return issueChange(await this.getIssue(issueNumber(externalId), options), this.mutedLabels);
    } catch (error) {
      if (await this.issueGone(error, options)) return undefined;
      throw error;
    }
  }

  /** See github-issue-state.ts: one PATCH (two for an issue closed as the other kind), nothing when already so. */
  async setState(externalId: string, state: SettableState, options?: TrackerWriteOptions): Promise<SetStateResult> {
    const issue_number = issueNumber(externalId);
    let issue: Issue;
    try {
      issue = await this.getIssue(issue_number, options);
    } catch (error) {
      if (await this.issueGone(error, options)) return 'gone';
      throw error;
    }
    const patches = statePatches(issue, state, this.mutedLabels);
    for (const patch of patches) {
      await options?.beforeWrite?.();
      await this.call("change an issue's state", async () =>
        (await this.client()).rest.issues.update(this.at({ issue_number, ...patch }, options)),
      );
    }
    return patches.length === 0 ? 'unchanged' : 'changed';
  }

  async close(): Promise<void> {
    // Octokit holds no connection open between requests.
  }

  private async getIssue(issue_number: number, options: TrackerCallOptions | undefined): Promise<Issue> {
    const { data } = await this.call('read an issue', async () =>
      (await this.client()).rest.issues.get(this.at({ issue_number }, options)),
    );
    return data as Issue;
  }

  /**
   * Whether a failed read of the issue means it is no more: GitHub says it
   * was deleted (410), or answers 404 for it while the repository is there
   * (a 404 alone may be the repository out of sight).
   */
  private async issueGone(error: unknown, options: TrackerCallOptions | undefined): Promise<boolean> {
    if (issueDeleted(error)) return true;
    if (!(error instanceof LogticketsError) || error.code !== 'TRACKER_FAULT' || error.status !== 404) return false;
    try {
      const { data } = await this.call('read the repository', async () =>
        (await this.client()).rest.repos.get(this.at({}, options)),
      );
      return data.has_issues;
    } catch {
      return false;
    }
  }

  private async comment(issue_number: number, body: string, options: TrackerWriteOptions | undefined): Promise<void> {
    await options?.beforeWrite?.();
    await this.call('comment on an issue', async () =>
      (await this.client()).rest.issues.createComment(this.at({ issue_number, body }, options)),
    );
  }

  /** A request's timeout (`factor` × timeoutMs), combined with the caller's signal. */
  private signal(options: TrackerCallOptions | undefined, factor = 1): AbortSignal {
    const timeout = AbortSignal.timeout(this.timeoutMs * factor);
    return options?.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  }

  /** Owner, repo and a timeout for one request. */
  private at<T extends object>(
    params: T,
    options?: TrackerCallOptions,
  ): T & { owner: string; repo: string; request: { signal: AbortSignal } } {
    return { owner: this.owner, repo: this.repo, ...params, request: { signal: this.signal(options) } };
  }

  /** Run a request; every failure becomes a LogticketsError that says what to do about it. */
  private async call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (thrown) {
      throw explainGitHubError(thrown, action, {
        name: this.name,
        repo: `${this.owner}/${this.repo}`,
        timeoutMs: this.timeoutMs,
        secrets: this.#secrets,
      });
    }
  }
}

/** `github:[host/]owner/repo`, credential-free: the tracker's name in stats, errors, links and the outbox. */
export function githubTrackerName(baseUrl: string | undefined, owner: string, repo: string): string {
  return `github:${baseUrl === undefined ? '' : `${new URL(baseUrl).host}/`}${owner}/${repo}`;
}
