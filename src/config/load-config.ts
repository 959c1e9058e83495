/**
 * Reading a config file: JSON, then secrets, then the schema.
 *
 * - JSON syntax errors name the file, line and column.
 * - Secrets are never needed inline. Any string may name environment
 *   variables as `${NAME}` (`$${` stands for a literal `${`), and any key may
 *   be given as `KEY_file` instead: its value is read from that file (a
 *   trailing newline dropped), as container secrets are mounted. A variable
 *   that is not set, or a file that cannot be read, is a problem naming the
 *   key, the variable or the file — never the value.
 * - The schema (config-schema.ts) is checked with every problem collected,
 *   each reported with its JSON path and what was expected. An unknown key is
 *   reported with the closest known key when there is one.
 *
 * Relative paths (`KEY_file` values, `sqlite:` stores, `projectRoot`, a TLS
 * `ca_file`) are relative to the config file's folder, so a service finds its
 * files wherever it is started from.
 */

import { readFileSync } from 'node:fs';
import type { ParseError } from 'jsonc-parser';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LogticketsError } from '../errors.js';
import { configSchemas, type LogticketsConfig } from './config-schema.js';
import { duplicateTrackers } from './tracker-identity.js';
import { describe, jsonPath } from './config-problems.js';

// jsonc-parser is loaded on first use (syntaxError), by synchronous code.
const require = createRequire(import.meta.url);

export interface LoadConfigOptions {
  /** Where `${NAME}` is looked up (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** The folder relative paths are read from (default: the config file's, or the working directory for an object). */
  readonly baseDir?: string;
  /**
   * Keep only the `store` block and the trackers' entries (the CLI's store
   * commands: the trackers name the links a ticket shows). The whole file is
   * still checked, but variables and `_file` secrets outside the store block
   * are not read: listing tickets needs no tracker credentials, so a token
   * missing from this shell must not stop it. Such values stand as
   * `(not read)` in the result, which must not be used to reach a tracker.
   */
  readonly storeOnly?: boolean;
}

export interface LoadedConfig {
  readonly config: LogticketsConfig;
  /** Where the config came from (a path, or `(object)`). */
  readonly source: string;
  readonly baseDir: string;
  /** Paths of values that are secrets given inline (a reviewer may want them moved out of the file). */
  readonly inlineSecrets: readonly string[];
}

/** An invalid config: `problems` lists each one as `path: what is wrong`. */
export class ConfigError extends LogticketsError {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    const head = `invalid config ${source}: ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}`;
    super('INVALID_CONFIG', `${head}\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const SECRET_KEYS = new Set(['password', 'token', 'privateKey']);

export function loadConfig(source: string | object, options: LoadConfigOptions = {}): LoadedConfig {
  let raw: unknown;
  let label: string;
  let baseDir: string;
  if (typeof source === 'string') {
    const path = resolve(source);
    label = path;
    baseDir = options.baseDir ?? dirname(path);
    raw = parseJsonFile(path);
  } else if (source !== null && typeof source === 'object' && !Array.isArray(source)) {
    label = '(object)';
    baseDir = options.baseDir ?? process.cwd();
    raw = source;
  } else {
    throw new LogticketsError('INVALID_ARGUMENT', 'config: expected a file path or a config object');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(label, ['(top level): expected an object']);
  }
  const problems: string[] = [];
  const inlineSecrets: string[] = [];
  const failed = new Set<string>();
  const storeOnly = options.storeOnly === true;
  const expanded = expand(raw, [], {
    env: options.env ?? process.env,
    baseDir,
    problems,
    inlineSecrets,
    failed,
    storeOnly,
  });
  const result = configSchemas().configSchema.safeParse(expanded);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const path = jsonPath(issue.path.filter((p): p is string | number => typeof p !== 'symbol'));
      // A value whose variable or file was missing is already reported once.
      if (!failed.has(path)) problems.push(describe(issue, expanded));
    }
  }
  problems.push(...duplicateTrackers((expanded as { trackers?: unknown }).trackers));
  if (problems.length > 0) throw new ConfigError(label, problems);
  const config = storeOnly ? storeOnlyConfig(result.success ? result.data : undefined, expanded) : result.data!;
  return { config: absolutePaths(config, baseDir), source: label, baseDir, inlineSecrets };
}

/**
 * The store block, and the trackers' entries (and the handler and redaction
 * blocks, which hold no secrets) when the whole file parsed: a
 * placeholder of a value not read may fail the schema (that is not reported,
 * the command does not need it), and then only the store is kept.
 */
function storeOnlyConfig(parsed: LogticketsConfig | undefined, expanded: unknown): LogticketsConfig {
  if (parsed !== undefined) {
    return {
      ...(parsed.store === undefined ? {} : { store: parsed.store }),
      ...(parsed.trackers === undefined ? {} : { trackers: parsed.trackers }),
      ...(parsed.handler === undefined ? {} : { handler: parsed.handler }),
      ...(parsed.redaction === undefined ? {} : { redaction: parsed.redaction }),
    };
  }
  const store = configSchemas().configSchema.shape.store.safeParse((expanded as { store?: unknown }).store);
  return store.success && store.data !== undefined ? { store: store.data } : {};
}

function parseJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LogticketsError(
      'INVALID_CONFIG',
      code === 'ENOENT' ? `no config file at ${path}` : `cannot read config file ${path} (${code ?? 'error'})`,
    );
  }
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(json);
  } catch {
    throw new LogticketsError('INVALID_CONFIG', `config file ${path}${syntaxError(json)}`);
  }
}

/** Words for the parse errors a config file can have (what was wrong, never the text that was there). */
const SYNTAX: Record<string, string> = {
  InvalidSymbol: 'unexpected character (text values need double quotes)',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a key in double quotes (no trailing commas)',
  ValueExpected: 'expected a value (no trailing commas)',
  ColonExpected: 'expected a colon after the key',
  CommaExpected: 'expected a comma',
  CloseBraceExpected: 'expected a closing }',
  CloseBracketExpected: 'expected a closing ]',
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'comments are not allowed in JSON (use a "$comment" key)',
  UnexpectedEndOfComment: 'comments are not allowed in JSON (use a "$comment" key)',
  UnexpectedEndOfString: 'a text value is not closed with a double quote',
  UnexpectedEndOfNumber: 'a number is cut short',
  InvalidUnicode: 'invalid \\u escape in a text value',
  InvalidEscapeCharacter: 'invalid escape in a text value',
  InvalidCharacter: 'a control character (such as a line break) inside a text value',
};

/**
 * Where and why a config file is not JSON: `:LINE:COLUMN is not valid JSON:
 * reason`. JSON.parse's own message quotes the file around the error, and a
 * secret may sit right there, so the position comes from a second parser
 * (jsonc-parser, strict settings) and the reason from a fixed list.
 * That parser is loaded here, for a file that is not JSON, rather than with
 * logtickets (its CommonJS build, as loadConfig is synchronous).
 */
function syntaxError(text: string): string {
  if (text.trim() === '') return ' is empty: expected a JSON object';
  const { parseTree, printParseErrorCode } = require('jsonc-parser') as typeof import('jsonc-parser');
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return ' is not valid JSON';
  // Lines end with \n, \r\n or a lone \r (files from old Mac editors).
  const lines = text.slice(0, first.offset).split(/\r\n|\r|\n/);
  const line = lines.length;
  const column = lines[lines.length - 1]!.length + 1;
  const after = root !== undefined && first.offset >= root.offset + root.length;
  const reason = after ? SYNTAX.EndOfFileExpected : (SYNTAX[printParseErrorCode(first.error)] ?? 'syntax error');
  return `:${line}:${column} is not valid JSON: ${reason}`;
}

interface ExpandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly baseDir: string;
  readonly problems: string[];
  readonly inlineSecrets: string[];
  /** Paths whose variable or file could not be read. */
  readonly failed: Set<string>;
  /** Read secrets only inside the `store` block (see LoadConfigOptions.storeOnly). */
  readonly storeOnly: boolean;
}

/** What stands for a secret that was not read (storeOnly): any non-empty text passes the schema. */
const NOT_READ = '(not read)';

function unread(path: Path, ctx: ExpandContext): boolean {
  return ctx.storeOnly && path[0] !== 'store';
}

type Path = ReadonlyArray<string | number>;

/** Substitute `${NAME}` and read `KEY_file` files, collecting problems; returns a new value. */
function expand(value: unknown, path: Path, ctx: ExpandContext): unknown {
  if (typeof value === 'string') return interpolate(value, path, ctx);
  if (Array.isArray(value)) return value.map((item, i) => expand(item, [...path, i], ctx));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key, item] of entries) {
    const here = [...path, key];
    if (key.startsWith('$')) {
      // $comment and $schema are for people and editors: taken as written.
      define(out, key, item);
      continue;
    }
    if (key.endsWith('_file') && key.length > '_file'.length && !key.startsWith('$')) {
      const target = key.slice(0, -'_file'.length);
      if (Object.hasOwn(value, target)) {
        ctx.problems.push(`${jsonPath(here)}: give ${target} or ${key}, not both`);
        continue;
      }
      const file = expand(item, here, ctx);
      if (typeof file !== 'string' || file === '') {
        ctx.problems.push(`${jsonPath(here)}: expected the path of a file holding ${target}`);
        ctx.failed.add(jsonPath([...path, target]));
        continue;
      }
      if (unread(here, ctx)) {
        ctx.failed.add(jsonPath([...path, target]));
        define(out, target, NOT_READ);
        continue;
      }
      const content = readSecretFile(file, here, ctx);
      if (content !== undefined) define(out, target, content);
      else ctx.failed.add(jsonPath([...path, target]));
      continue;
    }
    if (SECRET_KEYS.has(key) && typeof item === 'string' && item !== '' && !item.includes('${')) {
      ctx.inlineSecrets.push(jsonPath(here));
    }
    define(out, key, expand(item, here, ctx));
  }
  return out;
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function interpolate(text: string, path: Path, ctx: ExpandContext): string {
  if (!text.includes('$')) return text;
  return text.replace(/\$\$\{|\$\{([^}]*)\}/g, (all, name: string | undefined) => {
    if (all === '$${') return '${';
    if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      ctx.problems.push(
        `${jsonPath(path)}: \${${name ?? ''}} is not a variable reference (names are letters, digits and _)`,
      );
      ctx.failed.add(jsonPath(path));
      return '';
    }
    const value = ctx.env[name];
    if (unread(path, ctx)) {
      // Not needed by this command: the placeholder is not checked against the schema either.
      if (value === undefined || value === '') ctx.failed.add(jsonPath(path));
      return value || NOT_READ;
    }
    if (value === undefined || value === '') {
      ctx.problems.push(`${jsonPath(path)}: environment variable ${name} is not set`);
      ctx.failed.add(jsonPath(path));
      return '';
    }
    return value;
  });
}

function readSecretFile(file: string, path: Path, ctx: ExpandContext): string | undefined {
  const full = isAbsolute(file) ? file : resolve(ctx.baseDir, file);
  try {
    return readFileSync(full, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    ctx.problems.push(`${jsonPath(path)}: cannot read ${full} (${why})`);
    return undefined;
  }
}

/** Relative paths in the config, made absolute against its folder. */
function absolutePaths(config: LogticketsConfig, baseDir: string): LogticketsConfig {
  const store = config.store;
  let uri = store?.uri;
  if (uri !== undefined && /^sqlite:/i.test(uri)) {
    const path = uri.slice('sqlite:'.length);
    if (path !== ':memory:' && !path.startsWith('//') && !isAbsolute(path)) uri = `sqlite:${resolve(baseDir, path)}`;
  }
  const handler = config.handler;
  return {
    ...config,
    ...(store === undefined ? {} : { store: { ...store, uri: uri! } }),
    ...(handler?.projectRoot === undefined
      ? {}
      : { handler: { ...handler, projectRoot: resolve(baseDir, handler.projectRoot) } }),
  };
}
