/**
 * Reading the command line: the command, its arguments and its flags. A
 * mistake is one line naming it — an unknown command or flag with the
 * nearest one that exists ("did you mean"), a flag the command does not
 * take, a flag without its value — instead of Node's parseArgs text.
 */

import { parseArgs } from 'node:util';
import { TICKET_ORDER_FIELDS } from '../backends/contract.js';
import { COMMAND_HELP, COMMANDS, commandFlags } from './help.js';
import type { Flags } from './ticket-commands.js';
import { UsageError } from './usage-error.js';

export const OPTIONS = {
  db: { type: 'string' },
  config: { type: 'string' },
  timeout: { type: 'string' },
  prefix: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  open: { type: 'boolean' },
  solved: { type: 'boolean' },
  muted: { type: 'boolean' },
  state: { type: 'string' },
  full: { type: 'boolean' },
  level: { type: 'string' },
  'min-level': { type: 'string' },
  app: { type: 'string' },
  channel: { type: 'string' },
  release: { type: 'string' },
  environment: { type: 'string' },
  'in-release': { type: 'string' },
  order: { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  oldest: { type: 'boolean' },
  processes: { type: 'string' },
  rounds: { type: 'string' },
  worker: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  'allow-writes': { type: 'boolean' },
  out: { type: 'string' },
  period: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  search: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

export type CommandLine =
  | { readonly kind: 'version' }
  /** The overview (no command) or one command's help; `code`: 2 when nothing was asked for. */
  | { readonly kind: 'help'; readonly command: string | undefined; readonly code: number }
  | { readonly kind: 'run'; readonly command: string; readonly args: readonly string[]; readonly flags: Flags };

export function readCommandLine(argv: readonly string[]): CommandLine {
  const args = joinDescendingOrder(argv);
  const { values, positionals, tokens } = parseArgs({
    args,
    options: OPTIONS,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const [first, ...rest] = positionals;
  const asksHelp = first === 'help';
  const command = asksHelp ? rest[0] : first;
  if (command !== undefined && !COMMANDS.includes(command)) throw unknownCommand(command);
  if (asksHelp && rest.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(rest[1])}`);
  if (asksHelp || values.help === true) return { kind: 'help', command, code: 0 };
  for (const token of tokens) if (token.kind === 'option') checkOption(token, args, command);
  if (command === undefined) return values.version === true ? { kind: 'version' } : { kind: 'help', command, code: 2 };
  return { kind: 'run', command, args: rest, flags: values as Flags };
}

/**
 * `--order -occurrenceCount` as people type it: parseArgs would take the
 * value for a flag of its own, so a known field with its `-` is joined to
 * `--order=` first. Anything else starting with a dash stays a flag.
 */
function joinDescendingOrder(argv: readonly string[]): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === '--order' && next !== undefined && DESCENDING.has(next)) {
      args.push(`--order=${next}`);
      i++;
    } else {
      args.push(argv[i]!);
    }
  }
  return args;
}

const DESCENDING = new Set(TICKET_ORDER_FIELDS.map((field) => `-${field}`));

interface OptionToken {
  readonly name: string;
  readonly rawName: string;
  readonly index: number;
  readonly value?: string | undefined;
  readonly inlineValue?: boolean | undefined;
}

/** One flag as given: known, taken by the command, with a value when it needs one and none otherwise. */
function checkOption(token: OptionToken, args: readonly string[], command: string | undefined): void {
  const see = command === undefined ? 'logtickets --help' : `logtickets help ${command}`;
  const allowed: readonly string[] =
    command === undefined ? Object.keys(OPTIONS) : [...commandFlags(command)].filter((f) => f !== 'worker');
  if (!Object.hasOwn(OPTIONS, token.name)) {
    let name = token.name;
    let shown = token.rawName;
    const raw = args[token.index] ?? '';
    // `-limit`: parseArgs reads single-dash words as grouped short flags.
    if (!token.rawName.startsWith('--') && /^-[^-]/.test(raw) && raw.length > 2) {
      shown = raw.replace(/=.*$/, '');
      name = shown.slice(1);
    }
    const guess = closest(name, allowed);
    throw new UsageError(
      guess === undefined
        ? `unknown option ${shown} (see ${see})`
        : `unknown option ${shown}: did you mean --${guess}?`,
    );
  }
  const option = OPTIONS[token.name as OptionName];
  if (command !== undefined && token.name !== 'help' && !commandFlags(command).has(token.name))
    throw new UsageError(`${command} does not take ${token.rawName} (see ${see})`);
  if (option.type === 'boolean') {
    if (token.value !== undefined)
      throw new UsageError(`${token.rawName} takes no value, got ${JSON.stringify(token.value)}`);
    return;
  }
  if (token.value === undefined)
    throw new UsageError(`${token.rawName} needs a value: ${metavar(token.name, command)} (see ${see})`);
  // `--limit --json`: the next flag is not taken as the value; `--release=-rc1` says a value starts with "-".
  if (token.inlineValue !== true && token.value.startsWith('-') && token.value.length > 1)
    throw new UsageError(
      token.value.startsWith('--')
        ? `${token.rawName} needs a value: ${metavar(token.name, command)} (see ${see})`
        : `${token.rawName} needs a value: ${metavar(token.name, command)} (for one starting with "-", write ${token.rawName}=${token.value})`,
    );
}

/** `--limit N`, as the command's help writes it. */
function metavar(name: string, command: string | undefined): string {
  const helps = command === undefined ? Object.values(COMMAND_HELP) : [COMMAND_HELP[command]!];
  for (const help of helps) for (const [flag] of help.options) if (flag.startsWith(`--${name} `)) return flag;
  const global: Record<string, string> = { db: '--db URI', config: '--config PATH', prefix: '--prefix PREFIX' };
  return global[name] ?? `--${name} VALUE`;
}

function unknownCommand(command: string): UsageError {
  const guess = closest(command, [...COMMANDS, 'help']);
  return new UsageError(
    guess === undefined
      ? `unknown command ${JSON.stringify(command)} (see logtickets --help)`
      : `unknown command ${JSON.stringify(command)}: did you mean ${JSON.stringify(guess)}?`,
  );
}

/**
 * The known word nearest to a mistyped one: fewest edits (a swap of two
 * neighbours counts as one), or the only one it begins; none when the
 * typo is as long as its distance (nothing was right).
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const typed = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(typed, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance < typed.length && bestDistance <= Math.max(2, Math.floor(typed.length / 3)))
    return best;
  const starting = known.filter((k) => typed.length >= 3 && k.toLowerCase().startsWith(typed));
  return starting.length === 1 ? starting[0] : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
