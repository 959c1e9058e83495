/**
 * Shell snippets, checked against the real command line: every `logtickets`
 * command in them (run as `logtickets`, `npx -- logtickets`, `npm run
 * logtickets --` or `node dist/cli/main.js`) is read by the CLI's own
 * argument parser, so an unknown command, an unknown flag, a flag the
 * command does not take or a missing value fails as it would for a user; a
 * command that takes a ticket ID must have one. `npm run NAME` must name a
 * script of package.json, and npm must not take a flag meant for the
 * command (`npx logtickets --version` prints npm's version: the flags of
 * the command go after `--`). Other programs (curl, trac-admin) are left be.
 */

import { readCommandLine } from '../../src/cli/args.js';
import { COMMAND_HELP } from '../../src/cli/help.js';

export interface ShellCheck {
  /** The commands read, as written (`logtickets list --json`). */
  readonly checked: readonly string[];
  readonly errors: readonly string[];
}

/** Check a shell block whose first line is line `first` of its file; `scripts`: package.json's. */
export function checkShell(code: string, first: number, scripts: Readonly<Record<string, string>>): ShellCheck {
  const checked: string[] = [];
  const errors: string[] = [];
  for (const { line, words } of commands(code, first)) {
    const problem = checkCommand(words, scripts, (args) => checked.push(['logtickets', ...args].join(' ')));
    if (problem !== undefined) errors.push(`line ${line}: ${problem}\n    ${words.join(' ')}`);
  }
  return { checked, errors };
}

function checkCommand(
  words: readonly string[],
  scripts: Readonly<Record<string, string>>,
  read: (args: readonly string[]) => void,
): string | undefined {
  let rest = [...words];
  // `LOGTICKETS_TOKEN=… logtickets serve`: variables set for the command.
  while (rest.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0]!)) rest = rest.slice(1);
  const [program, ...args] = rest;
  const cli = (cliArgs: readonly string[]) => {
    read(cliArgs);
    return checkCli(cliArgs);
  };
  if (program === 'logtickets') return cli(args);
  if (program === 'node' && args[0]?.endsWith('dist/cli/main.js')) return cli(args.slice(1));
  if (program === 'npx') {
    const split = args.indexOf('--');
    if (split >= 0) return args[split + 1] === 'logtickets' ? cli(args.slice(split + 2)) : undefined;
    const command = args.findIndex((a) => !a.startsWith('-'));
    const eaten = args.slice(command + 1).find((a) => a.startsWith('-'));
    if (command >= 0 && eaten !== undefined)
      return `npx takes ${eaten} as its own option: write npx -- ${args.slice(command).join(' ')}`;
    return args[command] === 'logtickets' ? cli(args.slice(command + 1)) : undefined;
  }
  if (program === 'npm') {
    const at = args.findIndex((a) => !a.startsWith('-'));
    const [sub, ...more] = at < 0 ? [] : args.slice(at);
    if (sub === 'test' || sub === 't')
      return scripts.test === undefined ? 'package.json has no test script' : undefined;
    if (sub !== 'run' && sub !== 'run-script') return undefined;
    const split = more.indexOf('--');
    const before = split < 0 ? more : more.slice(0, split);
    const script = before.find((a) => !a.startsWith('-'));
    if (script === undefined) return 'npm run without a script';
    if (scripts[script] === undefined) return `package.json has no script "${script}"`;
    const eaten = before.slice(before.indexOf(script) + 1).find((a) => a.startsWith('-'));
    if (eaten !== undefined) return `npm takes ${eaten} as its own option: put the script's options after --`;
    if (script === 'logtickets') return cli(split < 0 ? [] : more.slice(split + 1));
  }
  return undefined;
}

/** A logtickets command line as the CLI reads it; the mistake it would report, if any. */
function checkCli(args: readonly string[]): string | undefined {
  let line;
  try {
    line = readCommandLine(args);
  } catch (error) {
    return `logtickets would say: ${(error as Error).message}`;
  }
  if (line.kind === 'help' && line.code !== 0) return 'logtickets without a command only prints its help';
  if (line.kind !== 'run') return undefined;
  const needsId = /^\S+ ID\b/.test(COMMAND_HELP[line.command]!.usage);
  if (needsId && !(line.args.length === 1 && /^[1-9]\d*$/.test(line.args[0]!)))
    return `logtickets ${line.command} takes one ticket ID`;
  if (!needsId && line.args.length > 0) return `logtickets ${line.command} takes no argument, got ${line.args[0]}`;
  return undefined;
}

/** The simple commands of a shell block: words after quotes, comments and line continuations are read. */
function commands(code: string, first: number): Array<{ line: number; words: string[] }> {
  const found: Array<{ line: number; words: string[] }> = [];
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let text = lines[i]!;
    while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]!}`;
    for (const words of split(text)) if (words.length > 0) found.push({ line: first + start, words });
  }
  return found;
}

/** A line's commands (split at ;, &&, ||, |) as words; a # that starts a word begins a comment. */
function split(text: string): string[][] {
  const result: string[][] = [[]];
  let word: string | undefined;
  const end = () => {
    if (word !== undefined) result[result.length - 1]!.push(word);
    word = undefined;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const close = text.indexOf(c, i + 1);
      word = (word ?? '') + text.slice(i + 1, close < 0 ? text.length : close);
      i = close < 0 ? text.length : close;
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else if (/\s/.test(c)) {
      end();
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === ';' || c === '|' || c === '&') {
      end();
      if (text[i + 1] === c) i++;
      result.push([]);
    } else {
      word = (word ?? '') + c;
    }
  }
  end();
  return result;
}
