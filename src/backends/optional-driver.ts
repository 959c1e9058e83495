/**
 * Loading a database driver that the application installs only when it uses
 * that database (`pg`, `mongodb`): a SQLite user should not download them.
 * A driver that is not installed is a DRIVER_MISSING error that says which
 * package to install, not a bare "Cannot find package". It is not retryable:
 * waiting does not install a package, so the writer gives up on the batch
 * after its few attempts instead of backing off for ever.
 *
 * Only the absence of the package itself is translated. A driver that is
 * there but broken (one of its own files or dependencies missing) fails with
 * its own error, which names what is missing.
 */

import { LogticketsError } from '../errors.js';

/**
 * Import `pkg`; `purpose` says who needs it, as the start of a sentence
 * ("postgres:// stores"). The type argument is the module's type, e.g.
 * `loadDriver<typeof import('pg')>('pg', 'postgres:// stores')`.
 */
export async function loadDriver<T>(pkg: string, purpose: string): Promise<T> {
  try {
    return (await import(pkg)) as T;
  } catch (error) {
    if (!namesMissingPackage(error, pkg)) throw error;
    throw new LogticketsError('DRIVER_MISSING', `${purpose} need the "${pkg}" package: npm install ${pkg}`, {
      cause: error,
      retryable: false,
    });
  }
}

/**
 * Whether `error` says that `pkg` itself cannot be found: Node's ESM loader
 * ("Cannot find package 'pg' imported from …") or, where an import is run
 * through require, its CommonJS loader ("Cannot find module 'pg'").
 */
function namesMissingPackage(error: unknown, pkg: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && new RegExp(`^Cannot find (package|module) '${escape(pkg)}'`).test(message);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
