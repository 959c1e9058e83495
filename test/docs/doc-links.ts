/**
 * Relative links between the documentation's pages: `[text](docs/cli.md)`,
 * `[text](#a-heading)`, `![image](docs/dashboard-ticket.png)`. Each must point
 * at a file that is there and, with `#anchor`, at one of its headings (named
 * as GitHub names them). Links into code blocks are not links; web addresses
 * are not followed.
 */

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
export function anchor(heading: string): string {
  return heading
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutCode(text, false).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = anchor(heading!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

/** The text with fenced blocks (and `inline` code too) blanked out, their lines kept. */
function withoutCode(text: string, inline = true): string {
  const blocks = text.replace(/^( *)(`{3,}|~{3,})[^\n]*\n[\s\S]*?^ *\2[`~]*\s*$/gm, (block) =>
    block.replace(/[^\n]/g, ' '),
  );
  return inline ? blocks.replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length)) : blocks;
}

/** Each broken link as `file:line: target (why)`. */
export function brokenLinks(root: string, files: readonly string[]): string[] {
  const broken: string[] = [];
  for (const file of files) {
    const lines = withoutCode(readFileSync(join(root, file), 'utf8')).split('\n');
    lines.forEach((line, index) => {
      for (const [, target] of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue;
        const [path = '', hash] = target!.split('#');
        const resolved = path === '' ? file : normalize(join(dirname(file), path));
        const at = `${file}:${index + 1}: ${target}`;
        if (!existsSync(join(root, resolved))) {
          broken.push(`${at} (no file ${resolved})`);
          continue;
        }
        if (hash !== undefined && resolved.endsWith('.md')) {
          if (!anchors(readFileSync(join(root, resolved), 'utf8')).has(hash))
            broken.push(`${at} (no heading #${hash} in ${resolved})`);
        }
      }
    });
  }
  return broken;
}
