/**
 * TypeScript and JavaScript snippets, checked as an application would have
 * them: each one a module of a project of its own (ESM, strict, module
 * nodenext) in a temporary folder whose node_modules links `logtickets` to
 * this repository, so `logtickets`, `logtickets/pino` and the others resolve
 * through package.json's exports to the built dist/ — its .d.ts for the
 * compiler, its .js for Node. The repository's other packages (pino,
 * express, @types/node…) are linked beside it. All snippets are compiled in
 * one program; each is then run in a folder of its own.
 */

import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import type { Snippet } from './markdown-snippets.js';

export interface CompiledSnippet {
  readonly snippet: Snippet;
  /** The emitted module, to run. */
  readonly output: string;
  /** Each compiler error as `file:line:column TSnnnn: message`, with the line of the snippet it is about. */
  readonly errors: readonly string[];
}

export interface SnippetProject {
  readonly dir: string;
  readonly compiled: readonly CompiledSnippet[];
}

/** A config file for snippets that load `./logtickets.json`: the one the README shows. */
const CONFIG_FIXTURE = { store: 'sqlite:./logtickets.db', handler: { appId: 'shop' } };

const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  strict: true,
  types: ['node'],
  // Declaration files are checked by test/package/pack.test.ts; here, the snippets.
  skipLibCheck: true,
  allowJs: true,
  checkJs: true,
  esModuleInterop: true,
  outDir: 'out',
  rootDir: '.',
};

/** A temporary project where `logtickets` is this repository (built) and its dependencies are at hand. */
export function createProject(root: string): string {
  if (!existsSync(join(root, 'dist', 'index.d.ts')))
    throw new Error(`${join(root, 'dist')} is missing or incomplete: run npm run build first`);
  const dir = mkdtempSync(join(tmpdir(), 'logtickets-snippets-'));
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name.startsWith('.')) continue;
    symlinkSync(join(root, 'node_modules', name), join(modules, name), 'dir');
  }
  symlinkSync(root, join(modules, 'logtickets'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'snippets', private: true, type: 'module' }));
  copyFileSync(join(root, 'test', 'docs', 'snippet-placeholders.ts'), join(dir, 'placeholders.ts'));
  return dir;
}

/** A snippet as the module the compiler sees, and how many lines were put before its first line. */
function moduleSource(snippet: Snippet): { source: string; header: number } {
  const header: string[] = [];
  if (snippet.given.length > 0) header.push(`import { ${snippet.given.join(', ')} } from './placeholders.js';`);
  if (snippet.fragment) header.push('export async function fragment(): Promise<void> {');
  // `export {}` makes a module of a snippet without imports; a CommonJS snippet (require, no import) stays CommonJS.
  const footer = snippet.fragment ? ['}'] : isCommonJs(snippet) ? [] : ['export {};'];
  return { source: [...header, snippet.code, ...footer].join('\n'), header: header.length };
}

function isCommonJs(snippet: Snippet): boolean {
  return snippet.kind === 'js' && /\brequire\(/.test(snippet.code) && !/^\s*(import|export)\s/m.test(snippet.code);
}

function fileName(snippet: Snippet, index: number): string {
  if (snippet.kind === 'ts') return `snippet-${index}.ts`;
  return `snippet-${index}.${isCommonJs(snippet) ? 'cjs' : 'mjs'}`;
}

/** Compile every snippet in one program; each one's errors, placed in its markdown file. */
export function compileSnippets(dir: string, snippets: readonly Snippet[]): SnippetProject {
  const entries = snippets.map((snippet, index) => {
    const name = fileName(snippet, index);
    const { source, header } = moduleSource(snippet);
    writeFileSync(join(dir, name), source);
    return { snippet, name, header };
  });
  const options = { ...COMPILER_OPTIONS, outDir: join(dir, 'out'), rootDir: dir };
  const program = ts.createProgram({ rootNames: entries.map((e) => join(dir, e.name)), options });
  const diagnostics = [...ts.getPreEmitDiagnostics(program)];
  const emitted = program.emit();
  diagnostics.push(...emitted.diagnostics);
  const global = diagnostics
    .filter((d) => d.file === undefined)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (global.length > 0) throw new Error(`the TypeScript compiler failed: ${global.join('; ')}`);
  const compiled = entries.map(({ snippet, name, header }) => {
    const errors = diagnostics
      .filter((d) => d.file !== undefined && d.file.fileName === join(dir, name).replaceAll('\\', '/'))
      .map((d) => describeDiagnostic(d, snippet, header));
    const output = join(dir, 'out', name.replace(/\.ts$/, '.js'));
    return { snippet, output, errors };
  });
  const elsewhere = diagnostics.filter(
    (d) => d.file !== undefined && !entries.some((e) => d.file!.fileName.endsWith(`/${e.name}`)),
  );
  if (elsewhere.length > 0)
    throw new Error(
      `errors outside the snippets: ${elsewhere.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('; ')}`,
    );
  return { dir, compiled };
}

function describeDiagnostic(diagnostic: ts.Diagnostic, snippet: Snippet, header: number): string {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
  const { line, character } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  const inSnippet = line - header;
  const lines = snippet.code.split('\n');
  // The fence is on snippet.line; the block's first line on the next one.
  const where =
    inSnippet >= 0 && inSnippet < lines.length
      ? `${snippet.file}:${snippet.line + 1 + inSnippet}:${character + 1}`
      : `${snippet.file}:${snippet.line} (the code around the snippet)`;
  const shown = inSnippet >= 0 && inSnippet < lines.length ? `\n    ${lines[inSnippet]!.trim()}` : '';
  return `${where} TS${diagnostic.code}: ${message}${shown}`;
}

export interface SnippetRun {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run an emitted snippet with Node in a folder of its own holding
 * `logtickets.json`, with none of the caller's LOGTICKETS_ variables. The
 * time limit only keeps a snippet that never ends from holding the run.
 */
export function runSnippet(project: SnippetProject, compiled: CompiledSnippet, index: number): Promise<SnippetRun> {
  const cwd = join(project.dir, 'runs', String(index));
  mkdirSync(cwd, { recursive: true });
  writeFileSync(join(cwd, 'logtickets.json'), JSON.stringify(CONFIG_FIXTURE));
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^(LOGTICKETS_|NODE_OPTIONS$)/.test(key)) env[key] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [compiled.output], { cwd, env, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error === null) return resolve({ code: 0, signal: null, stdout, stderr });
      resolve({
        code: typeof error.code === 'number' ? error.code : null,
        signal: error.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}
