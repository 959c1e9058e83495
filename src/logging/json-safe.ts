/**
 * toJsonSafe(value, limits?) takes a synchronous snapshot of arbitrary log data
 * (the `extra` object, format arguments, errors) and returns a plain JSON value
 * that can be stored later. It never throws, never writes to its input, gives
 * deeply equal results for the same input, and never turns something into null
 * or drops it silently: whatever JSON cannot hold becomes a readable string.
 *
 *   string            kept; past maxStringLength chars it is cut and "…[truncated N chars]"
 *                     appended; lone surrogates become U+FFFD (so the text is valid UTF-8)
 *   number            finite kept (-0 → 0); NaN / Infinity / -Infinity → "NaN" etc.
 *   undefined, hole   "[undefined]" (object keys are kept)
 *   bigint / symbol   "123n" / "Symbol(desc)"       function → "[Function: name]"
 *   Date              ISO text, or "[Invalid Date]"  RegExp → "/src/flags"
 *   bytes             Buffer, typed arrays, DataView, (Shared)ArrayBuffer →
 *                     { type: "Buffer" | "Uint8Array" | ..., length: <byte count>,
 *                       base64: <at most floor(maxStringLength / 4) * 3 bytes> }
 *                     plus truncated: "[Truncated: N more bytes]" when cut
 *   Map / Set         { type: "Map", entries: [[k, v], ...] } / { type: "Set", values: [...] }
 *   Error (or a non-plain object with string stack and message)
 *                     { name, message, stack, ...own enumerable props, cause?, errors? }
 *                     (cause / AggregateError's errors only when present)
 *   toJSON()          its result is converted, but its own toJSON is not called
 *                     (Dates and bytes excepted); a throwing toJSON → "[Thrown by toJSON: msg]"
 *   class instance    { "@type": "ClassName", ...own enumerable props }
 *   Promise, WeakMap, WeakSet, WeakRef  → "[Promise]" etc.; boxed primitives are unwrapped
 *   symbol keys       included as "Symbol(desc)" when enumerable
 *   throwing getter / proxy trap → "[Thrown: msg]" in place of that value
 *   cycle             "[Circular: $.path.to.ancestor]", the path as in the output, e.g.
 *                     $.list[2]["odd key"] or $.map.entries[0][1]; shared references that
 *                     are not cycles are converted again (bounded by maxTotalNodes)
 *   limits            containers nested deeper than maxDepth (root = level 1) →
 *                     "[Truncated: depth]"; arrays/Sets past maxArrayLength end with one
 *                     item "[Truncated: N more items]"; objects past maxKeys get a last key
 *                     "…": "[Truncated: N more keys]" (Maps a last entry ["…", that text]);
 *                     once maxTotalNodes values were produced, every further value is
 *                     "[Truncated: size]". maxDepth is capped at 1000 to protect the stack.
 * Result objects are ordinary objects; a "__proto__" key is stored as an own property.
 */
import { Buffer } from 'node:buffer';
import { className, kindOf, looksLikeError, unbox } from './value-kinds.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonSafeLimits {
  maxDepth: number;
  maxStringLength: number;
  maxArrayLength: number;
  maxKeys: number;
  maxTotalNodes: number;
}

export const DEFAULT_JSON_SAFE_LIMITS: Readonly<JsonSafeLimits> = Object.freeze({
  maxDepth: 8,
  maxStringLength: 8192,
  maxArrayLength: 100,
  maxKeys: 100,
  maxTotalNodes: 5000,
});

type JsonObject = { [key: string]: JsonValue };
/** One step of the path to a value: an object key, an array index, or ready-made text. */
type Seg = string | number | { readonly raw: string };
interface State extends JsonSafeLimits {
  nodes: number;
  depth: number;
  stack: object[]; // containers being converted, root first (for cycle detection)
  segs: Seg[]; // segs[i]: where stack[i] sits in its parent
  noToJSON: unknown; // a toJSON result, whose own toJSON must not be called again
  chars: number; // characters of the strings produced (for SnapshotMeter)
}

/**
 * Adds up roughly how many bytes the snapshots taken with it hold (UTF-16
 * strings plus a fixed cost per value), so a queue of snapshots can be
 * bounded by memory and not only by count.
 */
export interface SnapshotMeter {
  bytes: number;
}
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

const HARD_MAX_DEPTH = 1000;
const UNDEF = '[undefined]';
const ROOT: Seg = { raw: '' };
const IDENT = /^[A-Za-z_$][\w$]*$/;
const ObjectProto = Object.prototype;
const { propertyIsEnumerable, toString: objectTag } = ObjectProto;
const { getTime, toISOString } = Date.prototype;
const regexpToString = RegExp.prototype.toString;
const symbolToString = Symbol.prototype.toString;
const mapEntries = Map.prototype.entries;
const setValues = Set.prototype.values;
const sizeOf = (proto: object) => Object.getOwnPropertyDescriptor(proto, 'size')!.get!;
const mapSize = sizeOf(Map.prototype);
const setSize = sizeOf(Set.prototype);
function limit(v: unknown, fallback: number): number {
  return typeof v === 'number' && v >= 0 ? Math.floor(v) : fallback;
}

function newState(l: Partial<JsonSafeLimits> | undefined): State {
  const d = DEFAULT_JSON_SAFE_LIMITS;
  let p: Partial<JsonSafeLimits> = d;
  try {
    if (l) p = { ...l };
  } catch {
    /* unreadable limits object: use the defaults */
  }
  return {
    maxDepth: Math.min(limit(p.maxDepth, d.maxDepth), HARD_MAX_DEPTH),
    maxStringLength: limit(p.maxStringLength, d.maxStringLength),
    maxArrayLength: limit(p.maxArrayLength, d.maxArrayLength),
    maxKeys: limit(p.maxKeys, d.maxKeys),
    maxTotalNodes: limit(p.maxTotalNodes, d.maxTotalNodes),
    nodes: 0,
    depth: 0,
    stack: [],
    segs: [],
    noToJSON: undefined,
    chars: 0,
  };
}

export function toJsonSafe(value: unknown, limits?: Partial<JsonSafeLimits>, meter?: SnapshotMeter): JsonValue {
  const s = newState(limits);
  try {
    return convert(s, value, ROOT);
  } catch {
    return '[Thrown: internal error]'; // last resort, e.g. the caller's stack was already nearly full
  } finally {
    if (meter !== undefined) meter.bytes += s.chars * 2 + s.nodes * 16;
  }
}

/**
 * Several snapshots taken in one pass over a logging call's values (its
 * template, arguments, message, extra and error): the limits are read once,
 * and each value gets its own node budget, as it would from toJsonSafe.
 */
export function snapshotter(limits?: Partial<JsonSafeLimits>, meter?: SnapshotMeter): (value: unknown) => JsonValue {
  const s = newState(limits);
  return (value) => {
    s.nodes = 0;
    s.chars = 0;
    s.depth = 0;
    s.stack.length = s.segs.length = 0;
    s.noToJSON = undefined;
    try {
      if (typeof value !== 'string') return convert(s, value, ROOT);
      // A string needs no walk: capped and made well-formed, as convert() would.
      s.nodes = 1;
      const out = capString(value, s.maxStringLength);
      s.chars = out.length;
      return out;
    } catch {
      return '[Thrown: internal error]';
    } finally {
      if (meter !== undefined) meter.bytes += s.chars * 2 + s.nodes * 16;
    }
  };
}

function capString(str: string, max: number): string {
  if (str.length > max) {
    const end = max > 0 && (str.charCodeAt(max - 1) & 0xfc00) === 0xd800 ? max - 1 : max; // keep pairs whole
    // Copy the kept part, so the result does not keep a huge input string alive in memory.
    const kept = Buffer.from(str.slice(0, end), 'utf16le').toString('utf16le');
    str = `${kept}…[truncated ${str.length - end} chars]`;
  }
  const w = str as unknown as WellFormed;
  return w.isWellFormed() ? str : w.toWellFormed();
}

function describe(e: unknown): string {
  try {
    const m = typeof e === 'object' && e !== null ? (e as { message?: unknown }).message : undefined;
    return typeof m === 'string' ? m : String(e);
  } catch {
    return 'unknown error';
  }
}

const thrown = (s: State, e: unknown, by = 'Thrown') => capString(`[${by}: ${describe(e)}]`, s.maxStringLength);

function convert(s: State, v: unknown, seg: Seg): JsonValue {
  if (++s.nodes > s.maxTotalNodes) return '[Truncated: size]';
  switch (typeof v) {
    case 'string': {
      const out = capString(v, s.maxStringLength);
      s.chars += out.length;
      return out;
    }
    case 'number':
      return v === 0 ? 0 : Number.isFinite(v) ? v : String(v);
    case 'boolean':
      return v;
    case 'undefined':
      return UNDEF;
    case 'bigint':
      return capString(`${v}n`, s.maxStringLength);
    case 'symbol':
      return capString(symbolToString.call(v), s.maxStringLength);
    case 'function': {
      let name: unknown;
      try {
        name = (v as { name?: unknown }).name;
      } catch {
        /* proxied or odd function */
      }
      return `[Function: ${typeof name === 'string' && name !== '' ? capString(name, s.maxStringLength) : 'anonymous'}]`;
    }
    default:
      return v === null ? null : convertObject(s, v as object, seg);
  }
}

function convertObject(s: State, o: object, seg: Seg): JsonValue {
  const at = s.stack.indexOf(o);
  if (at !== -1) return capString(`[Circular: ${pathTo(s, at)}]`, s.maxStringLength);
  const height = s.stack.length;
  const depth = s.depth;
  try {
    if (Array.isArray(o)) return s.depth >= s.maxDepth ? '[Truncated: depth]' : convertArray(s, o, seg);
    const proto = Object.getPrototypeOf(o) as object | null;
    const kind = proto === ObjectProto || proto === null ? 'class' : kindOf(o, proto);
    if (kind === 'binary') return binary(s, o);
    if (kind === 'date') return Number.isNaN(getTime.call(o)) ? '[Invalid Date]' : toISOString.call(o);
    if (o !== s.noToJSON) {
      const fn = (o as { toJSON?: unknown }).toJSON;
      if (typeof fn === 'function') return viaToJSON(s, o, fn as (key: string) => unknown, seg);
    }
    if (kind === 'regexp') return capString(regexpToString.call(o), s.maxStringLength);
    if (kind === 'boxed') return convert(s, unbox(o), seg);
    if (kind[0] === '[') return kind; // an opaque thing such as "[Promise]"
    if (s.depth >= s.maxDepth) return '[Truncated: depth]';
    if (kind === 'map' || kind === 'set') return convertCollection(s, o, seg, kind === 'map');
    if (kind === 'error' || (proto !== ObjectProto && proto !== null && looksLikeError(o))) {
      return convertError(s, o, seg);
    }
    const type = proto === ObjectProto || proto === null ? undefined : className(proto);
    return convertProps(s, o, seg, ownEnumerableKeys(o), type);
  } catch (e) {
    s.stack.length = s.segs.length = height;
    s.depth = depth;
    return thrown(s, e);
  }
}

function viaToJSON(s: State, o: object, fn: (this: object, key: string) => unknown, seg: Seg): JsonValue {
  let r: unknown;
  try {
    r = fn.call(o, typeof seg === 'object' ? '' : String(seg));
  } catch (e) {
    return thrown(s, e, 'Thrown by toJSON');
  }
  const prev = s.noToJSON;
  s.noToJSON = r; // like JSON.stringify: the result's own toJSON is not called
  const wrap = r !== o; // `o` inside its own toJSON result is a cycle
  if (wrap) enter(s, o, seg, 0);
  const out = convert(s, r, wrap ? ROOT : seg);
  if (wrap) leave(s, 0);
  s.noToJSON = prev;
  return out;
}

function ownEnumerableKeys(o: object): (string | symbol)[] {
  const keys: (string | symbol)[] = Object.keys(o);
  for (const sym of Object.getOwnPropertySymbols(o)) if (propertyIsEnumerable.call(o, sym)) keys.push(sym);
  return keys;
}

function keyName(s: State, k: string | symbol): string {
  const name = capString(typeof k === 'string' ? k : symbolToString.call(k), s.maxStringLength);
  s.chars += name.length;
  return name;
}

function put(out: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, writable: true, enumerable: true, configurable: true });
  else out[key] = value;
}

function enter(s: State, o: object, seg: Seg, levels = 1): void {
  s.stack.push(o);
  s.segs.push(seg);
  s.depth += levels;
}

function leave(s: State, levels = 1): void {
  s.stack.pop();
  s.segs.pop();
  s.depth -= levels;
}

function convertProps(s: State, o: object, seg: Seg, keys: (string | symbol)[], type?: string): JsonObject {
  const out: JsonObject = {};
  if (type !== undefined) out['@type'] = type;
  const n = Math.min(keys.length, s.maxKeys);
  const src = o as Record<string | symbol, unknown>;
  enter(s, o, seg);
  // One try around the loop; after a throwing getter the loop resumes at the next key.
  for (let i = 0; i < n; i++) {
    try {
      for (; i < n; i++) {
        const name = keyName(s, keys[i]!);
        put(out, name, convert(s, src[keys[i]!], name));
      }
    } catch (e) {
      put(out, keyName(s, keys[i]!), thrown(s, e));
    }
  }
  leave(s);
  if (keys.length > n) put(out, '…', `[Truncated: ${keys.length - n} more keys]`);
  return out;
}

function convertError(s: State, o: object, seg: Seg): JsonObject {
  const keys: (string | symbol)[] = ['name', 'message', 'stack'];
  for (const k of ownEnumerableKeys(o)) {
    if (k !== 'name' && k !== 'message' && k !== 'stack' && k !== 'cause' && k !== 'errors') keys.push(k);
  }
  if ('cause' in o) keys.push('cause');
  if ('errors' in o) keys.push('errors'); // AggregateError
  return convertProps(s, o, seg, keys);
}

function convertArray(s: State, o: readonly unknown[], seg: Seg): JsonValue[] {
  const len = o.length;
  const n = Math.min(len, s.maxArrayLength);
  const out: JsonValue[] = [];
  enter(s, o, seg);
  for (let i = 0; i < n; i++) {
    try {
      for (; i < n; i++) out.push(convert(s, o[i], i));
    } catch (e) {
      out.push(thrown(s, e));
    }
  }
  leave(s);
  if (len > n) out.push(`[Truncated: ${len - n} more items]`);
  return out;
}

function convertCollection(s: State, o: object, seg: Seg, isMap: boolean): JsonObject {
  const size = (isMap ? mapSize : setSize).call(o) as number;
  const n = Math.min(size, isMap ? s.maxKeys : s.maxArrayLength);
  const it = (isMap ? mapEntries : setValues).call(o as Map<unknown, unknown> & Set<unknown>) as Iterator<unknown>;
  const items: JsonValue[] = [];
  enter(s, o, seg);
  for (let i = 0; i < n; i++) {
    const r = it.next();
    if (r.done) break;
    if (!isMap) {
      items.push(convert(s, r.value, { raw: `.values[${i}]` }));
      continue;
    }
    const [k, v] = r.value as [unknown, unknown];
    items.push([convert(s, k, { raw: `.entries[${i}][0]` }), convert(s, v, { raw: `.entries[${i}][1]` })]);
  }
  leave(s);
  if (size > n) {
    items.push(isMap ? ['…', `[Truncated: ${size - n} more keys]`] : `[Truncated: ${size - n} more items]`);
  }
  return isMap ? { type: 'Map', entries: items } : { type: 'Set', values: items };
}

function binary(s: State, o: object): JsonObject {
  const view = ArrayBuffer.isView(o);
  const bytes = view ? new Uint8Array(o.buffer, o.byteOffset, o.byteLength) : new Uint8Array(o as ArrayBuffer);
  const type = Buffer.isBuffer(o) ? 'Buffer' : (objectTag.call(o) as string).slice(8, -1);
  const keep = Math.min(bytes.length, Math.floor(s.maxStringLength / 4) * 3);
  const out: JsonObject = {
    type,
    length: bytes.length,
    base64: Buffer.from(bytes.buffer, bytes.byteOffset, keep).toString('base64'),
  };
  if (keep < bytes.length) out['truncated'] = `[Truncated: ${bytes.length - keep} more bytes]`;
  s.chars += (out.base64 as string).length;
  return out;
}

function pathTo(s: State, at: number): string {
  let path = '$';
  for (let i = 0; i <= at; i++) {
    const seg = s.segs[i]!;
    if (typeof seg === 'object') path += seg.raw;
    else if (typeof seg === 'number') path += `[${seg}]`;
    else path += IDENT.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`;
  }
  return path;
}
