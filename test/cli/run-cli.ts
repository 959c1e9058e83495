/** Running the `logtickets` CLI from its source in a child process, as a user would run the command. */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const built = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the CLI with `args`: from its sources, or with `built` the built
 * command users run (dist/cli/main.js; `npm test` builds first). LOGTICKETS_DB
 * and LOGTICKETS_CONFIG of the test run's own environment are cleared, so
 * only what a test passes counts.
 */
export async function cli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; built?: boolean } = {},
): Promise<CliResult> {
  if (options.built === true && !existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  const command = options.built === true ? [built] : ['--import', import.meta.resolve('tsx'), main];
  try {
    const { stdout, stderr } = await exec(process.execPath, [...command, ...args], {
      cwd: options.cwd,
      env: { ...process.env, LOGTICKETS_DB: '', LOGTICKETS_CONFIG: '', ...options.env },
      timeout: options.timeoutMs ?? 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A temporary directory removed when the test ends. */
export function workdir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
