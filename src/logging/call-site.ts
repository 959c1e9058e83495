/**
 * Where a log call was made.
 *
 * Capturing is split in two so the logging call stays cheap: `captureStack`
 * runs inside the call and only asks V8 to remember the raw frames (no
 * formatting); `resolveCallSite` runs later, off the calling path, and turns
 * them into `{ file, line, column, function }`, skipping logtickets' own
 * frames and the frames of wrapper functions the user declared (Logbook's
 * frame correction). When source maps are enabled (`--enable-source-maps`,
 * or a loader such as tsx), positions are mapped back to the original source.
 */

import { LRUCache } from 'lru-cache';
import { findSourceMap } from 'node:module';
import { isAbsolute, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CallSite {
  /** The absolute path (or URL, for non-file modules) of the source file. */
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly function: string | null;
}

/** A function-name string or a pattern tested against the function name and the file. */
export type WrapperMatcher = string | RegExp;

export interface StackHolder {
  stack?: unknown;
}

export const UNKNOWN_CALL_SITE: CallSite = Object.freeze({ path: '<unknown>', line: 0, column: 0, function: null });

// This package's logging machinery (in src/ or dist/): frames from here are never the caller.
const OWN_DIRS = ['logging', 'ticketing', 'integrations'].map((dir) =>
  fileURLToPath(new URL(`../${dir}/`, import.meta.url)),
);

/**
 * Remember the frames below `below` (which is left out with everything it
 * called). `depth` bounds how many frames are kept.
 */
export function captureStack(below: Function, depth: number): StackHolder {
  const holder: StackHolder = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = depth;
  Error.captureStackTrace(holder, below);
  Error.stackTraceLimit = limit;
  return holder;
}

function structuredFrames(holder: StackHolder): NodeJS.CallSite[] {
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (_error, frames) => frames;
  try {
    const frames = holder.stack;
    return Array.isArray(frames) ? (frames as NodeJS.CallSite[]) : [];
  } catch {
    return [];
  } finally {
    Error.prepareStackTrace = previous;
  }
}

/**
 * The first frame that is the caller's: neither logtickets' own nor a
 * declared wrapper's. `fn` is read when `withName` is set or wrappers need it.
 */
function callerFrame(
  holder: StackHolder,
  wrappers: readonly WrapperMatcher[],
  withName: boolean,
): { frame: NodeJS.CallSite; rawFile: string; path: string; fn: string | null } | undefined {
  for (const frame of structuredFrames(holder)) {
    const rawFile = frame.getFileName() ?? frame.getScriptNameOrSourceURL?.() ?? null;
    if (rawFile === null || rawFile.startsWith('node:')) continue;
    const path = pathOf(rawFile);
    if (OWN_DIRS.some((dir) => path.startsWith(dir))) continue;
    const fn = withName || wrappers.length > 0 ? (frame.getFunctionName() ?? frame.getMethodName() ?? null) : null;
    if (isWrapper(fn, path, wrappers)) continue;
    return { frame, rawFile, path, fn };
  }
  return undefined;
}

/**
 * The caller's frame as it was captured — file, line, column, unmapped —
 * a cheap key for "the same call" when there is no time to resolve the
 * site: it always resolves to one site. The frames read here stay on the
 * holder for a later resolveCallSite.
 */
export function rawCaller(holder: StackHolder, wrappers: readonly WrapperMatcher[]): [string, number, number] | null {
  const caller = callerFrame(holder, wrappers, false);
  return caller === undefined
    ? null
    : [caller.rawFile, caller.frame.getLineNumber() ?? 0, caller.frame.getColumnNumber() ?? 0];
}

// A service logs from a bounded set of places: each is mapped to its source once.
const resolved = new LRUCache<string, CallSite>({ max: 10_000 });

/** Turn captured frames into the caller's site (or UNKNOWN_CALL_SITE). */
export function resolveCallSite(holder: StackHolder, wrappers: readonly WrapperMatcher[]): CallSite {
  const caller = callerFrame(holder, wrappers, true);
  if (caller !== undefined) {
    const { frame, rawFile, path, fn } = caller;
    const line = frame.getLineNumber() ?? 0;
    const column = frame.getColumnNumber() ?? 0;
    const key = `${rawFile}\u0000${line}\u0000${column}\u0000${fn}`;
    let site = resolved.get(key);
    if (site === undefined) {
      const mapped = mapToSource(rawFile, line, column);
      site = Object.freeze(
        mapped === null
          ? { path, line, column, function: fn }
          : { path: mapped.file, line: mapped.line, column: mapped.column, function: fn },
      );
      resolved.set(key, site);
    }
    return site;
  }
  return UNKNOWN_CALL_SITE;
}

function isWrapper(fn: string | null, path: string, wrappers: readonly WrapperMatcher[]): boolean {
  if (wrappers.length === 0) return false;
  for (const w of wrappers) {
    if (typeof w === 'string') {
      if (fn !== null && (fn === w || fn.endsWith(`.${w}`))) return true;
    } else if ((fn !== null && w.test(fn)) || w.test(path)) {
      return true;
    }
  }
  return false;
}

const paths = new LRUCache<string, string>({ max: 10_000 });
function pathOf(file: string): string {
  let path = paths.get(file);
  if (path === undefined) {
    path = toPath(file);
    paths.set(file, path);
  }
  return path;
}

function toPath(file: string): string {
  if (file.startsWith('file://')) {
    try {
      return fileURLToPath(file);
    } catch {
      return file;
    }
  }
  return file;
}

function mapToSource(
  rawFile: string,
  line: number,
  column: number,
): { file: string; line: number; column: number } | null {
  let map;
  try {
    map = findSourceMap(toPath(rawFile)) ?? findSourceMap(rawFile);
  } catch {
    return null;
  }
  if (map === undefined) return null;
  const entry = map.findEntry(line - 1, column - 1) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
  };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return null;
  return { file: toPath(entry.originalSource), line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
}

/**
 * `file` relative to `root` with `/` separators, so the same code deployed in
 * another directory (or on Windows) keeps the same name. A file outside the
 * root keeps its absolute path: `../../usr/lib/…` would name it no better.
 */
export function relativeTo(root: string, file: string): string {
  if (!isAbsolute(file)) return file.split(sep).join('/');
  const rel = relative(root, file);
  return (rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel).split(sep).join('/');
}
