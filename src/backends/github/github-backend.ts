/**
 * The GitHub Issues backend: one issue per problem, comments for later
 * occurrences, reopened on regression, within GitHub's limits.
 *
 * The write path, outbox, comment windows and the claim-then-create search
 * are the TrackerBackend's. What is GitHub's:
 * - Octokit with its throttling and retry plugins, set up for this use: writes
 *   spaced out (1 s; 3 s for those that notify), rate-limit answers
 *   (403/429 with retry-after or x-ratelimit-reset) waited out by pausing all
 *   deliveries rather than retried on the spot, and a create never retried by
 *   the plugin (a 5xx may come after the issue was made: the next attempt
 *   looks for its marker first);
 * - a write budget per backend (default 80 per minute, 500 per hour);
 * - the problem's issue is found by listing issues with the search label (all
 *   states, every page) and matching a hidden marker in the body — never the
 *   search API, which lags and would create duplicates;
 * - closed as completed → reopened with a comment and the regression label;
 *   closed as not planned, or labelled as muted (wontfix) → left alone;
 * - the search and regression labels are created, once per process, where
 *   the repository lacks them.
 */

import { createAppAuth } from '@octokit/auth-app';
import Bottleneck from 'bottleneck';
import { Octokit } from 'octokit';
import { LogticketsError, redactSecrets, secretMatchers, type SecretMatchers } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type {
  GetOccurrencesOptions,
  GetTicketsOptions,
  LinkKey,
  StoredOccurrence,
  Ticket,
  TicketFilter,
} from '../contract.js';
import { checkFilter, checkTicketId, occurrenceQuery, ticketNotFound, ticketQuery } from '../query-options.js';
import type { OccurrenceSummary } from '../tracker/occurrence-summary.js';
import { TrackerBackend, type AddResult, type TrackerOptions } from '../tracker/tracker-backend.js';
import type { SetupCheck } from '../tracker/setup-check.js';
import { issueBody, issueTitle, marker, occurrenceComment } from './github-markdown.js';
import { githubSecrets } from './github-secrets.js';
import { checkGitHubSetup, githubIssueUrl } from './github-setup-check.js';
import { WriteBudget, type BudgetWindow } from './write-budget.js';

export interface GitHubAppAuth {
  readonly appId: number | string;
  readonly privateKey: string;
  readonly installationId: number | string;
}

export interface GitHubBackendOptions extends TrackerOptions {
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
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  pull_request?: unknown;
}

const silent = () => undefined;

export class GitHubBackend extends TrackerBackend {
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
  /** The token or the App's key, as matchers: replaced wherever they show up in an error (out of util.inspect's reach). */
  readonly #secrets: SecretMatchers;
  private pausedUntil = 0;
  /** The search and regression labels: being made sure of, or done (see ensureLabels). */
  private labelsReady: Promise<void> | undefined;
  private labelsSettled = false;
  /** Marker → issue number from the last listing; forgotten after a create attempt or 30 s. */
  private listing: { at: number; byHash: Map<string, number> } | undefined;

  constructor(options: GitHubBackendOptions) {
    checkOptions('GitHubBackend options', options, {
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
      commentIntervalMs: { integer: { min: 0 } },
      store: 'any',
      onError: 'function',
      retry: 'object',
      pollIntervalMs: { integer: { min: 10 } },
    });
    for (const key of ['owner', 'repo'] as const) {
      if (typeof options?.[key] !== 'string' || options[key] === '') {
        throw new LogticketsError('INVALID_ARGUMENT', `GitHubBackend options.${key} is required`);
      }
    }
    const auth = options.auth;
    if (typeof auth === 'string') {
      if (auth.trim() === '')
        throw new LogticketsError('INVALID_ARGUMENT', 'GitHubBackend options.auth: the token is empty');
    } else {
      checkOptions('GitHubBackend options.auth', auth, { appId: 'any', privateKey: 'string', installationId: 'any' });
      if (auth === undefined || !auth.appId || !auth.privateKey || !auth.installationId) {
        throw new LogticketsError(
          'INVALID_ARGUMENT',
          'GitHubBackend options.auth must be a token or { appId, privateKey, installationId }',
        );
      }
    }
    if (options.baseUrl !== undefined && !/^https?:\/\//.test(options.baseUrl)) {
      throw new LogticketsError(
        'INVALID_ARGUMENT',
        `GitHubBackend options.baseUrl must be an http(s) URL, got ${JSON.stringify(options.baseUrl)}`,
      );
    }
    super('GitHubBackend', options);
    this.#secrets = secretMatchers(githubSecrets(auth));
    this.owner = options.owner;
    this.repo = options.repo;
    this.baseUrl = options.baseUrl;
    this.app = typeof auth !== 'string';
    this.name = `github:${options.baseUrl === undefined ? '' : `${new URL(options.baseUrl).host}/`}${options.owner}/${options.repo}`;
    this.labels = options.labels ?? ['logtickets'];
    if (this.labels.length === 0)
      throw new LogticketsError('INVALID_ARGUMENT', 'GitHubBackend options.labels needs at least one label');
    this.assignees = options.assignees ?? [];
    this.regressionLabel = options.regressionLabel ?? 'regression';
    this.mutedLabels = new Set(options.mutedLabels ?? ['wontfix']);
    this.budget = new WriteBudget(options.writeBudget);
    this.timeoutMs = options.timeoutMs ?? 15_000;
    const pause = (seconds: number) => {
      this.pausedUntil = Math.max(this.pausedUntil, Date.now() + Math.max(1, seconds) * 1000);
      return false; // not retried by the plugin: the deliverer waits, then tries again
    };
    this.octokit = new Octokit({
      baseUrl: options.baseUrl,
      userAgent: 'logtickets',
      ...(typeof auth === 'string' ? { auth } : { authStrategy: createAppAuth, auth: { ...auth } }),
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
  }

  // -- set-up checks ----------------------------------------------------------

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

  // -- delivery steps ---------------------------------------------------------

  protected override writesBlockedUntil(): string | undefined {
    // A delivery makes at most two writes (reopen, then comment); the first
    // ones may also create the two labels.
    const at = Math.max(this.pausedUntil, this.budget.availableAt(this.labelsSettled ? 2 : 4));
    return at > Date.now() ? new Date(at).toISOString() : undefined;
  }

  protected async findExisting(key: LinkKey): Promise<string | undefined> {
    if (this.listing === undefined || Date.now() - this.listing.at > 30_000) {
      const issues = await this.call('list issues', () =>
        this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
          owner: this.owner,
          repo: this.repo,
          labels: this.labels[0],
          state: 'all',
          per_page: 100,
          request: { signal: AbortSignal.timeout(this.timeoutMs * 4) },
        }),
      );
      const byHash = new Map<string, number>();
      for (const issue of issues as Issue[]) {
        const found = /<!-- logtickets:fingerprint=([0-9a-f]{40}) -->/.exec(issue.body ?? '');
        // The oldest issue of a fingerprint wins, should a duplicate ever exist.
        if (found !== null && !issue.pull_request && !(byHash.get(found[1]!)! < issue.number))
          byHash.set(found[1]!, issue.number);
      }
      this.listing = { at: Date.now(), byHash };
    }
    const number = this.listing.byHash.get(key.hash);
    return number === undefined ? undefined : String(number);
  }

  protected async createTicket(key: LinkKey, summary: OccurrenceSummary): Promise<string> {
    await this.ensureLabels();
    // Whatever happens, the listing may now be missing this issue.
    this.listing = undefined;
    this.budget.spend();
    const { data } = await this.call('create an issue', () =>
      this.octokit.rest.issues.create({
        owner: this.owner,
        repo: this.repo,
        title: issueTitle(summary),
        body: issueBody(summary, key.appId, key.hash),
        labels: [...this.labels],
        ...(this.assignees.length > 0 ? { assignees: [...this.assignees] } : {}),
        // Never retried blindly: a 5xx may come after the issue was created.
        request: { retries: 0, signal: AbortSignal.timeout(this.timeoutMs) },
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

  protected async addOccurrences(id: string, summary: OccurrenceSummary): Promise<AddResult> {
    const issue_number = Number(id);
    let issue: Issue;
    try {
      issue = (await this.call('read an issue', () => this.octokit.rest.issues.get(this.at({ issue_number }))))
        .data as Issue;
    } catch (error) {
      if (
        error instanceof LogticketsError &&
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
      await this.ensureLabels();
      this.budget.spend();
      await this.call('reopen an issue', () =>
        this.octokit.rest.issues.update(
          this.at({
            issue_number,
            state: 'open' as const,
            state_reason: 'reopened' as const,
            labels: [...new Set([...labels, this.regressionLabel])],
          }),
        ),
      );
      await this.comment(issue_number, occurrenceComment(summary, true));
      return 'reopened';
    }
    await this.comment(issue_number, occurrenceComment(summary, false));
    return 'commented';
  }

  /**
   * Creates the search label and the regression label where the repository
   * lacks them, once per process, before the first issue or reopen that
   * carries them (GitHub's API does not promise to make a missing label on
   * its own). Never fails a delivery: a label that cannot be made is warned
   * about, and GitHub keeps or drops labels as the credentials' access
   * allows. After a retryable failure (outage, rate limit) it is tried again
   * with the next delivery.
   */
  private ensureLabels(): Promise<void> {
    this.labelsReady ??= this.createMissingLabels().then(
      () => {
        this.labelsSettled = true;
      },
      (error: unknown) => {
        if (error instanceof LogticketsError && error.retryable) {
          this.labelsReady = undefined;
          return;
        }
        this.labelsSettled = true;
        // A missing repository is reported by the delivery itself.
        if (!(error instanceof LogticketsError && error.status === 404))
          this.warn('labels-create', `${this.name}: ${(error as Error).message}; issues are labelled as GitHub allows`);
      },
    );
    return this.labelsReady;
  }

  private async createMissingLabels(): Promise<void> {
    const wanted = new Map([
      [this.labels[0]!, { color: '5319e7', description: 'A problem reported by logtickets' }],
      [this.regressionLabel, { color: 'b60205', description: 'A solved problem that came back (logtickets)' }],
    ]);
    for (const [name, look] of wanted) {
      try {
        await this.call(`read the label "${name}"`, () => this.octokit.rest.issues.getLabel(this.at({ name })));
        continue;
      } catch (error) {
        if (!(error instanceof LogticketsError) || error.status !== 404) throw error;
      }
      this.budget.spend();
      try {
        await this.call(`create the label "${name}"`, () =>
          this.octokit.rest.issues.createLabel(this.at({ name, ...look })),
        );
      } catch (error) {
        // 422: another process made it meanwhile.
        if (!(error instanceof LogticketsError) || error.status !== 422) throw error;
      }
    }
  }

  private async comment(issue_number: number, body: string): Promise<void> {
    this.budget.spend();
    await this.call('comment on an issue', () =>
      this.octokit.rest.issues.createComment(this.at({ issue_number, body })),
    );
  }

  /** Owner, repo and a timeout for one request. */
  private at<T extends object>(params: T): T & { owner: string; repo: string; request: { signal: AbortSignal } } {
    return { owner: this.owner, repo: this.repo, ...params, request: { signal: AbortSignal.timeout(this.timeoutMs) } };
  }

  /** Run a request; every failure becomes a LogticketsError that says what to do about it. */
  private async call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.explain(error, action);
    }
  }

  private explain(error: unknown, action: string): LogticketsError {
    const e = error as {
      status?: number;
      message?: string;
      name?: string;
      response?: { headers?: Record<string, string | undefined> };
    };
    const status = typeof e.status === 'number' ? e.status : undefined;
    const headers = e.response?.headers ?? {};
    const repo = `${this.owner}/${this.repo}`;
    const fail = (code: ConstructorParameters<typeof LogticketsError>[0], message: string, retryable: boolean) =>
      new LogticketsError(code, `${action}: ${message}`, {
        backend: this.name,
        status,
        retryable,
        // Octokit's RequestError keeps the request and response: only a sanitized copy is kept.
        cause: error,
        secrets: this.#secrets,
      });
    const rateLimited =
      status === 429 ||
      (status === 403 &&
        (headers['retry-after'] !== undefined ||
          headers['x-ratelimit-remaining'] === '0' ||
          /rate limit/i.test(e.message ?? '')));
    if (rateLimited) {
      const retryAfter = Number(headers['retry-after']);
      const reset = Number(headers['x-ratelimit-reset']);
      const until =
        Number.isFinite(retryAfter) && retryAfter > 0
          ? Date.now() + retryAfter * 1000
          : Number.isFinite(reset) && reset > 0
            ? reset * 1000
            : Date.now() + 60_000;
      this.pausedUntil = Math.max(this.pausedUntil, until);
      return fail('BACKEND_BUSY', `GitHub rate limit: waiting until ${new Date(this.pausedUntil).toISOString()}`, true);
    }
    if (status === 401)
      return fail('AUTH_FAILED', 'GitHub refused the credentials (HTTP 401): check auth (token or app)', false);
    if (status === 403)
      return fail(
        'PERMISSION_DENIED',
        `HTTP 403: the credentials may not write issues of ${repo} (needs Issues: write)`,
        false,
      );
    if (status === 404)
      return fail(
        'TRACKER_FAULT',
        `HTTP 404: the repository ${repo} or the issue does not exist, or is not visible to these credentials`,
        false,
      );
    if (status === 410)
      return fail('TRACKER_FAULT', `HTTP 410: issues are disabled on ${repo}, or the issue was deleted`, false);
    if (status === 422) return fail('TRACKER_FAULT', `HTTP 422: GitHub refused the content: ${e.message ?? ''}`, false);
    if (status !== undefined && status >= 500) return fail('BACKEND_UNAVAILABLE', `HTTP ${status} from GitHub`, true);
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return fail('TIMEOUT', `no answer from GitHub within ${this.timeoutMs} ms`, true);
    return fail('BACKEND_UNAVAILABLE', e.message ?? String(error), true);
  }

  // -- the read side ----------------------------------------------------------

  private async listIssues(filter: TicketFilter): Promise<Issue[]> {
    for (const key of ['level', 'minLevel', 'appId', 'channel'] as const) {
      if (filter[key] !== undefined) {
        throw new LogticketsError(
          'NOT_SUPPORTED',
          `filter.${key}: the GitHub backend cannot filter on it (use its store)`,
          { backend: this.name },
        );
      }
    }
    const state = filter.solved === undefined ? 'all' : filter.solved ? 'closed' : 'open';
    const issues = (await this.call('list issues', () =>
      this.octokit.paginate(this.octokit.rest.issues.listForRepo, {
        owner: this.owner,
        repo: this.repo,
        labels: this.labels[0],
        state,
        per_page: 100,
      }),
    )) as Issue[];
    return issues.filter(
      (i) => !i.pull_request && (filter.hash === undefined || (i.body ?? '').includes(marker(filter.hash))),
    );
  }

  async countTickets(filter: TicketFilter = {}): Promise<number> {
    return (await this.listIssues(checkFilter(filter))).length;
  }

  async getTickets(options: GetTicketsOptions = {}): Promise<Ticket[]> {
    const q = ticketQuery(options);
    const key = { id: 'number', firstSeen: 'created_at', lastSeen: 'updated_at' }[
      q.field as 'id' | 'firstSeen' | 'lastSeen'
    ] as keyof Issue | undefined;
    if (key === undefined) {
      throw new LogticketsError(
        'NOT_SUPPORTED',
        `orderBy ${q.field}: the GitHub backend orders by id, firstSeen or lastSeen (use its store for more)`,
        { backend: this.name },
      );
    }
    const issues = await this.listIssues(q.filter);
    const sign = q.descending ? -1 : 1;
    issues.sort((a, b) => (a[key]! === b[key]! ? a.number - b.number : a[key]! < b[key]! ? -1 : 1) * sign);
    return Promise.all(issues.slice(q.offset, q.offset + q.limit).map((i) => this.toTicket(i)));
  }

  async getTicket(id: number): Promise<Ticket | null> {
    checkTicketId(id);
    try {
      const { data } = await this.call('read an issue', () =>
        this.octokit.rest.issues.get(this.at({ issue_number: id })),
      );
      return this.toTicket(data as Issue);
    } catch (error) {
      if (error instanceof LogticketsError && error.status === 404) return null;
      throw error;
    }
  }

  async getOccurrences(ticketId: number, options: GetOccurrencesOptions = {}): Promise<StoredOccurrence[]> {
    occurrenceQuery(options); // bad options fail before the tracker is asked
    const ticket = await this.getTicket(ticketId);
    if (ticket === null) throw ticketNotFound(ticketId, this.name);
    const comments = await this.call('list comments', () =>
      this.octokit.paginate(this.octokit.rest.issues.listComments, {
        owner: this.owner,
        repo: this.repo,
        issue_number: ticketId,
        per_page: 100,
      }),
    );
    return this.pageOccurrences(
      ticket,
      comments.map((c) => ({
        id: c.id,
        time: new Date(c.created_at).toISOString(),
        author: c.user?.login ?? '',
        text: c.body ?? '',
      })),
      options,
    );
  }

  async solveTicket(id: number): Promise<Ticket> {
    checkTicketId(id);
    const { data } = await this.call('close an issue', () =>
      this.octokit.rest.issues.update(
        this.at({ issue_number: id, state: 'closed' as const, state_reason: 'completed' as const }),
      ),
    );
    return this.toTicket(data as Issue);
  }

  async reopenTicket(id: number): Promise<Ticket> {
    checkTicketId(id);
    const { data } = await this.call('reopen an issue', () =>
      this.octokit.rest.issues.update(
        this.at({ issue_number: id, state: 'open' as const, state_reason: 'reopened' as const }),
      ),
    );
    return this.toTicket(data as Issue);
  }

  async deleteTicket(id: number): Promise<void> {
    checkTicketId(id);
    throw new LogticketsError(
      'NOT_SUPPORTED',
      `GitHub's REST API cannot delete issue #${id}: close it (solveTicket) instead`,
      { backend: this.name },
    );
  }

  private toTicket(issue: Issue): Promise<Ticket> {
    return this.asTicket({
      id: issue.number,
      hash: /<!-- logtickets:fingerprint=([0-9a-f]{40}) -->/.exec(issue.body ?? '')?.[1] ?? '',
      title: issue.title.replace(/\u200D/g, ''),
      created: new Date(issue.created_at).toISOString(),
      changed: new Date(issue.updated_at).toISOString(),
      closed: issue.state === 'closed',
      closedAt: issue.closed_at === null ? null : new Date(issue.closed_at).toISOString(),
    });
  }
}

function labelNames(issue: Issue): string[] {
  return issue.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter((l) => l !== '');
}
