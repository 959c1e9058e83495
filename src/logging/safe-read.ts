/**
 * Reading what a caller hands to a logging call without ever throwing.
 *
 * Anything the application passes may be hostile or merely broken: a getter
 * that throws, a Proxy whose traps throw, a `toString` or `Symbol.toPrimitive`
 * that throws. A logging call must still produce its record, so every read of
 * a caller's object goes through these helpers, and what could not be read is
 * replaced by a visible marker (`[Thrown: …]`, the same marker toJsonSafe
 * uses) instead of being lost.
 */

/** The marker that stands for a value whose read threw. */
export function thrownMarker(error: unknown): string {
  return `[Thrown: ${describeThrown(error)}]`;
}

/** A short description of something thrown, itself never throwing. */
export function describeThrown(error: unknown): string {
  try {
    if (error !== null && typeof error === 'object') {
      const message = (error as { message?: unknown }).message;
      if (typeof message === 'string') return message.slice(0, 500);
    }
    return typeof error === 'string' ? error.slice(0, 500) : typeof error;
  } catch {
    return 'unreadable error';
  }
}

/** `value[key]`, or `{ ok: false }` with the marker when the read throws. */
export function readKey(
  value: object,
  key: PropertyKey,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly marker: string } {
  try {
    return { ok: true, value: (value as Record<PropertyKey, unknown>)[key] };
  } catch (error) {
    return { ok: false, marker: thrownMarker(error) };
  }
}

/** `String(value)`, or a marker when the conversion throws (toString, Symbol.toPrimitive, revoked Proxy). */
export function safeText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch (error) {
    return `[unprintable: ${describeThrown(error)}]`;
  }
}

/** `value instanceof Error`, false when a Proxy's getPrototypeOf trap throws. */
export function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}
