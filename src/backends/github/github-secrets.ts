/**
 * What of a GitHub tracker's credentials could show up in an error's text:
 * the token itself, or for a GitHub App its private key, whole (with real or
 * escaped newlines, as keys taken from environment variables often come) and
 * line by line, since a library may quote a piece of a key it cannot read.
 * The App's JWTs and installation tokens are made at run time and are masked
 * by their shape instead (see maskSecrets).
 */

/** GitHub App credentials (the other kind of `auth` is a token). */
export interface GitHubAppAuth {
  readonly appId: number | string;
  readonly privateKey: string;
  readonly installationId: number | string;
}

// A line of a key's base64 body: long enough not to be an ordinary word.
const KEY_LINE = /^[A-Za-z0-9+/=]{16,}$/;

export function githubSecrets(auth: string | GitHubAppAuth): string[] {
  if (typeof auth === 'string') return [auth, auth.trim()];
  const key = String(auth.privateKey);
  const lines = key
    .replace(/\\n/g, '\n')
    .split(/\r?\n/)
    .map((l) => l.trim());
  return [key, key.replace(/\\n/g, '\n'), key.replace(/\r?\n/g, '\\n'), ...lines.filter((l) => KEY_LINE.test(l))];
}
