/**
 * Documentation that cannot rot: every code block of README.md and
 * docs/*.md is checked against the code it describes.
 *
 * - ```ts and ```js blocks are compiled as strict TypeScript (module
 *   nodenext) against the built package (`npm run build` first), each as an
 *   application module importing `logtickets`; then each one runs with Node
 *   in a folder of its own, unless marked no-run (it would reach a real
 *   tracker or server), and must end with exit code 0 and nothing on stderr.
 * - ```json blocks are config files, read by the real loader and schema.
 * - ```sh blocks: every logtickets command is read by the CLI's own argument
 *   parser; `npm run` names a script of package.json.
 * - docs/cli.md names every command of the CLI and every flag it takes, and
 *   every relative link of the documentation points at a file (and heading)
 *   that is there.
 *
 * Markers (markdown-snippets.ts) let a block opt out, with a reason; the
 * test counts those and keeps them few. A failure names the file and line.
 */

import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, commandFlags } from '../../src/cli/help.js';
import { configKeys, undocumentedKeys } from './config-keys.js';
import { checkConfig } from './config-snippets.js';
import { brokenLinks } from './doc-links.js';
import { documentationFiles, readSnippets, type Snippet } from './markdown-snippets.js';
import { checkShell } from './shell-snippets.js';
import { compileSnippets, createProject, runSnippet, type SnippetProject } from './typescript-snippets.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const files = documentationFiles(root);
const { snippets, problems } = readSnippets(root, files);
const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts;

/** Blocks that may opt out of every check; each needs a reason in its marker. */
const MAX_SKIPPED = 4;
/** How many snippets run at once (each is a Node process). */
const PARALLEL_RUNS = 2;

const where = (s: Snippet) => `${s.file}:${s.line}`;
const skipped = snippets.filter((s) => s.skip !== undefined);
const checked = snippets.filter((s) => s.skip === undefined && s.kind !== 'text');
const code = checked.filter((s) => s.kind === 'ts' || s.kind === 'js');

const scratch = mkdtempSync(join(tmpdir(), 'logtickets-docs-'));
let project: Promise<SnippetProject> | undefined;
/** All code snippets compiled together, once, when the first of their tests asks. */
const compiled = () => (project ??= Promise.resolve().then(() => compileSnippets(createProject(root), code)));

test.after.always('remove the temporary folders', async () => {
  const dir = await project?.then((p) => p.dir).catch(() => undefined);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

test('every code block names a language the tests know, and every marker reads', (t) => {
  t.deepEqual(
    problems.map((p) => `${p.file}:${p.line}: ${p.message}`),
    [],
  );
  const counts = new Map<string, number>();
  for (const s of checked) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
  t.log(
    `${snippets.length} blocks in ${files.length} files; checked: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}; ` +
      `${snippets.filter((s) => s.noRun !== undefined).length} not run; ${skipped.length} skipped`,
  );
});

test(`at most ${MAX_SKIPPED} blocks opt out of the checks`, (t) => {
  for (const s of skipped) t.log(`${where(s)} (${s.language}) skipped: ${s.skip}`);
  t.true(skipped.length <= MAX_SKIPPED, `${skipped.length} blocks skipped`);
});

let running = 0;
const waiting: Array<() => void> = [];
async function limited<T>(task: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL_RUNS) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await task();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

code.forEach((snippet, index) => {
  const runs = snippet.noRun === undefined && !snippet.fragment;
  test(`${where(snippet)} ${snippet.language} type-checks${runs ? ' and runs' : ''}`, async (t) => {
    const result = (await compiled()).compiled[index]!;
    if (result.errors.length > 0) return t.fail(`${where(snippet)} does not compile:\n${result.errors.join('\n')}`);
    if (!runs) return t.pass();
    const ran = await limited(async () => runSnippet(await compiled(), result, index));
    const said = `\n--- stdout\n${ran.stdout}--- stderr\n${ran.stderr}`;
    t.is(ran.code, 0, `${where(snippet)} ended with ${ran.signal ?? String(ran.code)}${said}`);
    t.is(ran.stderr, '', `${where(snippet)} wrote to stderr${said}`);
  });
});

for (const snippet of checked.filter((s) => s.kind === 'json')) {
  test(`${where(snippet)} json is a valid config file`, async (t) => {
    const errors = await checkConfig(snippet.code, scratch);
    if (errors.length > 0) return t.fail(`${where(snippet)} is not a valid config:\n  ${errors.join('\n  ')}`);
    t.pass();
  });
}

for (const snippet of checked.filter((s) => s.kind === 'sh')) {
  test(`${where(snippet)} ${snippet.language}: the commands exist`, (t) => {
    const result = checkShell(snippet.code, snippet.line + 1, scripts);
    if (result.errors.length > 0) return t.fail(`${snippet.file}, ${result.errors.join(`\n${snippet.file}, `)}`);
    t.log(result.checked.length === 0 ? 'no logtickets command' : result.checked.join('\n'));
    t.pass();
  });
}

test('docs/cli.md names every command of the CLI and every flag it takes', (t) => {
  const page = readFileSync(join(root, 'docs', 'cli.md'), 'utf8');
  for (const command of COMMANDS) {
    const lines = page
      .split('\n')
      .filter((line) => line.includes(`logtickets ${command}`) || line.includes(`\`${command}\``));
    t.true(lines.length > 0, `docs/cli.md does not name the command ${command}`);
    // A command with a page of its own (linked where cli.md names it) may have its flags there.
    const own = lines.flatMap((line) => [...line.matchAll(/\]\((?:\.\/)?([a-z-]+\.md)\)/g)].map((m) => m[1]!));
    const missing = own.filter((name) => !existsSync(join(root, 'docs', name)));
    if (missing.length > 0) {
      t.fail(`docs/cli.md sends ${command} to docs/${missing.join(', docs/')}, which is not there`);
      continue;
    }
    const text = [page, ...own.map((name) => readFileSync(join(root, 'docs', name), 'utf8'))].join('\n');
    for (const flag of commandFlags(command)) {
      if (flag === 'worker' || flag === 'help') continue;
      t.true(
        text.includes(`--${flag}`),
        `--${flag} of ${command} is not documented in ${own.join(', ') || 'docs/cli.md'}`,
      );
    }
  }
});

test('docs/configuration.md names every key of the config schema', (t) => {
  const page = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
  t.deepEqual(
    undocumentedKeys(page, configKeys()),
    [],
    'keys of src/config/config-schema.ts not in docs/configuration.md',
  );
});

test('every relative link of the documentation points at a file and heading that are there', (t) => {
  t.deepEqual(brokenLinks(root, files), []);
});
