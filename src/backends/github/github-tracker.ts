/**
 * GitHub Issues as a Tracker: one issue per problem, comments for later
 * occurrences, reopened on regression, within GitHub's limits.
 * - Octokit with its throttling and retry plugins, set up for this use: writes
 *   spaced out (1 s; 3 s for those that notify), rate-limit answers
 *   (403/429 with retry-after or x-ratelimit-reset) waited out by pausing all
 *   deliveries (writesBlockedUntil) rather than retried on the spot, and a
 *   create never retried by the plugin (a 5xx may come after the issue was
 *   made: the next attempt looks for its marker first);
 * - a write budget per tracker instance (default 80 per minute, 500 per hour);
 * - the problem's issue is found by listing issues with the search label (all
 *   states, every page) and matching a hidden marker in the body — never the
 *   search API, which lags and would create duplicates;
 * - closed as completed → reopened with a comment and the regression label;
 *   closed as not planned, or labelled as muted (wontfix) → left alone;
 * - the search and regression labels are created where the repository lacks
 *   them (github-labels.ts).
 */

import { createAppAuth } from '@octokit/auth-app';
import Bottleneck from 'bottleneck';
import { Octokit } from 'octokit';
import { LogticketsError, redactSecrets, secretMatchers, type SecretMatchers } from '../../errors.js';
import { rateLimitedStderr } from '../../logging/internal-error.js';
import { checkOptions } from '../../options.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import type { SetupCheck } from '../tracker/setup-check.js';
import type { AddResult, Tracker, TrackerCallOptions, TrackerChange, TrackerProblem } from '../tracker/tracker.js';
import { appJwtSigner, renewInstallationTokenOn401 } from './github-app-jwt.js';
import { explainGitHubError } from './github-errors.js';
import { LabelKeeper } from './github-labels.js';
import { issueBody, issueTitle, occurrenceComment } from './github-markdown.js';
import { githubSecrets, type GitHubAppAuth } from './github-secrets.js';
import { checkGitHubSetup, githubIssueUrl } from './github-setup-check.js';
import { WriteBudget, type BudgetWindow } from './write-budget.js';

export type { GitHubAppAuth } from './github-secrets.js';

export interface GitHubTrackerOptions {
  readonly owner: string;
  readonly repo: string;
  /** A token, or GitHub App credentials. */
  readonly auth: string | GitHubAppAuth;
  /** GitHub Enterprise Server: `https://HOST/api/v3` (default api.github.com). */
  readonly baseUrl?: string;
  /** Labels of new issues (default `['logtickets']`); the first one is how logtickets finds its issues. */
  readonly labels?: readonly string[];
  readonly assignees?: readonly string[];
  /** Added to an issue reopened by a regression (default `regression`). */
  readonly regressionLabel?: string;
  /** Issues with one of these labels are never reopened (default `['wontfix']`). */
  readonly mutedLabels?: readonly string[];
  /** Writes allowed per window (default 80 per minute and 500 per hour). */
  readonly writeBudget?: readonly BudgetWindow[];
  /** Least time between two writes (default 1 000 ms), and between two that notify people (default 3 000 ms). */
  readonly writeIntervalMs?: number;
  readonly notifyIntervalMs?: number;
  /** Per request (default 15 000 ms). */
  readonly timeoutMs?: number;
}

interface Issue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  state_reason?: string | null;
  labels: Array<string | { name?: string }>;
  updated_at: string;
  pull_request?: unknown;
}

const MARKER = /<!-- logtickets:fingerprint=([0-9a-f]{40}) -->/;
const silent = () => undefined;

export class GitHubTracker implements Tracker {
  readonly name: string;
  private readonly octokit: Octokit;
  private readonly owner: string;
  private readonly repo: string;
  private readonly baseUrl: string | undefined;
  private readonly app: boolean;
  private readonly labels: readonly string[];
  private readonly assignees: readonly string[];
  private readonly regressionLabel: string;
  private readonly mutedLabels: ReadonlySet<string>;
  private readonly budget: WriteBudget;
  private readonly timeoutMs: number;
  private readonly warn: (key: string, message: string) => void;
  private readonly labelKeeper: LabelKeeper;
  /** The token or the App's key, as matchers: replaced wherever they show up in an error (out of util.inspect's reach). */
  readonly #secrets: SecretMatchers;
  private pausedUntil = 0;
  /** Marker → issue number from the last listing; forgotten after a create attempt or 30 s. */
  private listing: { at: number; byHash: Map<string, number> } | undefined;

  constructor(options: GitHubTrackerOptions) {
    checkOptions('GitHubTracker options', options, {
      owner: 'string',
      repo: 'string',
      auth: 'any',
      baseUrl: 'string',
      labels: 'array',
      assignees: 'array',
      regressionLabel: 'string',
      mutedLabels: 'array',
      writeBudget: 'array',
      writeIntervalMs: { integer: { min: 0 } },
      notifyIntervalMs: { integer: { min: 0 } },
      timeoutMs: { integer: { min: 1 } },
    });
    for (const key of ['owner', 'repo'] as const) {
      if (typeof options?.[key] !== 'string' || options[key] === '') {
        throw new LogticketsError('INVALID_ARGUMENT', `GitHubTracker options.${key} is required`);
      }
    }
    const auth = options.auth;
    if (typeof auth === 'string') {
      if (auth.trim() === '')
        throw new LogticketsError('INVALID_ARGUMENT', 'GitHubTracker options.auth: the token is empty');
    } else {
      checkOptions('GitHubTracker options.auth', auth, { appId: 'any', privateKey: 'string', installationId: 'any' });
      if (auth === undefined || !auth.appId || !auth.privateKey || !auth.installationId) {
        throw new LogticketsError(
          'INVALID_ARGUMENT',
          'GitHubTracker options.auth must be a token or { appId, privateKey, installationId }',
        );
      }
    }
    if (options.baseUrl !== undefined && !/^https?:\/\//.test(options.baseUrl)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `GitHubTracker options.baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`,
      );
    }
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
    this.mutedLabels = new Set(options.mutedLabels ?? ['wontfix']);
    this.budget = new WriteBudget(options.writeBudget);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    const report = rateLimitedStderr();
    this.warn = (key, message) => report(`${this.name}|${key}`, message);
    const pause = (seconds: number) => {
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.max(1, seconds) * 1000);
      return false; // not retried by the plugin: the deliverer waits, then tries again
    };
    this.octokit = new Octokit({
      baseUrl: options.baseUrl,
      userAgent: 'logtickets',
      ...(typeof auth === 'string'
        ? { auth }
        : {
            authStrategy: createAppAuth,
            // The JWT is signed here, so that a key that cannot sign is a clear AUTH_FAILED (github-app-jwt.ts).
            auth: { appId: auth.appId, installationId: auth.installationId, createJwt: appJwtSigner(auth.privateKey) },
          }),
      throttle: {
        onRateLimit: pause,
        onSecondaryRateLimit: pause,
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeIntervalMs ?? 1_000 }),
        notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.notifyIntervalMs ?? 3_000 }),
      },
      // Rate limits (403/429) are waited out by the deliverer, not retried here.
      retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
      log: {
        debug: silent,
        info: silent,
        warn: (m: string) => this.warn('octokit', `${this.name}: ${redactSecrets(String(m), this.#secrets)}`),
        error: silent,
      },
    });
    if (this.app) renewInstallationTokenOn401(this.octokit);
    this.labelKeeper = new LabelKeeper({
      octokit: this.octokit,
      owner: this.owner,
      repo: this.repo,
      wanted: [
        [this.labels[0]!, { color: '5319e7', description: 'A problem reported by logtickets' }],
        [this.regressionLabel, { color: 'b60205', description: 'A solved problem that came back (logtickets)' }],
      ],
      call: (action, run) => this.call(action, run),
      spend: () => this.budget.spend(),
      timeoutMs: this.timeoutMs,
      warn: (message) => this.warn('labels-create', `${this.name}: ${message}; issues are labelled as GitHub allows`),
    });
  }

  /** See github-setup-check.ts: what is checked, how, and in which order. */
  checkSetup(): Promise<SetupCheck[]> {
    return checkGitHubSetup({
      octokit: this.octokit,
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

  /** A rate-limit pause, or the write budget: a delivery makes at most two writes, the first ones up to two more (labels). */
  writesBlockedUntil(): string | undefined {
    const at = Math.max(this.pausedUntil, this.budget.availableAt(this.labelKeeper.settled ? 2 : 4));
    return at > Date.now() ? new Date(at).toISOString() : undefined;
  }

  async find(problem: TrackerProblem, options?: TrackerCallOptions): Promise<string | undefined> {
    if (this.listing === undefined || Date.now() - this.listing.at > 30_000) {
      const issues = await this.listIssues({ signal: this.signal(options, 4) });
      const byHash = new Map<string, number>();
      for (const issue of issues) {
        const found = MARKER.exec(issue.body ?? '');
        // The oldest issue of a fingerprint wins, should a duplicate ever exist.
        if (found !== null && !(byHash.get(found[1]!)! < issue.number)) byHash.set(found[1]!, issue.number);
      }
      this.listing = { at: Date.now(), byHash };
    }
    const number = this.listing.byHash.get(problem.hash);
    return number === undefined ? undefined : String(number);
  }

  async create(problem: TrackerProblem, summary: OccurrenceSummary, options?: TrackerCallOptions): Promise<string> {
    await this.labelKeeper.ensure();
    // Whatever happens, the listing may now be missing this issue.
    this.listing = undefined;
    this.budget.spend();
    const { data } = await this.call('create an issue', () =>
      this.octokit.rest.issues.create({
        owner: this.owner,
        repo: this.repo,
        title: issueTitle(summary),
        body: issueBody(summary, problem.appId, problem.hash),
        labels: [...this.labels],
        ...(this.assignees.length > 0 ? { assignees: [...this.assignees] } : {}),
        // Never retried blindly: a 5xx may come after the issue was created.
        request: { retries: 0, signal: this.signal(options) },
      }),
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

  async addOccurrences(id: string, summary: OccurrenceSummary, options?: TrackerCallOptions): Promise<AddResult> {
    const issue_number = Number(id);
    let issue: Issue;
    try {
      issue = (await this.call('read an issue', () => this.octokit.rest.issues.get(this.at({ issue_number }, options))))
        .data as Issue;
    } catch (error) {
      if (
        error instanceof LogticketsError &&
        error.code === 'TRACKER_FAULT' &&
        (error.status === 404 || error.status === 410) &&
        !/repository|disabled/.test(error.message)
      )
        return 'gone';
      throw error;
    }
    const labels = labelNames(issue);
    if (labels.some((l) => this.mutedLabels.has(l))) return 'muted';
    if (issue.state === 'closed') {
      if (issue.state_reason === 'not_planned') return 'muted';
      await this.labelKeeper.ensure();
      this.budget.spend();
      await this.call('reopen an issue', () =>
        this.octokit.rest.issues.update(
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
      await this.comment(issue_number, occurrenceComment(summary, true), options);
      return 'reopened';
    }
    await this.comment(issue_number, occurrenceComment(summary, false), options);
    return 'commented';
  }

  /** Issues with the search label changed at or after `since` (pull requests left out), oldest first. */
  async changedSince(since: Date, options?: TrackerCallOptions): Promise<TrackerChange[]> {
    const issues = await this.listIssues({ since: since.toISOString(), signal: this.signal(options, 4) });
    return issues
      .map((issue) => ({
        externalId: String(issue.number),
        state: issue.state === 'closed' ? ('closed' as const) : ('open' as const),
        resolution: issue.state === 'closed' ? (issue.state_reason ?? null) : null,
        updatedAt: new Date(issue.updated_at).toISOString(),
        labels: labelNames(issue),
      }))
      .filter((change) => change.updatedAt >= since.toISOString())
      .sort((a, b) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : 0));
  }

  async close(): Promise<void> {
    // Octokit holds no connection open between requests.
  }

  /** Every issue with the search label (all states, every page), without pull requests. */
  private async listIssues(params: { since?: string; signal: AbortSignal }): Promise<Issue[]> {
    const issues = await this.call('list issues', () =>
      this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
        owner: this.owner,
        repo: this.repo,
        labels: this.labels[0],
        state: 'all',
        per_page: 100,
        ...(params.since === undefined ? {} : { since: params.since }),
        request: { signal: params.signal },
      }),
    );
    return (issues as Issue[]).filter((issue) => !issue.pull_request);
  }

  private async comment(issue_number: number, body: string, options: TrackerCallOptions | undefined): Promise<void> {
    this.budget.spend();
    await this.call('comment on an issue', () =>
      this.octokit.rest.issues.createComment(this.at({ issue_number, body }, options)),
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
      const { error, pauseUntil } = explainGitHubError(thrown, action, {
        name: this.name,
        repo: `${this.owner}/${this.repo}`,
        timeoutMs: this.timeoutMs,
        secrets: this.#secrets,
      });
      if (pauseUntil !== undefined) this.pausedUntil = Math.max(this.pausedUntil, pauseUntil);
      throw error;
    }
  }
}

/** `github:[host/]owner/repo`, credential-free: the tracker's name in stats, errors, links and the outbox. */
export function githubTrackerName(baseUrl: string | undefined, owner: string, repo: string): string {
  return `github:${baseUrl === undefined ? '' : `${new URL(baseUrl).host}/`}${owner}/${repo}`;
}

function labelNames(issue: Issue): string[] {
  return issue.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((l) => l !== '');
}
