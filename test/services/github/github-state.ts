/**
 * The data behind the GitHub stand-in: one repository with its issues, comments
 * and labels, the rules GitHub applies when they change (length limits,
 * state/state_reason transitions, labels made on the fly, ...), and the JSON
 * shapes GitHub's REST API gives them. No HTTP here: github-server.ts does that.
 */

export type StateReason = 'completed' | 'not_planned' | 'reopened' | 'duplicate';

export interface GitHubComment {
  id: number;
  body: string;
  created_at: string;
  user: string;
}

export interface GitHubIssue {
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  /** GitHub also knows 'duplicate' (PATCH with state_reason: 'duplicate'). */
  state_reason: StateReason | null;
  labels: string[];
  comments: GitHubComment[];
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  /** login of the author */
  user: string;
  /** logins; not in the original brief, kept because POST/PATCH take them */
  assignees?: string[];
}

/** A failure GitHub reports with an error body (404, 410, 422, ...). */
export class GitHubApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** the `errors` array of a 422 "Validation Failed" body */
    readonly errors?: Array<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** GitHub's limits, in characters (Unicode code points). */
export const TITLE_MAX = 256;
export const BODY_MAX = 65536;
export const LABEL_DESCRIPTION_MAX = 100;
/** Colour GitHub gives a label created without one (also on the fly from an issue). */
export const DEFAULT_LABEL_COLOR = 'ededed';

/** The nine labels of a new GitHub repository (used with `defaultLabels: true`). */
export const GITHUB_DEFAULT_LABELS: Array<{ name: string; color: string; description: string }> = [
  { name: 'bug', color: 'd73a4a', description: "Something isn't working" },
  { name: 'documentation', color: '0075ca', description: 'Improvements or additions to documentation' },
  { name: 'duplicate', color: 'cfd3d7', description: 'This issue or pull request already exists' },
  { name: 'enhancement', color: 'a2eeef', description: 'New feature or request' },
  { name: 'good first issue', color: '7057ff', description: 'Good for newcomers' },
  { name: 'help wanted', color: '008672', description: 'Extra attention is needed' },
  { name: 'invalid', color: 'e4e669', description: "This doesn't seem right" },
  { name: 'question', color: 'd876e3', description: 'Further information is requested' },
  { name: 'wontfix', color: 'ffffff', description: 'This will not be worked on' },
];

export interface CommentRecord {
  id: number;
  nodeId: string;
  body: string;
  createdAt: string;
  updatedAt: string;
  user: string;
}

export interface IssueRecord {
  number: number;
  id: number;
  nodeId: string;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: StateReason | null;
  labels: string[];
  assignees: string[];
  comments: CommentRecord[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedBy: string | null;
  user: string;
}

export interface LabelRecord {
  id: number;
  nodeId: string;
  name: string;
  color: string;
  description: string | null;
  isDefault: boolean;
}

export interface IssueListFilter {
  state: 'open' | 'closed' | 'all';
  labels: string[];
  since?: string | undefined;
  sort: 'created' | 'updated' | 'comments';
  direction: 'asc' | 'desc';
  creator?: string | undefined;
  assignee?: string | undefined;
  mentioned?: string | undefined;
  milestone?: string | undefined;
}

/** GitHub's timestamps: ISO 8601 in UTC, whole seconds. */
export function timestamp(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function chars(s: string): number {
  return [...s].length;
}

function nodeId(prefix: string, ...parts: number[]): string {
  const bytes = Buffer.alloc(parts.length * 6);
  parts.forEach((p, i) => bytes.writeUIntBE(p, i * 6, 6));
  return `${prefix}_kwDO${bytes.toString('base64url')}`;
}

export interface StateOptions {
  owner: string;
  repo: string;
  /** the stand-in's base URL: API URLs and html_url both live under it (as on GitHub Enterprise) */
  baseUrl: string;
  /** login of the token's user (the backend's bot account) */
  botLogin: string;
  /** login used by closeIssue(), "a human" */
  humanLogin: string;
  /** more collaborators of the repository (accounts with read access) */
  readers?: string[];
  defaultLabels: boolean;
}

/** The `permissions` object of a repository: the role of the account asking. */
export interface RepoPermissions {
  admin: boolean;
  maintain: boolean;
  push: boolean;
  triage: boolean;
  pull: boolean;
}

export const WRITE_PERMISSIONS: Readonly<RepoPermissions> = {
  admin: false,
  maintain: false,
  push: true,
  triage: true,
  pull: true,
};
export const READ_PERMISSIONS: Readonly<RepoPermissions> = {
  admin: false,
  maintain: false,
  push: false,
  triage: false,
  pull: true,
};

export class GitHubState {
  readonly owner: string;
  readonly repo: string;
  readonly repoId = 781_245_903;
  readonly ownerId = 139_426_771;
  readonly botLogin: string;
  readonly humanLogin: string;
  private readonly collaborators: ReadonlySet<string>;
  readonly createdAt = '2024-03-04T09:12:44Z';
  /** false while the `issues-disabled` fault is on */
  hasIssues = true;

  private readonly api: string;
  private readonly html: string;
  private readonly issuesByNumber = new Map<number, IssueRecord>();
  /** Numbers of deleted issues (never given again). */
  private readonly deleted = new Set<number>();
  private readonly labelRecords: LabelRecord[] = [];
  private readonly userIds = new Map<string, number>();
  private nextNumber = 1;
  private nextCommentId = 2_041_870_113;
  private nextLabelId = 6_911_204_357;

  constructor(opts: StateOptions) {
    this.owner = opts.owner;
    this.repo = opts.repo;
    this.api = opts.baseUrl;
    this.html = opts.baseUrl;
    this.botLogin = opts.botLogin;
    this.humanLogin = opts.humanLogin;
    this.collaborators = new Set([opts.botLogin, opts.humanLogin, ...(opts.readers ?? [])]);
    this.userIds.set(opts.owner, this.ownerId);
    if (opts.defaultLabels) {
      for (const l of GITHUB_DEFAULT_LABELS) this.addLabelRecord(l.name, l.color, l.description, true);
    }
  }

  // -- queries ---------------------------------------------------------------

  isThisRepo(owner: string, repo: string): boolean {
    return owner.toLowerCase() === this.owner.toLowerCase() && repo.toLowerCase() === this.repo.toLowerCase();
  }

  issue(number: number): IssueRecord {
    const issue = this.issuesByNumber.get(number);
    if (this.deleted.has(number)) throw new GitHubApiError(410, 'This issue was deleted');
    if (!issue) throw new GitHubApiError(404, 'Not Found');
    return issue;
  }

  /** Issues matching a list filter, sorted as GitHub sorts them. */
  listIssues(f: IssueListFilter): IssueRecord[] {
    const wanted = f.labels.map((l) => l.toLowerCase());
    const since = f.since ? Date.parse(f.since) : undefined;
    const mention = f.mentioned ? new RegExp(`@${f.mentioned.replace(/[^\w-]/g, '')}\\b`, 'i') : undefined;
    const list = [...this.issuesByNumber.values()].filter((i) => {
      if (f.state !== 'all' && i.state !== f.state) return false;
      const have = i.labels.map((l) => l.toLowerCase());
      if (!wanted.every((l) => have.includes(l))) return false;
      if (since !== undefined && Date.parse(i.updatedAt) < since) return false;
      if (f.creator && i.user.toLowerCase() !== f.creator.toLowerCase()) return false;
      if (f.assignee === 'none' && i.assignees.length > 0) return false;
      if (f.assignee === '*' && i.assignees.length === 0) return false;
      if (
        f.assignee &&
        f.assignee !== 'none' &&
        f.assignee !== '*' &&
        !i.assignees.some((a) => a.toLowerCase() === f.assignee!.toLowerCase())
      )
        return false;
      if (mention && !mention.test(i.body ?? '')) return false;
      if (f.milestone && f.milestone !== 'none') return false; // this repository has no milestones
      return true;
    });
    const key = (i: IssueRecord): number =>
      f.sort === 'updated'
        ? Date.parse(i.updatedAt)
        : f.sort === 'comments'
          ? i.comments.length
          : Date.parse(i.createdAt);
    const sign = f.direction === 'asc' ? 1 : -1;
    // Ties (same second) fall back to the issue number, in the same direction.
    return list.sort((a, b) => sign * (key(a) - key(b) || a.number - b.number));
  }

  findLabel(name: string): LabelRecord | undefined {
    const lower = name.toLowerCase();
    return this.labelRecords.find((l) => l.name.toLowerCase() === lower);
  }

  /** Labels in GitHub's list order (by name). */
  listLabels(): LabelRecord[] {
    return [...this.labelRecords].sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }));
  }

  // -- changes, as the API makes them ----------------------------------------

  createIssue(
    input: { title: string; body?: string | undefined; labels?: string[]; assignees?: string[]; milestone?: unknown },
    user: string,
  ): IssueRecord {
    const errors = [...this.titleErrors(input.title), ...this.bodyErrors('Issue', 'body', input.body)];
    if (input.milestone !== undefined && input.milestone !== null) errors.push(this.noMilestone(input.milestone));
    if (errors.length > 0) throw validationFailed(errors);
    const now = timestamp();
    return this.insertIssue({
      title: input.title,
      body: input.body ?? null,
      labels: (input.labels ?? []).map((l) => this.ensureLabel(l).name),
      assignees: input.assignees ?? [],
      user,
      createdAt: now,
    });
  }

  updateIssue(
    number: number,
    patch: {
      title?: string | null;
      body?: string | null;
      state?: 'open' | 'closed';
      state_reason?: StateReason | null;
      labels?: string[];
      assignees?: string[];
      assignee?: string | null;
      milestone?: unknown;
    },
    user: string,
  ): IssueRecord {
    const issue = this.issue(number);
    const errors: Array<Record<string, unknown>> = [];
    if (patch.title !== undefined && patch.title !== null) errors.push(...this.titleErrors(patch.title));
    if (patch.body !== undefined && patch.body !== null) errors.push(...this.bodyErrors('Issue', 'body', patch.body));
    if (patch.milestone !== undefined && patch.milestone !== null) errors.push(this.noMilestone(patch.milestone));
    if (errors.length > 0) throw validationFailed(errors);

    const now = timestamp();
    if (patch.title !== undefined && patch.title !== null) issue.title = patch.title;
    if (patch.body !== undefined) issue.body = patch.body;
    if (patch.labels !== undefined) issue.labels = dedupe(patch.labels.map((l) => this.ensureLabel(l).name));
    if (patch.assignees !== undefined) issue.assignees = dedupe(patch.assignees);
    else if (patch.assignee !== undefined) issue.assignees = patch.assignee === null ? [] : [patch.assignee];
    // state_reason is "ignored unless state is changed" (the description says so).
    if (patch.state !== undefined && patch.state !== issue.state) {
      if (patch.state === 'closed') {
        const reason = patch.state_reason;
        this.markClosed(issue, reason && reason !== 'reopened' ? reason : 'completed', user, now);
      } else {
        issue.state = 'open';
        issue.stateReason = 'reopened';
        issue.closedAt = null;
        issue.closedBy = null;
      }
    }
    issue.updatedAt = now;
    return issue;
  }

  addComment(number: number, body: string, user: string): CommentRecord {
    const issue = this.issue(number);
    const errors = this.bodyErrors('IssueComment', 'data', body);
    if (errors.length > 0) throw validationFailed(errors);
    const now = timestamp();
    const comment = this.insertComment(issue, body, user, now);
    issue.updatedAt = now;
    return comment;
  }

  /** POST .../issues/{n}/labels: adds to the issue's labels; returns all of them. */
  addIssueLabels(number: number, names: string[]): LabelRecord[] {
    const issue = this.issue(number);
    for (const name of names) {
      const label = this.ensureLabel(name);
      if (!issue.labels.some((l) => l.toLowerCase() === label.name.toLowerCase())) issue.labels.push(label.name);
    }
    issue.updatedAt = timestamp();
    return this.issueLabels(issue);
  }

  /** DELETE .../issues/{n}/labels/{name}: returns the labels left. */
  removeIssueLabel(number: number, name: string): LabelRecord[] {
    const issue = this.issue(number);
    const index = issue.labels.findIndex((l) => l.toLowerCase() === name.toLowerCase());
    if (index < 0) throw new GitHubApiError(404, 'Label does not exist');
    issue.labels.splice(index, 1);
    issue.updatedAt = timestamp();
    return this.issueLabels(issue);
  }

  createLabel(input: { name: string; color?: string | undefined; description?: string | undefined }): LabelRecord {
    const errors: Array<Record<string, unknown>> = [];
    if (input.name.trim() === '') errors.push({ resource: 'Label', code: 'missing_field', field: 'name' });
    else if (this.findLabel(input.name)) errors.push({ resource: 'Label', code: 'already_exists', field: 'name' });
    const color = (input.color ?? DEFAULT_LABEL_COLOR).replace(/^#/, '');
    if (!/^[0-9a-fA-F]{6}$/.test(color)) errors.push({ resource: 'Label', code: 'invalid', field: 'color' });
    if (input.description !== undefined && chars(input.description) > LABEL_DESCRIPTION_MAX) {
      errors.push({
        resource: 'Label',
        code: 'custom',
        field: 'description',
        message: `description is too long (maximum is ${LABEL_DESCRIPTION_MAX} characters)`,
      });
    }
    if (errors.length > 0) throw validationFailed(errors);
    return this.addLabelRecord(input.name, color.toLowerCase(), input.description ?? null, false);
  }

  // -- changes made by the tests ---------------------------------------------

  seedIssue(i: Partial<GitHubIssue> & { title: string }): IssueRecord {
    if (i.number !== undefined && this.issuesByNumber.has(i.number))
      throw new Error(`issue #${i.number} exists already`);
    const createdAt = i.created_at ?? timestamp();
    const state = i.state ?? 'open';
    const issue = this.insertIssue({
      number: i.number,
      title: i.title,
      body: i.body ?? null,
      labels: (i.labels ?? []).map((l) => this.ensureLabel(l).name),
      assignees: i.assignees ?? [],
      user: i.user ?? this.botLogin,
      createdAt,
    });
    for (const c of i.comments ?? []) {
      const comment = this.insertComment(issue, c.body, c.user, c.created_at);
      if (c.id) {
        if ([...this.issuesByNumber.values()].some((x) => x.comments.some((y) => y !== comment && y.id === c.id))) {
          throw new Error(`comment id ${c.id} exists already`);
        }
        comment.id = c.id;
        this.nextCommentId = Math.max(this.nextCommentId, c.id + 1);
      }
    }
    if (state === 'closed') {
      const closedAt = i.closed_at ?? i.updated_at ?? createdAt;
      const reason = i.state_reason && i.state_reason !== 'reopened' ? i.state_reason : 'completed';
      this.markClosed(issue, reason, i.user ?? this.botLogin, closedAt);
    } else {
      issue.stateReason = i.state_reason === 'reopened' ? 'reopened' : null;
    }
    issue.updatedAt = i.updated_at ?? issue.closedAt ?? issue.comments.at(-1)?.createdAt ?? createdAt;
    return issue;
  }

  /** Deletes an issue as a maintainer can in the web UI: from then on GitHub answers 410 for it. */
  deleteIssue(number: number): void {
    if (!this.issuesByNumber.delete(number)) throw new Error(`no issue #${number}`);
    this.deleted.add(number);
  }

  closeIssue(number: number, reason: 'completed' | 'not_planned'): void {
    const issue = this.issuesByNumber.get(number);
    if (!issue) throw new Error(`no issue #${number}`);
    const now = timestamp();
    this.markClosed(issue, reason, this.humanLogin, now);
    issue.updatedAt = now;
  }

  /** Copies of the issues, by number, for assertions. */
  snapshot(): GitHubIssue[] {
    return [...this.issuesByNumber.values()]
      .sort((a, b) => a.number - b.number)
      .map((i) => ({
        number: i.number,
        title: i.title,
        body: i.body,
        state: i.state,
        state_reason: i.stateReason,
        labels: [...i.labels],
        comments: i.comments.map((c) => ({ id: c.id, body: c.body, created_at: c.createdAt, user: c.user })),
        created_at: i.createdAt,
        updated_at: i.updatedAt,
        closed_at: i.closedAt,
        user: i.user,
        assignees: [...i.assignees],
      }));
  }

  labelSnapshot(): Array<{ name: string; color: string }> {
    return this.labelRecords.map((l) => ({ name: l.name, color: l.color }));
  }

  openIssueCount(): number {
    return [...this.issuesByNumber.values()].filter((i) => i.state === 'open').length;
  }

  // -- JSON as GitHub renders it ---------------------------------------------

  get repoApiUrl(): string {
    return `${this.api}/repos/${this.owner}/${this.repo}`;
  }

  userId(login: string): number {
    let id = this.userIds.get(login);
    if (id === undefined) {
      id = 48_100_000 + this.userIds.size * 7919;
      this.userIds.set(login, id);
    }
    return id;
  }

  userJson(login: string): Record<string, unknown> {
    const id = this.userId(login);
    const isOrg = login === this.owner;
    // A bot's login (`<slug>[bot]`) is percent-encoded in URLs; its page is the App's.
    const bot = /^(.+)\[bot\]$/.exec(login);
    const u = `${this.api}/users/${encodeURIComponent(login)}`;
    return {
      login,
      id,
      node_id: nodeId(isOrg ? 'O' : 'U', id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: '',
      url: u,
      html_url: bot ? `${this.html}/apps/${bot[1]}` : `${this.html}/${login}`,
      followers_url: `${u}/followers`,
      following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`,
      starred_url: `${u}/starred{/owner}{/repo}`,
      subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`,
      repos_url: `${u}/repos`,
      events_url: `${u}/events{/privacy}`,
      received_events_url: `${u}/received_events`,
      // A GitHub App's installation acts as `<slug>[bot]`, a Bot account.
      type: isOrg ? 'Organization' : login.endsWith('[bot]') ? 'Bot' : 'User',
      user_view_type: 'public',
      site_admin: false,
    };
  }

  /** GET /user: the token's own account, with the private fields. */
  authenticatedUserJson(login: string = this.botLogin): Record<string, unknown> {
    return {
      ...this.userJson(login),
      user_view_type: 'private',
      name: login === this.botLogin ? 'logtickets bot' : login,
      company: null,
      blog: '',
      location: null,
      email: null,
      notification_email: null,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: 0,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: '2023-11-20T08:00:00Z',
      updated_at: '2024-03-04T09:00:00Z',
      private_gists: 0,
      total_private_repos: 0,
      owned_private_repos: 0,
      disk_usage: 0,
      collaborators: 0,
      two_factor_authentication: true,
      plan: { name: 'free', space: 976_562_499, private_repos: 10_000, collaborators: 0 },
    };
  }

  labelJson(l: LabelRecord): Record<string, unknown> {
    return {
      id: l.id,
      node_id: l.nodeId,
      url: `${this.repoApiUrl}/labels/${encodeURIComponent(l.name)}`,
      name: l.name,
      color: l.color,
      default: l.isDefault,
      description: l.description,
    };
  }

  issueLabels(issue: IssueRecord): LabelRecord[] {
    return issue.labels.map((name) => this.findLabel(name)).filter((l): l is LabelRecord => l !== undefined);
  }

  issueJson(issue: IssueRecord): Record<string, unknown> {
    const url = `${this.repoApiUrl}/issues/${issue.number}`;
    return {
      url,
      repository_url: this.repoApiUrl,
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `${this.html}/${this.owner}/${this.repo}/issues/${issue.number}`,
      id: issue.id,
      node_id: issue.nodeId,
      number: issue.number,
      title: issue.title,
      user: this.userJson(issue.user),
      labels: this.issueLabels(issue).map((l) => this.labelJson(l)),
      state: issue.state,
      locked: false,
      assignee: issue.assignees[0] === undefined ? null : this.userJson(issue.assignees[0]),
      assignees: issue.assignees.map((a) => this.userJson(a)),
      milestone: null,
      comments: issue.comments.length,
      created_at: issue.createdAt,
      updated_at: issue.updatedAt,
      closed_at: issue.closedAt,
      author_association: this.association(issue.user),
      active_lock_reason: null,
      body: issue.body,
      closed_by: issue.closedBy === null ? null : this.userJson(issue.closedBy),
      reactions: this.reactions(`${url}/reactions`),
      timeline_url: `${url}/timeline`,
      performed_via_github_app: null,
      state_reason: issue.stateReason,
    };
  }

  commentJson(issue: IssueRecord, c: CommentRecord): Record<string, unknown> {
    const url = `${this.repoApiUrl}/issues/comments/${c.id}`;
    return {
      url,
      html_url: `${this.html}/${this.owner}/${this.repo}/issues/${issue.number}#issuecomment-${c.id}`,
      issue_url: `${this.repoApiUrl}/issues/${issue.number}`,
      id: c.id,
      node_id: c.nodeId,
      user: this.userJson(c.user),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      author_association: this.association(c.user),
      body: c.body,
      reactions: this.reactions(`${url}/reactions`),
      performed_via_github_app: null,
    };
  }

  /** GET /repos/{owner}/{repo}, as seen by an account with these permissions (default: Write). */
  repoJson(permissions: RepoPermissions = WRITE_PERMISSIONS): Record<string, unknown> {
    const r = this.repoApiUrl;
    const full = `${this.owner}/${this.repo}`;
    const htmlUrl = `${this.html}/${full}`;
    const host = new URL(this.html).host;
    const open = this.openIssueCount();
    return {
      id: this.repoId,
      node_id: nodeId('R', this.repoId),
      name: this.repo,
      full_name: full,
      private: true,
      owner: this.userJson(this.owner),
      html_url: htmlUrl,
      description: 'Stand-in repository for the logtickets GitHub backend tests',
      fork: false,
      url: r,
      forks_url: `${r}/forks`,
      keys_url: `${r}/keys{/key_id}`,
      collaborators_url: `${r}/collaborators{/collaborator}`,
      teams_url: `${r}/teams`,
      hooks_url: `${r}/hooks`,
      issue_events_url: `${r}/issues/events{/number}`,
      events_url: `${r}/events`,
      assignees_url: `${r}/assignees{/user}`,
      branches_url: `${r}/branches{/branch}`,
      tags_url: `${r}/tags`,
      blobs_url: `${r}/git/blobs{/sha}`,
      git_tags_url: `${r}/git/tags{/sha}`,
      git_refs_url: `${r}/git/refs{/sha}`,
      trees_url: `${r}/git/trees{/sha}`,
      statuses_url: `${r}/statuses/{sha}`,
      languages_url: `${r}/languages`,
      stargazers_url: `${r}/stargazers`,
      contributors_url: `${r}/contributors`,
      subscribers_url: `${r}/subscribers`,
      subscription_url: `${r}/subscription`,
      commits_url: `${r}/commits{/sha}`,
      git_commits_url: `${r}/git/commits{/sha}`,
      comments_url: `${r}/comments{/number}`,
      issue_comment_url: `${r}/issues/comments{/number}`,
      contents_url: `${r}/contents/{+path}`,
      compare_url: `${r}/compare/{base}...{head}`,
      merges_url: `${r}/merges`,
      archive_url: `${r}/{archive_format}{/ref}`,
      downloads_url: `${r}/downloads`,
      issues_url: `${r}/issues{/number}`,
      pulls_url: `${r}/pulls{/number}`,
      milestones_url: `${r}/milestones{/number}`,
      notifications_url: `${r}/notifications{?since,all,participating}`,
      labels_url: `${r}/labels{/name}`,
      releases_url: `${r}/releases{/id}`,
      deployments_url: `${r}/deployments`,
      created_at: this.createdAt,
      updated_at: this.createdAt,
      pushed_at: this.createdAt,
      git_url: `git://${host}/${full}.git`,
      ssh_url: `git@${host}:${full}.git`,
      clone_url: `${htmlUrl}.git`,
      svn_url: htmlUrl,
      homepage: null,
      size: 0,
      stargazers_count: 0,
      watchers_count: 0,
      language: null,
      has_issues: this.hasIssues,
      has_projects: false,
      has_downloads: true,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      mirror_url: null,
      archived: false,
      disabled: false,
      open_issues_count: open,
      license: null,
      allow_forking: false,
      is_template: false,
      web_commit_signoff_required: false,
      topics: [],
      visibility: 'private',
      forks: 0,
      open_issues: open,
      watchers: 0,
      default_branch: 'main',
      permissions: { ...permissions },
      temp_clone_token: '',
      allow_squash_merge: true,
      allow_merge_commit: true,
      allow_rebase_merge: true,
      allow_auto_merge: false,
      delete_branch_on_merge: false,
      allow_update_branch: false,
      use_squash_pr_title_as_default: false,
      squash_merge_commit_message: 'COMMIT_MESSAGES',
      squash_merge_commit_title: 'COMMIT_OR_PR_TITLE',
      merge_commit_message: 'PR_TITLE',
      merge_commit_title: 'MERGE_MESSAGE',
      organization: this.userJson(this.owner),
      network_count: 0,
      subscribers_count: 1,
    };
  }

  // -- helpers ---------------------------------------------------------------

  private insertIssue(fields: {
    number?: number | undefined;
    title: string;
    body: string | null;
    labels: string[];
    assignees: string[];
    user: string;
    createdAt: string;
  }): IssueRecord {
    const number = fields.number ?? this.nextNumber;
    this.nextNumber = Math.max(this.nextNumber, number + 1);
    const id = 2_378_000_000 + number * 13;
    const issue: IssueRecord = {
      number,
      id,
      nodeId: nodeId('I', this.repoId, number),
      title: fields.title,
      body: fields.body,
      state: 'open',
      stateReason: null,
      labels: dedupe(fields.labels),
      assignees: dedupe(fields.assignees),
      comments: [],
      createdAt: fields.createdAt,
      updatedAt: fields.createdAt,
      closedAt: null,
      closedBy: null,
      user: fields.user,
    };
    this.issuesByNumber.set(number, issue);
    return issue;
  }

  private insertComment(issue: IssueRecord, body: string, user: string, at: string): CommentRecord {
    const id = this.nextCommentId++;
    const comment: CommentRecord = {
      id,
      nodeId: nodeId('IC', this.repoId, id),
      body,
      createdAt: at,
      updatedAt: at,
      user,
    };
    issue.comments.push(comment);
    return comment;
  }

  private markClosed(issue: IssueRecord, reason: StateReason, by: string, at: string): void {
    issue.state = 'closed';
    issue.stateReason = reason;
    issue.closedAt = at;
    issue.closedBy = by;
  }

  /** The label of that name (any case), created with GitHub's default colour if missing. */
  private ensureLabel(name: string): LabelRecord {
    return this.findLabel(name) ?? this.addLabelRecord(name, DEFAULT_LABEL_COLOR, null, false);
  }

  private addLabelRecord(name: string, color: string, description: string | null, isDefault: boolean): LabelRecord {
    const id = this.nextLabelId;
    this.nextLabelId += 17;
    const label: LabelRecord = { id, nodeId: nodeId('LA', this.repoId, id), name, color, description, isDefault };
    this.labelRecords.push(label);
    return label;
  }

  private titleErrors(title: string): Array<Record<string, unknown>> {
    if (title.trim() === '') return [{ resource: 'Issue', code: 'missing_field', field: 'title' }];
    if (chars(title) > TITLE_MAX) {
      return [
        {
          resource: 'Issue',
          code: 'custom',
          field: 'title',
          message: `title is too long (maximum is ${TITLE_MAX} characters)`,
        },
      ];
    }
    return [];
  }

  /** Issue bodies and comment bodies; GitHub words the two errors differently. */
  private bodyErrors(
    resource: 'Issue' | 'IssueComment',
    field: string,
    body: string | undefined,
  ): Array<Record<string, unknown>> {
    if (body === undefined || chars(body) <= BODY_MAX) return [];
    return resource === 'Issue'
      ? [{ resource, code: 'custom', field, message: `body is too long (maximum is ${BODY_MAX} characters)` }]
      : [{ resource, code: 'unprocessable', field, message: `Body is too long (maximum is ${BODY_MAX} characters)` }];
  }

  private noMilestone(value: unknown): Record<string, unknown> {
    return { resource: 'Issue', code: 'invalid', field: 'milestone', value: String(value) };
  }

  private association(login: string): string {
    if (login === this.owner) return 'OWNER';
    if (this.collaborators.has(login)) return 'COLLABORATOR';
    return 'NONE';
  }

  private reactions(url: string): Record<string, unknown> {
    return { url, total_count: 0, '+1': 0, '-1': 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 };
  }
}

function validationFailed(errors: Array<Record<string, unknown>>): GitHubApiError {
  return new GitHubApiError(422, 'Validation Failed', errors);
}

function dedupe(names: string[]): string[] {
  const seen = new Set<string>();
  return names.filter((n) => {
    const k = n.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
