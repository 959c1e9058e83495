/**
 * A stand-in for GitHub's REST API (the Issues part), for the GitHub backend
 * tests: a stateful HTTP server on 127.0.0.1 that Octokit talks to with
 * `baseUrl` set to its `url`.
 *
 * Every request is checked against GitHub's OpenAPI description before it is
 * served, and every response before it is sent (openapi-validator.ts). A
 * mismatch is a test failure: it is added to `violations`, and the request is
 * answered with status 599 and the problems in the body, so that the code
 * under test cannot carry on as if nothing had happened.
 *
 * What is served, and how it behaves, is described at startGitHub().
 */
import http from 'node:http';
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  GitHubApiError,
  GitHubState,
  READ_PERMISSIONS,
  WRITE_PERMISSIONS,
  type GitHubComment,
  type GitHubIssue,
  type IssueListFilter,
  type IssueRecord,
  timestamp,
} from './github-state.js';
import { FaultSwitch, isAfterWrite, type GitHubFault } from './github-faults.js';
import {
  matchOperation,
  validateRequest,
  validateResponse,
  warmUp,
  type MatchedOperation,
} from './openapi-validator.js';

export type { GitHubComment, GitHubIssue, StateReason } from './github-state.js';
export type { GitHubFault } from './github-faults.js';
export { validateRequest, validateResponse, descriptionLoadMs, descriptionVersion } from './openapi-validator.js';

export interface GitHubCall {
  method: string;
  /** as requested, with the query string */
  path: string;
  /** the status answered (0 while the request is still being served, and for ever when its answer is held back) */
  status: number;
  /** a write carried out whose answer is never sent (fault `hold-answer`) */
  held?: true;
  /** Date.now() when the request arrived */
  at: number;
}

/**
 * What an account may do with the repository: `write` (GitHub's Write role),
 * `read` (the Read role: a collaborator who may open issues and comment, but
 * whose labels, assignees and milestones GitHub silently drops), or `none`
 * (the private repository is invisible to it: 404).
 */
export type RepoAccess = 'none' | 'read' | 'write';

export interface GitHubAccount {
  /** its classic token (`Authorization: token X` or `bearer X`) */
  readonly token: string;
  readonly login: string;
}

/**
 * A GitHub App known to the stand-in, installed once (on the stand-in's
 * owner). Its JWTs must be signed RS256 with the private key of `publicKey`
 * and say `iss` = `appId`; its installation tokens act for the installation
 * as GitHub's do (see startGitHub()).
 */
export interface GitHubAppRegistration {
  /** the App's id (the JWT's `iss`) */
  appId: number;
  /** the App's public key (PEM, SPKI or PKCS#1, or a KeyObject): JWTs are verified with it */
  publicKey: string | KeyObject;
  /** the App's slug; its installation writes as `<slug>[bot]` (default `logtickets-app`) */
  slug?: string;
  installationId: number;
  /** the installation's Issues permission (default `write`); `read` may not write anything */
  issues?: 'read' | 'write';
  /** whether the installation covers the stand-in's repository (default true); if not, it is out of sight (404) */
  installedOnRepository?: boolean;
  /** how long an installation token lives, by the stand-in's clock (GitHub: one hour, the default) */
  tokenLifetimeMs?: number;
}

/** An installation token the stand-in handed out. */
export interface GitHubInstallationToken {
  readonly token: string;
  readonly installationId: number;
  /** by the stand-in's clock (ms) */
  readonly expiresAt: number;
  readonly expired: boolean;
  /** requests that came with it, and requests refused because it had expired */
  readonly used: number;
  readonly refusedExpired: number;
}

export interface GitHubStandIn {
  /** baseUrl for Octokit, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** the token of the account with write access (`accounts.write.token`); an unknown token gets 401 */
  readonly token: string;
  /** one account per access level; every token has the `repo` scope */
  readonly accounts: Readonly<Record<RepoAccess, GitHubAccount>>;
  /** the one repository that exists (others → 404) */
  readonly owner: string;
  readonly repo: string;
  /** login of `token`'s account; issues and comments made through the API are their author's */
  readonly login: string;
  issues(): GitHubIssue[];
  labels(): Array<{ name: string; color: string }>;
  /**
   * Turns a fault on (null: off) for requests whose `"METHOD /path"` matches
   * `routes` (default: all). The path is the one without query string, with
   * `/repositories/{id}/...` (pagination links) written as `/repos/{owner}/{repo}/...`.
   * After `times` faulty answers the fault switches itself off; without `times` it stays.
   */
  fault(f: GitHubFault | null, routes?: RegExp): void;
  /**
   * Cuts the connections of the answers held back so far (fault `hold-answer`),
   * as a dying process's connections are: their clients see the connection
   * close instead of waiting for their timeout. Returns how many there were.
   * (Turning the fault off, `fault(null)`, leaves them held.)
   */
  cutHeldAnswers(): number;
  /** every request, in order of arrival */
  readonly calls: GitHubCall[];
  /** every mismatch with GitHub's OpenAPI description; tests assert it is empty */
  readonly violations: string[];
  /** Creates an issue directly (old issues for pagination tests, a human's issue, ...). */
  seedIssue(i: Partial<GitHubIssue> & { title: string }): GitHubIssue;
  /** Closes an issue as a human would (closed_by: the stand-in's human user). */
  closeIssue(number: number, reason: 'completed' | 'not_planned'): void;
  /** Deletes an issue as a maintainer would in the web UI: requests for it are then answered 410 "This issue was deleted". */
  deleteIssue(number: number): void;
  /**
   * Changes an issue as a human would in the web UI (labels replace the
   * issue's labels and are created if missing; state 'open' reopens). Use this,
   * not the objects from issues(): those are copies.
   */
  editIssue(number: number, patch: IssueEdit): GitHubIssue;
  /** Adds a comment as a human would (default author: the stand-in's human user). */
  addComment(number: number, body: string, user?: string): GitHubComment;
  /** Makes a GitHub App and its installation known (see GitHubAppRegistration). */
  registerApp(app: GitHubAppRegistration): void;
  /** login under which an App's installation writes: `<slug>[bot]` */
  appLogin(appId: number): string;
  /** Every installation token handed out, oldest first. */
  installationTokens(): GitHubInstallationToken[];
  /**
   * Ends the life of every installation token handed out so far, now (as
   * if its hour were up): using one is then answered 401 "Bad credentials".
   * Returns how many were still alive.
   */
  expireInstallationTokens(): number;
  /** The stand-in's clock (ms), as given by StartGitHubOptions.now. */
  now(): number;
  close(): Promise<void>;
}

export interface IssueEdit {
  title?: string;
  body?: string | null;
  labels?: string[];
  assignees?: string[];
  state?: 'open' | 'closed';
  state_reason?: 'completed' | 'not_planned' | 'duplicate' | null;
}

export interface StartGitHubOptions {
  owner?: string;
  repo?: string;
  /** largest per_page honoured (GitHub: 100); larger values are cut down to it */
  perPageMax?: number;
  /** start with GitHub's nine default labels (bug, documentation, ...); default false */
  defaultLabels?: boolean;
  /**
   * The stand-in's clock, in ms (default Date.now): JWTs' `iat`/`exp` and
   * installation tokens' expiry are judged by it, so a test can move time on.
   */
  now?: () => number;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Ctx {
  match: MatchedOperation;
  /** the App whose JWT came with a request to an `/app/...` route */
  app?: AppRecord;
  /** the account whose token came with the request */
  login: string;
  access: RepoAccess;
  /** set when the token is an App installation's */
  installation?: TokenHolder['installation'];
  query: URLSearchParams;
  body: any; // checked against the description before a handler sees it
  /** normalised path, `/repos/{owner}/{repo}/...` form, no query string */
  path: string;
}

type Handler = (ctx: Ctx) => Reply;

interface AppRecord {
  id: number;
  publicKey: KeyObject;
  slug: string;
  installationId: number;
  issues: 'read' | 'write';
  installedOnRepository: boolean;
  tokenLifetimeMs: number;
}

/** Who a token acts for. */
interface TokenHolder {
  login: string;
  access: RepoAccess;
  /** an installation's token: expires, has no OAuth scopes, may not use user endpoints */
  installation?: { id: number; issues: 'read' | 'write'; expiresAt: number; used: number; refusedExpired: number };
}

/** GitHub's answers to a JWT it does not accept (all 401). */
const JWT_UNDECODABLE = 'A JSON web token could not be decoded';
const JWT_EXPIRED =
  "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const JWT_TOO_LONG = "'Expiration time' claim ('exp') is too far in the future";
const JWT_BAD_IAT = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
const NOT_BY_INTEGRATION = 'Resource not accessible by integration';

const DOCS_ROOT = 'https://docs.github.com/rest';
const SECONDARY_LIMIT_DOCS =
  'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits';
const PRIMARY_LIMIT_DOCS =
  'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit';
const BOT_LOGIN = 'logtickets-bot';
const READER_LOGIN = 'reader-bot';
const OUTSIDER_LOGIN = 'outsider-bot';
const HUMAN_LOGIN = 'maintainer';
const NO_RIGHTS = 'Must have admin rights to Repository.';
const STATUS_MESSAGES: Record<number, string> = {
  429: 'Too Many Requests',
  500: 'Server Error',
  502: 'Server Error',
  503: 'Service Unavailable',
};

/** GitHub's REST error body: `{ message, documentation_url, status }` (+ `errors` for 422). */
function errorBody(
  status: number,
  message: string,
  docs: string,
  errors?: Array<Record<string, unknown>>,
): Record<string, unknown> {
  return errors
    ? { message, errors, documentation_url: docs, status: String(status) }
    : { message, documentation_url: docs, status: String(status) };
}

function requestId(): string {
  const hex = (n: number): string =>
    randomBytes(Math.ceil(n / 2))
      .toString('hex')
      .slice(0, n)
      .toUpperCase();
  return `${hex(4)}:${hex(5)}:${hex(6)}:${hex(7)}:${hex(8)}`;
}

function classicToken(prefix = 'ghp_'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return prefix + [...randomBytes(36)].map((b) => alphabet[b % alphabet.length]).join('');
}

/**
 * Checks a GitHub App JWT as GitHub does: three base64url parts, header
 * `alg: RS256`, signature by a registered App's key (the App named by `iss`),
 * `iat` not in the future (60 s of clock drift allowed), `exp` in the future
 * and at most 10 minutes after `iat`. Returns the App, or GitHub's message.
 */
function checkJwt(jwt: string, apps: ReadonlyMap<number, AppRecord>, nowMs: number): AppRecord | string {
  const parts = jwt.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return JWT_UNDECODABLE;
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
  } catch {
    return JWT_UNDECODABLE;
  }
  if (header?.['alg'] !== 'RS256' || typeof claims !== 'object' || claims === null) return JWT_UNDECODABLE;
  const iss = typeof claims['iss'] === 'string' && /^\d+$/.test(claims['iss']) ? Number(claims['iss']) : claims['iss'];
  const app = typeof iss === 'number' ? apps.get(iss) : undefined;
  if (app === undefined) return JWT_UNDECODABLE;
  const signed = verify(
    'sha256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    app.publicKey,
    Buffer.from(parts[2]!, 'base64url'),
  );
  // A JWT signed by another key reads, to GitHub, as one it cannot decode.
  if (!signed) return JWT_UNDECODABLE;
  const now = Math.floor(nowMs / 1000);
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > now + 60) return JWT_BAD_IAT;
  if (typeof exp !== 'number' || exp <= now) return JWT_EXPIRED;
  if (exp - iat > 600) return JWT_TOO_LONG;
  return app;
}

/** The core rate limit of an authenticated user: 5000 an hour. */
class RateLimit {
  readonly limit = 5000;
  used = 0;
  reset = Math.floor(Date.now() / 1000) + 3600;

  consume(): void {
    this.roll();
    this.used++;
  }

  snapshot(): { limit: number; remaining: number; reset: number; used: number } {
    this.roll();
    return { limit: this.limit, remaining: Math.max(0, this.limit - this.used), reset: this.reset, used: this.used };
  }

  headers(): Record<string, string> {
    const s = this.snapshot();
    return {
      'x-ratelimit-limit': String(s.limit),
      'x-ratelimit-remaining': String(s.remaining),
      'x-ratelimit-reset': String(s.reset),
      'x-ratelimit-used': String(s.used),
      'x-ratelimit-resource': 'core',
    };
  }

  private roll(): void {
    const now = Math.floor(Date.now() / 1000);
    if (now >= this.reset) {
      this.used = 0;
      this.reset = now + 3600;
    }
  }
}

/**
 * Starts the stand-in on a free port of 127.0.0.1.
 *
 * Served (everything else answers GitHub's 404, and is a violation when the
 * description has the operation but the stand-in does not implement it):
 * GET /repos/{o}/{r}; GET, POST /repos/{o}/{r}/issues; GET, PATCH
 * /repos/{o}/{r}/issues/{n}; GET, POST .../issues/{n}/comments; POST
 * .../issues/{n}/labels; DELETE .../issues/{n}/labels/{name}; GET, POST
 * /repos/{o}/{r}/labels; GET /repos/{o}/{r}/labels/{name}; GET /rate_limit;
 * GET /user. Pagination links point at `/repositories/{id}/...`, as GitHub's
 * do; those paths are served as their `/repos/{owner}/{repo}/...` twins.
 *
 * Three accounts (`accounts`), one per access level, each with a classic
 * token: `write` may do all of the above; `read` sees the repository (its
 * `permissions` say pull only), may open issues, comment and change its own
 * issues, but labels, assignees and milestones it sets are dropped without a
 * word, and creating labels or adding them to issues is refused (403), as
 * GitHub does without push access; `none` gets 404 for the repository and
 * everything in it.
 *
 * GitHub Apps (registerApp): POST /app/installations/{id}/access_tokens
 * takes the App's JWT (`Authorization: Bearer`), checked as GitHub does —
 * RS256, signed by the key registered for the App its `iss` names, `iat` not
 * in the future, `exp` in the future and at most 10 minutes after `iat` —
 * and refused 401 with GitHub's messages ("A JSON web token could not be
 * decoded", ...); an unknown installation gets 404. It answers an
 * installation token (`ghs_…`) living `tokenLifetimeMs` (an hour) by the
 * stand-in's clock (`now`), with the installation's permissions (or fewer,
 * as asked; more is 422). The token then acts as `<slug>[bot]`: Issues:
 * write is the `write` access above, Issues: read is `read` but every write
 * is refused (403 "Resource not accessible by integration"), an
 * installation without the repository is `none`; GET /user is refused 403;
 * answers carry no `x-oauth-scopes`. Once expired (its time is up, or
 * expireInstallationTokens()) it gets 401 "Bad credentials". A JWT is no
 * token for other routes (401), and a token no JWT for `/app` ones.
 */
export async function startGitHub(options: StartGitHubOptions = {}): Promise<GitHubStandIn> {
  const owner = options.owner ?? 'acme';
  const repo = options.repo ?? 'widgets';
  const perPageMax = options.perPageMax ?? 100;
  const accounts: Record<RepoAccess, GitHubAccount> = {
    write: { token: classicToken(), login: BOT_LOGIN },
    read: { token: classicToken(), login: READER_LOGIN },
    none: { token: classicToken(), login: OUTSIDER_LOGIN },
  };
  const byToken = new Map<string, TokenHolder>(
    (Object.entries(accounts) as Array<[RepoAccess, GitHubAccount]>).map(([access, a]) => [
      a.token,
      { login: a.login, access },
    ]),
  );
  const now = options.now ?? Date.now;
  const apps = new Map<number, AppRecord>();
  const installationTokens: Array<{ token: string; holder: TokenHolder }> = [];
  const calls: GitHubCall[] = [];
  const violations: string[] = [];
  const rate = new RateLimit();
  const faults = new FaultSwitch();
  /** Answers never sent (fault `hold-answer`): their connections are cut when the stand-in closes. */
  const held = new Set<http.ServerResponse>();

  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state = new GitHubState({
    owner,
    repo,
    baseUrl: url,
    botLogin: BOT_LOGIN,
    humanLogin: HUMAN_LOGIN,
    readers: [READER_LOGIN],
    defaultLabels: options.defaultLabels ?? false,
  });

  // -- handlers --------------------------------------------------------------

  /** The repository must exist and be visible to the account; `write` also asks for push access. */
  const thisRepo = (ctx: Ctx, need: 'see' | 'write' = 'see'): void => {
    const { owner: o, repo: r } = ctx.match.pathParams;
    if (!state.isThisRepo(o ?? '', r ?? '') || ctx.access === 'none') throw new GitHubApiError(404, 'Not Found');
    if (need === 'write' && ctx.access !== 'write') throw new GitHubApiError(403, NO_RIGHTS);
  };
  /** Without push access GitHub drops these fields without a word. */
  const pushOnly = <T extends Record<string, unknown>>(ctx: Ctx, fields: T): T => {
    if (ctx.access === 'write') return fields;
    const kept: Record<string, unknown> = { ...fields };
    for (const key of ['labels', 'assignees', 'assignee', 'milestone']) delete kept[key];
    return kept as T;
  };
  const issueNumber = (ctx: Ctx): number => Number(ctx.match.pathParams['issue_number']);
  const labelNames = (items: unknown): string[] =>
    Array.isArray(items)
      ? items
          .map((l) => (typeof l === 'string' ? l : String((l as { name?: unknown }).name ?? '')))
          .filter((n) => n !== '')
      : [];

  /** One page of `items`, with GitHub's Link header (URLs in `/repositories/{id}` form). */
  const paginate = <T>(items: T[], ctx: Ctx): { page: T[]; headers: Record<string, string> } => {
    const asked = Number(ctx.query.get('per_page') ?? 30);
    const perPage = asked >= 1 ? Math.min(Math.floor(asked), perPageMax) : 30;
    const page = Math.max(1, Math.floor(Number(ctx.query.get('page') ?? 1)) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const rest = ctx.path.replace(/^\/repos\/[^/]+\/[^/]+/, '');
    const link = (p: number, rel: string): string => {
      const q = new URLSearchParams(ctx.query);
      q.delete('page');
      q.append('page', String(p));
      return `<${url}/repositories/${state.repoId}${rest}?${q.toString()}>; rel="${rel}"`;
    };
    const rels: string[] = [];
    if (page > 1) rels.push(link(Math.min(page - 1, last), 'prev'));
    if (page < last) rels.push(link(page + 1, 'next'), link(last, 'last'));
    if (page > 1) rels.push(link(1, 'first'));
    return { page: slice, headers: rels.length > 0 ? { link: rels.join(', ') } : {} };
  };

  const issueReply = (status: number, issue: IssueRecord, extra: Record<string, string> = {}): Reply => ({
    status,
    body: state.issueJson(issue),
    headers: extra,
  });

  const handlers: Record<string, Handler> = {
    'GET /repos/{owner}/{repo}': (ctx) => {
      thisRepo(ctx);
      return { status: 200, body: state.repoJson(ctx.access === 'write' ? WRITE_PERMISSIONS : READ_PERMISSIONS) };
    },
    'GET /repos/{owner}/{repo}/issues': (ctx) => {
      thisRepo(ctx);
      const q = ctx.query;
      const filter: IssueListFilter = {
        state: (q.get('state') ?? 'open') as IssueListFilter['state'],
        labels: (q.get('labels') ?? '')
          .split(',')
          .map((l) => l.trim())
          .filter((l) => l !== ''),
        since: q.get('since') ?? undefined,
        sort: (q.get('sort') ?? 'created') as IssueListFilter['sort'],
        direction: (q.get('direction') ?? 'desc') as IssueListFilter['direction'],
        creator: q.get('creator') ?? undefined,
        assignee: q.get('assignee') ?? undefined,
        mentioned: q.get('mentioned') ?? undefined,
        milestone: q.get('milestone') ?? undefined,
      };
      const { page, headers } = paginate(state.listIssues(filter), ctx);
      return { status: 200, body: page.map((i) => state.issueJson(i)), headers };
    },
    'POST /repos/{owner}/{repo}/issues': (ctx) => {
      thisRepo(ctx);
      const b = pushOnly(ctx, ctx.body as Record<string, unknown>);
      const issue = state.createIssue(
        {
          title: String(b['title']),
          body: typeof b['body'] === 'string' ? b['body'] : undefined,
          labels: labelNames(b['labels']),
          assignees: Array.isArray(b['assignees'])
            ? (b['assignees'] as string[])
            : typeof b['assignee'] === 'string'
              ? [b['assignee']]
              : [],
          milestone: b['milestone'],
        },
        ctx.login,
      );
      return issueReply(201, issue, { location: `${state.repoApiUrl}/issues/${issue.number}` });
    },
    'GET /repos/{owner}/{repo}/issues/{issue_number}': (ctx) => {
      thisRepo(ctx);
      return issueReply(200, state.issue(issueNumber(ctx)));
    },
    'PATCH /repos/{owner}/{repo}/issues/{issue_number}': (ctx) => {
      thisRepo(ctx);
      const b = pushOnly(ctx, (ctx.body ?? {}) as Record<string, any>);
      // Without push access, only the author may change an issue.
      if (ctx.access !== 'write' && state.issue(issueNumber(ctx)).user !== ctx.login)
        throw new GitHubApiError(403, NO_RIGHTS);
      const issue = state.updateIssue(
        issueNumber(ctx),
        {
          title: b['title'] === undefined || b['title'] === null ? b['title'] : String(b['title']),
          body: b['body'],
          state: b['state'],
          state_reason: b['state_reason'],
          labels: b['labels'] === undefined ? undefined : labelNames(b['labels']),
          assignees: b['assignees'],
          assignee: b['assignee'],
          milestone: b['milestone'],
        } as Parameters<GitHubState['updateIssue']>[1],
        ctx.login,
      );
      return issueReply(200, issue);
    },
    'GET /repos/{owner}/{repo}/issues/{issue_number}/comments': (ctx) => {
      thisRepo(ctx);
      const issue = state.issue(issueNumber(ctx));
      const since = ctx.query.get('since');
      const list = since ? issue.comments.filter((c) => Date.parse(c.updatedAt) >= Date.parse(since)) : issue.comments;
      const { page, headers } = paginate(list, ctx);
      return { status: 200, body: page.map((c) => state.commentJson(issue, c)), headers };
    },
    'POST /repos/{owner}/{repo}/issues/{issue_number}/comments': (ctx) => {
      thisRepo(ctx);
      const issue = state.issue(issueNumber(ctx));
      const comment = state.addComment(issue.number, String(ctx.body['body']), ctx.login);
      return {
        status: 201,
        body: state.commentJson(issue, comment),
        headers: { location: `${state.repoApiUrl}/issues/comments/${comment.id}` },
      };
    },
    'POST /repos/{owner}/{repo}/issues/{issue_number}/labels': (ctx) => {
      thisRepo(ctx, 'write');
      const names = labelNames(Array.isArray(ctx.body) ? ctx.body : ctx.body?.['labels']);
      return { status: 200, body: state.addIssueLabels(issueNumber(ctx), names).map((l) => state.labelJson(l)) };
    },
    'DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}': (ctx) => {
      thisRepo(ctx, 'write');
      const left = state.removeIssueLabel(issueNumber(ctx), ctx.match.pathParams['name'] ?? '');
      return { status: 200, body: left.map((l) => state.labelJson(l)) };
    },
    'GET /repos/{owner}/{repo}/labels': (ctx) => {
      thisRepo(ctx);
      const { page, headers } = paginate(state.listLabels(), ctx);
      return { status: 200, body: page.map((l) => state.labelJson(l)), headers };
    },
    'POST /repos/{owner}/{repo}/labels': (ctx) => {
      thisRepo(ctx, 'write');
      const b = ctx.body as { name: string; color?: string; description?: string };
      const label = state.createLabel({ name: b.name, color: b.color, description: b.description });
      return {
        status: 201,
        body: state.labelJson(label),
        headers: { location: `${state.repoApiUrl}/labels/${encodeURIComponent(label.name)}` },
      };
    },
    'GET /repos/{owner}/{repo}/labels/{name}': (ctx) => {
      thisRepo(ctx);
      const label = state.findLabel(ctx.match.pathParams['name'] ?? '');
      if (!label) throw new GitHubApiError(404, 'Not Found');
      return { status: 200, body: state.labelJson(label) };
    },
    'GET /rate_limit': () => {
      const core = rate.snapshot();
      const other = (limit: number): Record<string, number> => ({
        limit,
        remaining: limit,
        reset: core.reset,
        used: 0,
      });
      return {
        status: 200,
        body: {
          resources: {
            core,
            search: other(30),
            graphql: other(5000),
            integration_manifest: other(5000),
            code_search: other(10),
          },
          rate: core,
        },
      };
    },
    'GET /user': (ctx) => {
      // An installation is not a user.
      if (ctx.installation) throw new GitHubApiError(403, NOT_BY_INTEGRATION);
      return { status: 200, body: state.authenticatedUserJson(ctx.login) };
    },
    'POST /app/installations/{installation_id}/access_tokens': (ctx) => {
      const app = ctx.app!;
      if (Number(ctx.match.pathParams['installation_id']) !== app.installationId)
        throw new GitHubApiError(404, 'Not Found');
      const granted: Record<string, 'read' | 'write'> = { issues: app.issues, metadata: 'read' };
      const b = (ctx.body ?? {}) as {
        repositories?: string[];
        repository_ids?: number[];
        permissions?: Record<string, string>;
      };
      // The token cannot have more than the installation: other permissions, or more than granted, are refused.
      let permissions = granted;
      if (b.permissions !== undefined) {
        permissions = {};
        for (const [name, level] of Object.entries(b.permissions)) {
          const have = granted[name];
          if (have === undefined || (level === 'write' && have !== 'write'))
            throw new GitHubApiError(422, `The permissions requested are not granted to this installation.`);
          permissions[name] = level as 'read' | 'write';
        }
      }
      const names = b.repositories ?? [];
      const ids = b.repository_ids ?? [];
      const narrowed = names.length > 0 || ids.length > 0;
      for (const name of names)
        if (!app.installedOnRepository || name.toLowerCase() !== repo.toLowerCase())
          throw new GitHubApiError(
            422,
            `There is at least one repository that does not exist or is not accessible to the parent installation.`,
          );
      for (const id of ids)
        if (!app.installedOnRepository || id !== state.repoId)
          throw new GitHubApiError(
            422,
            `There is at least one repository that does not exist or is not accessible to the parent installation.`,
          );
      const token = classicToken('ghs_');
      const expiresAt = now() + app.tokenLifetimeMs;
      const holder: TokenHolder = {
        login: `${app.slug}[bot]`,
        access: !app.installedOnRepository ? 'none' : permissions['issues'] === 'write' ? 'write' : 'read',
        installation: {
          id: app.installationId,
          issues: permissions['issues'] === 'write' ? 'write' : 'read',
          expiresAt,
          used: 0,
          refusedExpired: 0,
        },
      };
      byToken.set(token, holder);
      installationTokens.push({ token, holder });
      return {
        status: 201,
        body: {
          token,
          expires_at: timestamp(expiresAt),
          permissions,
          repository_selection: narrowed ? 'selected' : 'all',
          ...(narrowed ? { repositories: [state.repoJson(READ_PERMISSIONS)] } : {}),
        },
      };
    },
  };

  // Load the description and compile these operations' schemas now (about a
  // second, once per process) rather than on the first request of each kind.
  warmUp(Object.keys(handlers));

  // -- one request -----------------------------------------------------------

  const baseHeaders = (): Record<string, string> => ({
    'content-type': 'application/json; charset=utf-8',
    'x-github-media-type': 'github.v3; format=json',
    'x-github-api-version-selected': '2022-11-28',
    'x-oauth-scopes': 'repo',
    'x-accepted-oauth-scopes': 'repo',
    'x-github-request-id': requestId(),
  });

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    res.on('error', () => {}); // a client that gave up (e.g. on a slow answer) is not our problem
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const call: GitHubCall = { method, path: rawUrl, status: 0, at: Date.now() };
    calls.push(call);

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');

    const parsed = new URL(rawUrl, url);
    let path = parsed.pathname;
    const alias = /^\/repositories\/(\d+)(\/.*)?$/.exec(path);
    if (alias && Number(alias[1]) === state.repoId) path = `/repos/${owner}/${repo}${alias[2] ?? ''}`;

    let rateHeaders = rate.headers();
    const headers = baseHeaders();
    const send = (reply: Reply): void => {
      let { status, body } = reply;
      const problems = status === 599 ? [] : validateResponse(method, path, status, body);
      if (problems.length > 0) {
        const found = problems.map((p) => `response to ${method} ${rawUrl}: ${p}`);
        violations.push(...found);
        status = 599;
        body = {
          message: "GitHub stand-in: this response does not match GitHub's OpenAPI description",
          violations: found,
        };
      }
      call.status = status;
      const all: Record<string, string> = { ...headers, ...rateHeaders, ...(reply.headers ?? {}) };
      if (body === undefined) {
        delete all['content-type'];
        res.writeHead(status, all).end();
      } else {
        res.writeHead(status, all).end(JSON.stringify(body));
      }
    };
    const refuse = (problems: string[]): void => {
      const found = problems.map((p) => `request ${method} ${rawUrl}: ${p}`);
      violations.push(...found);
      send({
        status: 599,
        body: {
          message: "GitHub stand-in: this request does not match GitHub's OpenAPI description",
          violations: found,
        },
      });
    };

    // 1. The request, against the description.
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return refuse([`the body is not JSON (GitHub would answer 400 "Problems parsing JSON"): ${raw.slice(0, 80)}`]);
      }
    }
    const requestProblems = validateRequest({
      method,
      path,
      query: parsed.searchParams,
      body,
      contentType: req.headers['content-type'],
    });
    if (requestProblems.length > 0) return refuse(requestProblems);

    const found = matchOperation(method, path);
    if (found.kind !== 'operation') {
      return send({ status: 404, body: errorBody(404, 'Not Found', DOCS_ROOT) });
    }
    const match = found.match;
    const handler = handlers[`${match.method} ${match.template}`];
    if (!handler) {
      return refuse([
        `${match.method} ${match.template} (${match.operationId}) is in GitHub's description but not implemented by the stand-in`,
      ]);
    }

    // 2. Credentials. `/app/...` routes take the App's JWT; every other one a
    // user's or an installation's token (an expired installation token is
    // refused as GitHub does, "Bad credentials").
    const auth = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (match.template.startsWith('/app/') || match.template === '/app') {
      const app = auth ? checkJwt(auth[1]!, apps, now()) : 'Requires authentication';
      delete headers['x-oauth-scopes'];
      delete headers['x-accepted-oauth-scopes'];
      if (typeof app === 'string') return send({ status: 401, body: errorBody(401, app, DOCS_ROOT) });
      let reply: Reply;
      try {
        reply = handler({
          match,
          query: parsed.searchParams,
          body,
          path,
          app,
          login: `${app.slug}[bot]`,
          access: 'none',
        });
      } catch (e) {
        if (!(e instanceof GitHubApiError)) throw e;
        reply = { status: e.status, body: errorBody(e.status, e.message, match.docsUrl, e.errors) };
      }
      return send(reply);
    }
    let account = auth ? byToken.get(auth[1]!) : undefined;
    if (account?.installation) {
      delete headers['x-oauth-scopes'];
      delete headers['x-accepted-oauth-scopes'];
      if (account.installation.expiresAt <= now()) {
        account.installation.refusedExpired++;
        account = undefined;
      } else account.installation.used++;
    }
    if (!account) {
      rateHeaders = {
        'x-ratelimit-limit': '60',
        'x-ratelimit-remaining': '59',
        'x-ratelimit-reset': String(rate.reset),
        'x-ratelimit-used': '1',
        'x-ratelimit-resource': 'core',
      };
      const message = req.headers.authorization ? 'Bad credentials' : 'Requires authentication';
      return send({ status: 401, body: errorBody(401, message, DOCS_ROOT) });
    }
    if (match.template !== '/rate_limit') rate.consume();
    rateHeaders = rate.headers();
    // An installation with Issues: read may read, not write.
    if (account.installation?.issues === 'read' && method !== 'GET' && account.access !== 'none')
      return send({ status: 403, body: errorBody(403, NOT_BY_INTEGRATION, match.docsUrl) });

    // 3. Faults.
    const fault = faults.for(method, path, match.template);
    const docs = match.docsUrl;
    if (fault && !isAfterWrite(fault)) faults.spend(fault);
    if (fault) {
      switch (fault.kind) {
        case 'slow':
          await sleep(fault.delayMs);
          break;
        case 'secondary-rate-limit':
          return send({
            status: 403,
            body: errorBody(
              403,
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. ' +
                `If you reach out to GitHub Support for help, please include the request ID ${headers['x-github-request-id']}.`,
              SECONDARY_LIMIT_DOCS,
            ),
            headers: { 'retry-after': String(fault.retryAfterSeconds) },
          });
        case 'rate-limit': {
          const reset = Math.floor(Date.now() / 1000) + fault.resetInSeconds;
          rateHeaders = {
            ...rateHeaders,
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': String(rate.limit),
            'x-ratelimit-reset': String(reset),
          };
          return send({
            status: fault.status ?? 403,
            body: errorBody(
              fault.status ?? 403,
              `API rate limit exceeded for user ID ${state.userId(account.login)}. If you reach out to GitHub Support for help, ` +
                `please include the request ID ${headers['x-github-request-id']} and timestamp ${new Date()
                  .toISOString()
                  .replace('T', ' ')
                  .replace(/\.\d+Z$/, ' UTC')}.`,
              PRIMARY_LIMIT_DOCS,
            ),
          });
        }
        case 'status':
          return send({
            status: fault.status,
            body: errorBody(fault.status, STATUS_MESSAGES[fault.status] ?? 'Server Error', DOCS_ROOT),
            headers: fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
          });
        case 'issues-disabled':
          return send({ status: 410, body: errorBody(410, 'Issues are disabled for this repo', docs) });
        case 'server-error-after-create':
        case 'hold-answer':
          break; // handled after the write
      }
    }

    // 4. The operation itself.
    let reply: Reply;
    try {
      reply = handler({
        match,
        query: parsed.searchParams,
        body,
        path,
        login: account.login,
        access: account.access,
        ...(account.installation ? { installation: account.installation } : {}),
      });
    } catch (e) {
      if (!(e instanceof GitHubApiError)) throw e;
      reply = { status: e.status, body: errorBody(e.status, e.message, docs, e.errors) };
    }
    // Only a write that succeeded is faulted; a refused one (422, 404) is answered as is.
    if (isAfterWrite(fault) && reply.status < 300) {
      faults.spend(fault);
      if (fault.kind === 'hold-answer') {
        // Checked as if sent, then kept: the client hears nothing until it gives up.
        const problems = validateResponse(method, path, reply.status, reply.body);
        violations.push(...problems.map((p) => `response to ${method} ${rawUrl}: ${p}`));
        call.held = true;
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      const status = fault.status ?? 502;
      return send({ status, body: errorBody(status, STATUS_MESSAGES[status] ?? 'Server Error', DOCS_ROOT) });
    }
    send(reply);
  };

  server.on('request', (req, res) => {
    serve(req, res).catch((e: unknown) => {
      const text = `stand-in crashed on ${req.method} ${req.url}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
      violations.push(text);
      if (!res.headersSent)
        res
          .writeHead(599, { 'content-type': 'application/json; charset=utf-8' })
          .end(JSON.stringify({ message: text }));
    });
  });

  return {
    url,
    token: accounts.write.token,
    accounts,
    owner,
    repo,
    login: BOT_LOGIN,
    calls,
    violations,
    issues: () => state.snapshot(),
    labels: () => state.labelSnapshot(),
    fault(f, routes = /.*/) {
      faults.set(f, routes);
      state.hasIssues = f?.kind !== 'issues-disabled';
    },
    cutHeldAnswers() {
      const cut = held.size;
      for (const res of [...held]) res.destroy();
      held.clear();
      return cut;
    },
    seedIssue: (i) => {
      const issue = state.seedIssue(i);
      return state.snapshot().find((x) => x.number === issue.number)!;
    },
    closeIssue: (number, reason) => state.closeIssue(number, reason),
    deleteIssue: (number) => state.deleteIssue(number),
    editIssue: (number, patch) => {
      state.updateIssue(number, patch, HUMAN_LOGIN);
      return state.snapshot().find((x) => x.number === number)!;
    },
    addComment: (number, text, user = HUMAN_LOGIN) => {
      const c = state.addComment(number, text, user);
      return { id: c.id, body: c.body, created_at: c.createdAt, user: c.user };
    },
    registerApp(app) {
      if (apps.has(app.appId)) throw new Error(`app ${app.appId} is registered already`);
      const publicKey = typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : app.publicKey;
      if (publicKey.asymmetricKeyType !== 'rsa') throw new Error('a GitHub App key is an RSA key');
      apps.set(app.appId, {
        id: app.appId,
        publicKey,
        slug: app.slug ?? 'logtickets-app',
        installationId: app.installationId,
        issues: app.issues ?? 'write',
        installedOnRepository: app.installedOnRepository ?? true,
        tokenLifetimeMs: app.tokenLifetimeMs ?? 3_600_000,
      });
    },
    appLogin(appId) {
      const app = apps.get(appId);
      if (!app) throw new Error(`no app ${appId}`);
      return `${app.slug}[bot]`;
    },
    installationTokens: () =>
      installationTokens.map(({ token, holder }) => ({
        token,
        installationId: holder.installation!.id,
        expiresAt: holder.installation!.expiresAt,
        expired: holder.installation!.expiresAt <= now(),
        used: holder.installation!.used,
        refusedExpired: holder.installation!.refusedExpired,
      })),
    expireInstallationTokens() {
      const at = now();
      let alive = 0;
      for (const { holder } of installationTokens) {
        if (holder.installation!.expiresAt > at) {
          alive++;
          holder.installation!.expiresAt = at;
        }
      }
      return alive;
    },
    now: () => now(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        for (const res of held) res.destroy();
        server.closeAllConnections();
      }),
  };
}
