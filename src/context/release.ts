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
import { LogticketsError } from '../errors.js';

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

/** The release and environment a handler records every occurrence with. */
export interface Deployment {
  readonly release: string | null;
  readonly environment: string | null;
}

export interface DeploymentOptions {
  /** The release: a string, or null for none (no detection). Default: LOGTICKETS_RELEASE, else detected. */
  readonly release?: string | null;
  /** The environment: a string, or null for none. Default: LOGTICKETS_ENVIRONMENT, else NODE_ENV. */
  readonly environment?: string | null;
}

// Detection reads files and may start git: once per project root and deploy variables, per process.
const detected = new Map<string, DetectedRelease | null>();

/** The deployment from options, then the LOGTICKETS_ variables, then detection (once). */
export function resolveDeployment(options: DeploymentOptions, sources: ReleaseSources): Deployment {
  // Given as null means none: neither a variable nor detection is asked.
  let release = explicit(options.release, 'release');
  if (release === undefined) release = fromVariable(sources.env, 'LOGTICKETS_RELEASE');
  if (release === undefined) release = cachedDetection(sources)?.release ?? null;
  let environment = explicit(options.environment, 'environment');
  if (environment === undefined) {
    environment = fromVariable(sources.env, 'LOGTICKETS_ENVIRONMENT') ?? fromVariable(sources.env, 'NODE_ENV') ?? null;
  }
  return { release, environment };
}

/** undefined: not given; null: given as none; else the cleaned value. */
function explicit(value: unknown, name: string): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const cleaned = clean(value);
  if (cleaned === null) {
    throw new LogticketsError(
      'INVALID_ARGUMENT',
      `options.${name} must be null or one line of 1 to ${MAX_RELEASE_LENGTH} characters`,
    );
  }
  return cleaned;
}

function fromVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return clean(env[name]) ?? undefined;
}

function cachedDetection(sources: ReleaseSources): DetectedRelease | null {
  const key = [sources.cwd, ...RELEASE_VARIABLES.map((name) => sources.env[name] ?? '')].join('\u0000');
  let found = detected.get(key);
  if (found === undefined) {
    found = detectRelease(sources);
    detected.set(key, found);
  }
  return found;
}
