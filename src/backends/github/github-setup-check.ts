/**
 * The live set-up checks of the GitHub backend, and where a person sees an
 * issue. Only GET requests are made: what the credentials may do is read
 * from GitHub's answers (the repository's `permissions`, a classic token's
 * `x-oauth-scopes` header), never learnt by trying a write.
 *
 * What GitHub does not show: a fine-grained token's or an app's own
 * permissions (`permissions` is the account's role on the repository). For
 * those, the detail says which permission to make sure of.
 *
 * Checks come in a fixed order. When one fails in a way that makes the later
 * ones meaningless (GitHub unreachable, the credentials refused, the
 * repository out of sight), the later ones are still listed, failed, with the
 * detail "not checked: <why>".
 */

import type { Octokit } from 'octokit';
import { LogticketsError, maskSecrets, redactSecrets, type SecretMatchers } from '../../errors.js';
import type { SetupCheck } from '../tracker/setup-check.js';

export interface GitHubCheckTarget {
  /** The client, made on first use (github-client.ts). */
  readonly client: () => Promise<Octokit>;
  readonly owner: string;
  readonly repo: string;
  /** As configured (undefined: api.github.com). */
  readonly baseUrl: string | undefined;
  /** GitHub App credentials rather than a token. */
  readonly app: boolean;
  /** The label logtickets lists its issues by (options.labels[0]). */
  readonly searchLabel: string;
  readonly regressionLabel: string;
  readonly timeoutMs: number;
  /** The backend's token or key: replaced by value in every detail. */
  readonly secrets?: SecretMatchers;
}

interface Answer<T> {
  readonly data: T;
  readonly headers: Record<string, unknown>;
}

/** A refused or failed request: `status` undefined when GitHub did not answer at all. */
interface Failure {
  readonly status: number | undefined;
  readonly message: string;
  /** The URL asked for (an app's token request is told apart by it). */
  readonly url: string;
  /** The credentials could not be used at all, so nothing was asked (an App key that cannot sign). */
  readonly unusable?: boolean;
}

type Outcome<T> = { value: Answer<T>; error?: undefined } | { value?: undefined; error: Failure };

async function attempt<T>(run: () => Promise<Answer<T>>): Promise<Outcome<T>> {
  try {
    return { value: await run() };
  } catch (error) {
    const e = error as { message?: string; response?: { status?: number }; request?: { url?: string } };
    return {
      error: {
        status: e.response?.status,
        message: maskSecrets(e.message ?? String(error)),
        url: e.request?.url ?? '',
        ...(error instanceof LogticketsError && error.code === 'AUTH_FAILED' ? { unusable: true } : {}),
      },
    };
  }
}

/** No answer, or one that says GitHub itself is in trouble. */
const unreachable = (error: Failure | undefined): boolean =>
  error !== undefined && !error.unusable && (error.status === undefined || error.status >= 500);

type Permissions = { admin?: boolean; maintain?: boolean; push?: boolean; triage?: boolean; pull?: boolean };

/** GitHub's name for the role these permissions make. */
function roleOf(p: Permissions | undefined): string | undefined {
  if (p === undefined) return undefined;
  if (p.admin) return 'Admin';
  if (p.maintain) return 'Maintain';
  if (p.push) return 'Write';
  if (p.triage) return 'Triage';
  return p.pull ? 'Read' : 'no';
}

/** A classic token's scopes; undefined for fine-grained tokens and apps (GitHub sends no such header). */
function scopesOf(headers: Record<string, unknown>): string[] | undefined {
  const value = headers['x-oauth-scopes'];
  if (typeof value !== 'string') return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function checkGitHubSetup(target: GitHubCheckTarget): Promise<SetupCheck[]> {
  const { owner, repo, app, searchLabel, regressionLabel } = target;
  const octokit = await target.client();
  const full = `${owner}/${repo}`;
  const api = target.baseUrl ?? 'https://api.github.com';
  const labels = [...new Set([searchLabel, regressionLabel])];
  const names = [
    'reachable',
    'authenticated',
    'repository access',
    'issues enabled',
    'may create issues and comment',
    'may label issues',
    ...labels.map((l) => `label "${l}"`),
  ];
  const checks: SetupCheck[] = [];
  const add = (ok: boolean, detail: string): void => {
    checks.push({ name: names[checks.length]!, ok, detail: redactSecrets(detail, target.secrets) });
  };
  const stop = (why: string): SetupCheck[] => [
    ...checks,
    ...names.slice(checks.length).map((name) => ({ name, ok: false, detail: `not checked: ${why}` })),
  ];
  // Checks are not retried: a failure is reported as it is.
  const request = () => ({ request: { retries: 0, signal: AbortSignal.timeout(target.timeoutMs) } });
  const repoCall = () =>
    attempt<{
      full_name: string;
      private: boolean;
      archived?: boolean;
      has_issues: boolean;
      permissions?: Permissions;
    }>(() => octokit.rest.repos.get({ owner, repo, ...request() }));

  // reachable, authenticated: a token's own account; an app proves itself on the repository.
  let who = app ? 'the app' : 'the token';
  let scopes: string[] | undefined;
  const first = app
    ? await repoCall()
    : await attempt<{ login: string }>(() => octokit.rest.users.getAuthenticated(request()));
  if (first.error?.unusable) {
    add(false, 'not checked: the credentials cannot be used (see "authenticated")');
    add(false, first.error.message);
    return stop('the credentials cannot be used');
  }
  if (unreachable(first.error)) {
    add(false, `no answer from ${api}: ${first.error!.message}`);
    return stop('GitHub is not reachable');
  }
  add(true, `GitHub answers at ${api}`);
  const installation = app && /\/app\/installations\//.test(first.error?.url ?? '');
  if (first.error?.status === 401 || installation) {
    add(
      false,
      app
        ? `GitHub refused the app's credentials (HTTP ${first.error!.status}): check appId, privateKey and installationId, and that the app is installed on ${owner}`
        : `GitHub refused the token (HTTP 401): it is wrong, expired or revoked. Make a new one — fine-grained: access to ${full} with Issues: Read and write; classic: the repo scope — and set it as auth`,
    );
    return stop('GitHub refused the credentials');
  }
  if (!app && first.error !== undefined) {
    add(false, `could not tell: ${first.error.message}`);
    return stop('the credentials could not be checked');
  }
  if (app) add(true, 'as the GitHub App installation');
  else {
    const me = first.value as Answer<{ login: string }>;
    who = me.data.login;
    scopes = scopesOf(me.headers);
    add(true, `as ${who}${scopes === undefined ? '' : ` (a classic token; scopes: ${scopes.join(', ') || 'none'})`}`);
  }

  // repository access
  const repository = app ? (first as Awaited<ReturnType<typeof repoCall>>) : await repoCall();
  if (repository.error !== undefined) {
    const e = repository.error;
    if (e.status === 404)
      add(
        false,
        `${full} does not exist, or ${who} cannot see it (HTTP 404). ` +
          (scopes !== undefined && !scopes.includes('repo')
            ? `This classic token lacks the repo scope, which a private repository needs: add it, or use a fine-grained token with access to ${full} and Issues: Read and write`
            : app
              ? `Install the app on ${full} and give it Issues: Read and write`
              : `For a fine-grained token, add ${full} under "Repository access" with Issues: Read and write; for a classic token, the repo scope (and the account must be a collaborator)`),
      );
    else if (e.status === 403)
      add(
        false,
        `GitHub refused access to ${full} (HTTP 403): ${e.message} (e.g. authorize the token for the organization's SAML single sign-on)`,
      );
    else add(false, `could not tell: ${e.message}`);
    return stop(`no access to ${full}`);
  }
  const data = repository.value.data;
  scopes ??= scopesOf(repository.value.headers);
  const perms = data.permissions;
  const role = roleOf(perms);
  add(
    true,
    `${data.full_name} (${data.private ? 'private' : 'public'})${role === undefined ? '' : `, ${role} access`}`,
  );

  // issues enabled
  if (data.has_issues) add(true, `issues are turned on for ${full}`);
  else add(false, `issues are turned off for ${full}: turn them on under Settings → General → Features → Issues`);

  // may create issues and comment: anyone who can read a repository may, given a token allowed to write.
  const scope = scopes?.includes('repo')
    ? 'repo'
    : !data.private && scopes?.includes('public_repo')
      ? 'public_repo'
      : undefined;
  if (data.archived) add(false, `${full} is archived, so it is read-only: unarchive it, or use another repository`);
  else if (!data.has_issues) add(false, 'not checked: issues are turned off (see "issues enabled")');
  else if (scopes !== undefined && scope === undefined)
    add(
      false,
      `the classic token lacks the ${data.private ? 'repo' : 'public_repo (or repo)'} scope, without which it cannot write issues: add it, or use a fine-grained token with Issues: Read and write`,
    );
  else if (scopes !== undefined) add(true, `${role ?? 'Read'} access and the ${scope} scope allow issues and comments`);
  else
    add(
      true,
      `${role ?? 'Read'} access allows issues and comments; GitHub does not show what a fine-grained token or an app itself may do, so make sure it has Issues: Read and write`,
    );

  // may label issues
  const mayLabel = perms?.push === true;
  if (perms === undefined)
    add(false, `could not tell: GitHub's answer has no permissions; labels need push (Write) access to ${full}`);
  else if (mayLabel) add(true, `${role} access: the labels logtickets sets are kept`);
  else
    add(
      false,
      `${who} has ${role} access to ${full}, and GitHub silently drops labels set without push access. ` +
        `New issues would then lack "${searchLabel}", the label logtickets lists its issues by: once its store's links are lost ` +
        `(a new store, another host) it could not find them again and would open duplicates; reopened issues would not get "${regressionLabel}" either. ` +
        (app
          ? 'Give the app Issues: Read and write'
          : `Give ${who} the Write role (Settings → Collaborators and teams)`),
    );

  // the labels logtickets relies on
  for (const name of labels) {
    const found = await attempt(() => octokit.rest.issues.getLabel({ owner, repo, name, ...request() }));
    if (found.error === undefined) add(true, 'present');
    else if (found.error.status !== 404) add(false, `could not tell: ${found.error.message}`);
    else if (mayLabel) add(true, 'missing; will be created on first use');
    else
      add(
        false,
        `missing, and these credentials cannot create it: create "${name}" under Issues → Labels, or grant Write access (see "may label issues")`,
      );
  }
  return checks;
}

/**
 * Where a person sees issue `number`: github.com for api.github.com; for an
 * API at `https://HOST/api/v3` (GitHub Enterprise Server) `https://HOST`; for
 * `https://api.NAME` (GitHub Enterprise Cloud with data residency)
 * `https://NAME`; any other base URL (a local stand-in) serves its web pages
 * under the same root. Then `/<owner>/<repo>/issues/<number>`.
 */
export function githubIssueUrl(baseUrl: string | undefined, owner: string, repo: string, number: string): string {
  const url = new URL(baseUrl ?? 'https://api.github.com');
  const host = url.hostname.startsWith('api.') ? url.host.slice(4) : url.host;
  const root = `${url.protocol}//${host}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v3$/, '')}`;
  return `${root}/${owner}/${repo}/issues/${encodeURIComponent(number)}`;
}
