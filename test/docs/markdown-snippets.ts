/**
 * The code blocks of the documentation, as the snippet tests read them: every
 * fenced block of README.md and docs/*.md (docs/design/ is left out: design
 * notes show code as it once was), with its language, the line it starts on
 * and the marker written just before it.
 *
 * A marker is an HTML comment on the last non-blank line before the fence,
 * invisible on GitHub and npm:
 *
 *   <!-- snippet: skip (why) -->        not checked at all (the test counts these)
 *   <!-- snippet: no-run (why) -->      type-checked but not run (it would reach a real server)
 *   <!-- snippet: given a, b -->        a fragment: the names it takes as given (a cart, an order) are
 *                                       imported from test/docs/snippet-placeholders.ts
 *   <!-- snippet: fragment -->          the block is a function body: wrapped in one, checked, not run
 *
 * Markers combine with `;` (`given cart; no-run (…)`). Every fence must name
 * its language, so a code block cannot slip through as plain text: `text` for
 * output, `md` for markdown shown as an example.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export type SnippetKind = 'ts' | 'js' | 'json' | 'sh' | 'text';

/** Fence languages and what they are checked as; any other language is an error. */
const LANGUAGES: Readonly<Record<string, SnippetKind>> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
  json: 'json',
  sh: 'sh',
  bash: 'sh',
  text: 'text',
  md: 'text',
};

export interface Snippet {
  /** The file, relative to the repository (`docs/cli.md`). */
  readonly file: string;
  /** The line of the opening fence (1-based). */
  readonly line: number;
  readonly language: string;
  readonly kind: SnippetKind;
  /** The block's text, without its fences and without the indentation of a list item. */
  readonly code: string;
  readonly skip?: string;
  readonly noRun?: string;
  readonly given: readonly string[];
  readonly fragment: boolean;
}

/** A fence or marker the tests cannot read: reported as a failure naming the place. */
export interface SnippetProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** The markdown files whose snippets are checked: README.md and docs/*.md, relative to `root`. */
export function documentationFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs];
}

export function readSnippets(root: string, files: readonly string[]) {
  const snippets: Snippet[] = [];
  const problems: SnippetProblem[] = [];
  for (const file of files) {
    const parsed = parseMarkdown(relative(root, join(root, file)), readFileSync(join(root, file), 'utf8'));
    snippets.push(...parsed.snippets);
    problems.push(...parsed.problems);
  }
  return { snippets, problems };
}

const FENCE = /^( *)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;

export function parseMarkdown(file: string, text: string): { snippets: Snippet[]; problems: SnippetProblem[] } {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  const problems: SnippetProblem[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const [, indent = '', fence = '', language = ''] = open;
    const closing = new RegExp(`^ *${fence[0]}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end]!)) end++;
    const line = i + 1;
    const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    i = end;
    if (end >= lines.length) {
      problems.push({ file, line, message: 'this code block is never closed' });
      continue;
    }
    const kind = LANGUAGES[language.toLowerCase()];
    if (kind === undefined) {
      problems.push({
        file,
        line,
        message:
          language === ''
            ? 'a code block without a language: name it (ts, js, json, sh; text for output)'
            : `a code block in ${language}, which the snippet tests do not know (ts, js, json, sh, text, md)`,
      });
      continue;
    }
    const marker = markerBefore(lines, line - 1);
    let options: Omit<Snippet, 'file' | 'line' | 'language' | 'kind' | 'code'>;
    try {
      options = readMarker(marker);
    } catch (error) {
      problems.push({ file, line, message: (error as Error).message });
      continue;
    }
    snippets.push({ file, line, language, kind, code: body.join('\n'), ...options });
  }
  return { snippets, problems };
}

/** The `snippet:` comment on the last non-blank line before line index `fence`, if any. */
function markerBefore(lines: readonly string[], fence: number): string | undefined {
  for (let i = fence - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    return /^<!--\s*snippet:(.*)-->$/.exec(line)?.[1]?.trim();
  }
  return undefined;
}

/** The parts of a marker, split at `;` outside parentheses (a reason may hold one). */
function splitMarker(marker: string): string[] {
  const parts = [''];
  let depth = 0;
  for (const c of marker) {
    depth += c === '(' ? 1 : c === ')' ? -1 : 0;
    if (c === ';' && depth === 0) parts.push('');
    else parts[parts.length - 1] += c;
  }
  return parts.map((p) => p.trim());
}

function readMarker(marker: string | undefined) {
  const options: { skip?: string; noRun?: string; given: string[]; fragment: boolean } = {
    given: [],
    fragment: false,
  };
  if (marker === undefined) return options;
  for (const part of splitMarker(marker)) {
    const [, word = '', rest = ''] = /^([a-z-]+)\s*(.*)$/.exec(part) ?? [];
    const reason = /^\((.+)\)$/.exec(rest)?.[1];
    if ((word === 'skip' || word === 'no-run') && reason === undefined)
      throw new Error(`<!-- snippet: ${word} --> needs a reason in parentheses: ${word} (why)`);
    if (word === 'skip') options.skip = reason;
    else if (word === 'no-run') options.noRun = reason;
    else if (word === 'given' && rest !== '') options.given = rest.split(',').map((name) => name.trim());
    else if (word === 'fragment' && rest === '') options.fragment = true;
    else throw new Error(`unknown snippet marker "${part}" (skip (why), no-run (why), given NAMES, fragment)`);
  }
  return options;
}
