/**
 * The options of a GitHubTracker, and their checks: an unknown or misspelt
 * option, a missing owner or repo, an empty token, incomplete App
 * credentials or a base URL that is not http(s) are refused when the tracker
 * is made, with a message naming the option.
 */

import { LogticketsError } from '../../errors.js';
import { checkOptions } from '../../options.js';
import type { BudgetWindow } from '../tracker-state.js';
import type { GitHubAppAuth } from './github-secrets.js';

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
  /** Issues with one of these labels are muted: never reopened nor commented (default `['wontfix', 'muted']`). */
  readonly mutedLabels?: readonly string[];
  /** Writes allowed per window, for the whole fleet (default 80 per minute and 500 per hour). */
  readonly writeBudget?: readonly BudgetWindow[];
  /** Least time between two writes of this process (default 1 000 ms), and between two that notify people (default 3 000 ms). */
  readonly writeIntervalMs?: number;
  readonly notifyIntervalMs?: number;
  /** Per request (default 15 000 ms). */
  readonly timeoutMs?: number;
}

/** Throws an INVALID_ARGUMENT naming the option at fault. */
export function checkGitHubOptions(options: GitHubTrackerOptions): void {
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
}
