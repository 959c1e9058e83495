/**
 * What kind of thing an object is, for toJsonSafe: found from its prototype
 * chain (Date, Map, Set, RegExp, Error, bytes, boxed primitives, opaque
 * things such as Promises), with brand checks for objects made in another
 * realm (a vm context) whose prototypes are not this realm's. Every check
 * tolerates objects that throw when touched.
 */

import { types } from 'node:util';

export type Kind = 'class' | 'date' | 'map' | 'set' | 'regexp' | 'error' | 'binary' | 'boxed' | `[${string}]`;

const ObjectProto = Object.prototype;
const UNBOX = [Number, String, Boolean, BigInt, Symbol].map((C) => C.prototype.valueOf as () => unknown);
const KNOWN = new Map<object, Kind>([
  [Date.prototype, 'date'],
  [Map.prototype, 'map'],
  [Set.prototype, 'set'],
  [RegExp.prototype, 'regexp'],
  [Error.prototype, 'error'],
  [ArrayBuffer.prototype, 'binary'],
  [SharedArrayBuffer.prototype, 'binary'],
  [DataView.prototype, 'binary'],
  [Object.getPrototypeOf(Uint8Array.prototype) as object, 'binary'],
  [Number.prototype, 'boxed'],
  [String.prototype, 'boxed'],
  [Boolean.prototype, 'boxed'],
  [BigInt.prototype, 'boxed'],
  [Symbol.prototype, 'boxed'],
  [Promise.prototype, '[Promise]'],
  [WeakMap.prototype, '[WeakMap]'],
  [WeakSet.prototype, '[WeakSet]'],
  [WeakRef.prototype, '[WeakRef]'],
  [FinalizationRegistry.prototype, '[FinalizationRegistry]'],
]);
/** Brand checks for objects from another realm (vm contexts), whose prototypes are not in KNOWN. */
const BRANDS: [(o: object) => boolean, Kind][] = [
  [ArrayBuffer.isView, 'binary'],
  [types.isAnyArrayBuffer, 'binary'],
  [types.isDate, 'date'],
  [types.isMap, 'map'],
  [types.isSet, 'set'],
  [types.isRegExp, 'regexp'],
  [types.isNativeError, 'error'],
  [types.isBoxedPrimitive, 'boxed'],
  [types.isPromise, '[Promise]'],
  [types.isWeakMap, '[WeakMap]'],
  [types.isWeakSet, '[WeakSet]'],
];

/** Finds what `o` is from its prototype chain; objects from other realms get brand checks. */
export function kindOf(o: object, proto: object): Kind {
  let p: object | null = proto;
  for (let i = 0; p !== null && i < 64; i++, p = Object.getPrototypeOf(p) as object | null) {
    if (p === ObjectProto) return 'class';
    const kind = KNOWN.get(p);
    if (kind !== undefined) return kind;
  }
  for (const [is, kind] of BRANDS) if (is(o)) return kind;
  return 'class';
}

export function looksLikeError(o: object): boolean {
  try {
    const e = o as { stack?: unknown; message?: unknown };
    return typeof e.stack === 'string' && typeof e.message === 'string';
  } catch {
    return false; // then the throwing getter shows up as a "[Thrown: …]" key
  }
}

export function className(proto: object): string | undefined {
  try {
    const name: unknown = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (name === 'Object' && Object.getPrototypeOf(proto) === null) return undefined; // plain, other realm
    return typeof name === 'string' && name !== '' ? name : 'anonymous';
  } catch {
    return 'anonymous';
  }
}

export function unbox(o: object): unknown {
  for (const valueOf of UNBOX) {
    try {
      return valueOf.call(o);
    } catch {
      /* not this kind of box */
    }
  }
  return '[Boxed]';
}
