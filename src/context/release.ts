/**
 * Which release of the application is running, found once when a handler is
 * made (never per logging call), so that each occurrence can say which
 * release it came from:
 *
 * 1. what the deploy says: the commit variables CI/CD platforms set
 *    (GitHub Actions, GitLab CI, Vercel, Render, Railway, Heroku);
 * 2. the `version` of the package.json at the project root;
 * 3. the commit checked out there (`git rev-parse HEAD`), when git and a
 *    repository are there — bounded in time, silent when they are not.
 *
 * None of them: no release. An explicit `release` option or the
 * LOGTICKETS_RELEASE variable comes before all of this (resolveContext).
 */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Deploy variables holding the commit being run, in the order they are tried. */
export const RELEASE_VARIABLES = [
  'GITHUB_SHA',
  'CI_COMMIT_SHA',
  'VERCEL_GIT_COMMIT_SHA',
  'RENDER_GIT_COMMIT',
  'RAILWAY_GIT_COMMIT_SHA',
  'SOURCE_VERSION',
] as const;

/** How long `git rev-parse` may take before the release is left unknown. */
const GIT_TIMEOUT_MS = 2_000;
/** Releases are names people read and filter by: longer text is not a release. */
const MAX_RELEASE_LENGTH = 200;

export interface ReleaseSources {
  /** The environment (process.env): deploy variables, and the PATH git is found on. */
  readonly env: NodeJS.ProcessEnv;
  /** The project root: where package.json and the repository are looked for. */
  readonly cwd: string;
}

export interface DetectedRelease {
  readonly release: string;
  /** Where it was found: a variable's name, `package.json` or `git`. */
  readonly source: string;
}

export function detectRelease(sources: ReleaseSources): DetectedRelease | null {
  for (const name of RELEASE_VARIABLES) {
    const value = clean(sources.env[name]);
    if (value !== null) return { release: value, source: name };
  }
  const version = packageVersion(sources.cwd);
  if (version !== null) return { release: version, source: 'package.json' };
  const commit = gitHead(sources);
  return commit === null ? null : { release: commit, source: 'git' };
}

/** A usable release name, or null: trimmed, one line, not empty, not too long. */
export function clean(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '' || text.length > MAX_RELEASE_LENGTH || /[\u0000-\u001f\u007f]/.test(text)) return null;
  return text;
}

function packageVersion(cwd: string): string | null {
  try {
    const parsed = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { version?: unknown };
    return clean(parsed.version);
  } catch {
    return null;
  }
}

function gitHead({ cwd, env }: ReleaseSources): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      timeout: GIT_TIMEOUT_MS,
      stdio: ['ignore', 'pipe', 'ignore'],
      encoding: 'utf8',
      // The user's git configuration may page or prompt: neither is wanted here.
      env: { ...env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat' },
    });
    const commit = out.trim();
    return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit) ? commit : null;
  } catch {
    return null;
  }
}
