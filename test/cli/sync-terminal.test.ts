/**
 * `sync` on a terminal (a pseudo-terminal from util-linux `script`): the
 * tracker's error reported while the progress bar runs is printed above the
 * bar, and the bar and the error are each whole on their own line.
 */

import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqlBackend } from '../../src/index.js';
import { cli, workdir } from './run-cli.js';
import { screen } from './screen.js';

const built = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function scriptMissing(): string | undefined {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'util-linux script is not installed: no pseudo-terminal to run sync on';
  }
}

/** Run `args` on a pseudo-terminal; what the terminal received (stdout and stderr alike). */
function onTerminal(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, built, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    execFile(
      'script',
      ['-qfec', command, '/dev/null'],
      { cwd, env: { ...process.env, LOGTICKETS_DB: '', LOGTICKETS_CONFIG: '', TZ: '' }, timeout: 60_000 },
      (error, stdout) => resolve({ code: error === null ? 0 : Number(error.code), output: stdout }),
    );
  });
}

const missing = scriptMissing();
test("sync's progress bar and the tracker error printed while it runs do not write over each other", async (t) => {
  // util-linux's script is on every Debian (bsdutils is essential): without it, say so and fail.
  if (missing !== undefined) {
    t.fail(missing);
    return;
  }
  const dir = workdir(t);
  const store = new SqlBackend(`sqlite:${join(dir, 'store.db')}`);
  await store.open();
  await store.close();
  const config = join(dir, 'logtickets.json');
  // Nobody answers on port 9: each delivery fails, and the failure is reported on stderr.
  writeFileSync(
    config,
    JSON.stringify({
      store: 'sqlite:./store.db',
      trackers: [{ type: 'trac', name: 'trac', url: 'http://127.0.0.1:9/login/rpc', timeoutMs: 2000 }],
    }),
  );
  const sent = await cli(['test-ticket', '--config', config, '--timeout', '1'], { built: true, cwd: dir });
  t.is(sent.code, 1, 'the delivery waits in the outbox');

  const { code, output } = await onTerminal(['sync', '--config', config, '--timeout', '2'], dir);
  t.is(code, 1, output);
  const lines = screen(output.replace(/\r\n/g, '\n')).filter((l) => l !== '');
  const error = lines.findIndex((l) => l.startsWith('logtickets: trac'));
  const bar = lines.findIndex((l) => l.startsWith('trac ['));
  t.true(error >= 0, lines.join('\n'));
  t.regex(
    lines[error]!,
    /^logtickets: trac:\S+: BACKEND_UNAVAILABLE: .*ECONNREFUSED.*\(deliveries wait in the outbox\)$/,
  );
  t.regex(lines[bar]!, /^trac \[░+\] 0\/1 delivered$/, 'the bar, whole');
  t.true(error < bar, 'the error above the bar');
  t.regex(lines[bar + 1]!, /^FAIL\s+trac: synced — 1 of 1 still waiting after 2 s: /, 'the result below it');
  t.is(lines.length, bar + 2, lines.join('\n'));
});
