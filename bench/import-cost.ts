/**
 * Scenario: what `import('logtickets')` costs a SQLite user (the default
 * store) at start-up, next to `import('pino')`: the time of the dynamic import
 * and the RSS it adds. Each run is a fresh `node` process, so nothing is
 * cached; the runs of both alternate, so that load from elsewhere on the
 * machine falls on both; medians are reported.
 *
 * logtickets is imported by its package name, as a user does: from inside the
 * package the name resolves to itself through package.json's "exports", that
 * is to dist/index.js. So this scenario needs a build first (`npm run build`);
 * it refuses to run without dist/ and says so when dist/ is older than src/.
 *
 * A third figure shows what the import leaves for later: the import, then one
 * error logged and written to a SQLite file (lazily loaded drivers and a
 * writer thread count here, not in the import).
 */

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median, type Figure } from './measure.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TIME_TARGET = 4;
const TIME_MOONSHOT = 2;
const RSS_TARGET_MB = 25;

/** What the child does between the two measurements, by case. */
const CASES = {
  pino: `await import('pino');`,
  logtickets: `await import('logtickets');`,
  firstError: `
    const { Logger, TicketingHandler } = await import('logtickets');
    const handler = new TicketingHandler('sqlite:' + join(dir, 'first.db')).pushApplication();
    new Logger('shop.checkout').error({ extra: { orderId: 'A-1042' } }, 'payment %s failed', 'A-1042');
    if (!(await handler.close())) throw new Error('the first error was not written');`,
} as const;
type Case = keyof typeof CASES;

/**
 * The child: a gc before and after (--expose-gc) so that RSS counts what
 * stays, not garbage awaiting collection; prints `{ ms, rssMb }`. The temp
 * directory is made before the clock starts.
 */
function childScript(which: Case): string {
  return `
    import { mkdtempSync, rmSync } from 'node:fs';
    import { tmpdir } from 'node:os';
    import { join } from 'node:path';
    const dir = mkdtempSync(join(tmpdir(), 'logtickets-import-'));
    globalThis.gc();
    const rss = process.memoryUsage().rss;
    const start = performance.now();
    ${CASES[which]}
    const ms = performance.now() - start;
    globalThis.gc();
    const rssMb = (process.memoryUsage().rss - rss) / 2 ** 20;
    rmSync(dir, { recursive: true, force: true });
    console.log(JSON.stringify({ ms, rssMb }));`;
}

async function child(which: Case): Promise<{ ms: number; rssMb: number }> {
  const { stdout } = await run(process.execPath, ['--expose-gc', '--input-type=module', '-e', childScript(which)], {
    cwd: ROOT,
    // A child that hangs (a writer that never lets go, say) fails the scenario instead of the whole bench.
    timeout: 60_000,
    // The child is a plain user's node: no tsx loader or other flags of this process.
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { ms: number; rssMb: number };
}

export async function importCost(runs = 7): Promise<Figure[]> {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) {
    throw new Error('import cost: dist/index.js is missing: `npm run build` first');
  }
  const results: Record<Case, { ms: number[]; rssMb: number[] }> = {
    pino: { ms: [], rssMb: [] },
    logtickets: { ms: [], rssMb: [] },
    firstError: { ms: [], rssMb: [] },
  };
  for (let r = 0; r < runs; r++) {
    for (const which of Object.keys(CASES) as Case[]) {
      const result = await child(which);
      results[which].ms.push(result.ms);
      results[which].rssMb.push(result.rssMb);
    }
  }
  const ms = (which: Case) => median(results[which].ms);
  const rssMb = (which: Case) => median(results[which].rssMb);
  const ratio = ms('logtickets') / ms('pino');
  const stale = staleBuild();
  const scenario = 'import cost';
  return [
    {
      scenario,
      subject: "import('pino')",
      value: ms('pino'),
      unit: 'ms',
      note: `${rssMb('pino').toFixed(1)} MB RSS; median of ${runs} fresh processes each`,
    },
    {
      scenario,
      subject: "import('logtickets') (SQLite user)",
      value: ms('logtickets'),
      unit: 'ms',
      ratio: { value: ratio, label: '× pino', target: `≤ ${TIME_TARGET}`, met: ratio <= TIME_TARGET },
      note: `moonshot ≤ ${TIME_MOONSHOT}× (${ratio <= TIME_MOONSHOT ? 'met' : 'not yet'})${stale}`,
    },
    {
      scenario,
      subject: "import('logtickets') RSS growth",
      value: rssMb('logtickets'),
      unit: 'MB',
      ratio: {
        value: rssMb('logtickets'),
        label: 'MB',
        target: `≤ ${RSS_TARGET_MB}`,
        met: rssMb('logtickets') <= RSS_TARGET_MB,
      },
      note: `pino: ${rssMb('pino').toFixed(1)} MB`,
    },
    {
      scenario,
      subject: 'import + first error written to SQLite',
      value: ms('firstError'),
      unit: 'ms',
      note: `${rssMb('firstError').toFixed(1)} MB RSS; what the import leaves to the first use`,
    },
  ];
}

/** A warning when some file under src/ is newer than dist/index.js: the figures would be of an old build. */
function staleBuild(): string {
  const built = statSync(join(ROOT, 'dist', 'index.js')).mtimeMs;
  const src = join(ROOT, 'src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter(
    (file) => file.endsWith('.ts') && statSync(join(src, file)).mtimeMs > built,
  );
  return newer.length === 0 ? '' : `; WARNING: dist/ is older than ${newer.length} file(s) of src/: rebuild`;
}
