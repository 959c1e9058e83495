/**
 * Message formatting: printf-style placeholders, the style Node's own
 * `util.format` and pino use, so that messages read the same everywhere.
 *
 *   %s  the argument as text          %d %i  a number / an integer
 *   %f  a floating point number       %j %o %O  the argument as JSON
 *   %%  a literal percent sign
 *
 * Arguments left over after the placeholders are appended, separated by
 * spaces. Formatting never throws: an argument whose conversion fails shows
 * as `[unprintable]`. Objects are converted through `toJsonSafe` (so huge
 * values are capped with visible markers), and the whole message is cut at
 * `maxLength` characters (default 8192) with a marker saying how much was cut.
 */

import { toJsonSafe } from './json-safe.js';

// Objects inside a message are a glimpse, not the record: the record keeps them in full (capped).
const IN_MESSAGE = { maxDepth: 4, maxStringLength: 1024, maxArrayLength: 20, maxKeys: 20, maxTotalNodes: 200 };

export function formatMessage(template: string, args: readonly unknown[], maxLength = 8192): string {
  return cap(format(String(template), args), maxLength);
}

function cap(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let end = maxLength;
  // Never cut a surrogate pair in half.
  if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end--;
  return `${text.slice(0, end)}…[truncated ${text.length - end} chars]`;
}

function format(template: string, args: readonly unknown[]): string {
  if (args.length === 0) return template;
  let out = '';
  let next = 0;
  let last = 0;
  for (let i = template.indexOf('%'); i !== -1 && i < template.length - 1; i = template.indexOf('%', i + 1)) {
    const code = template[i + 1];
    if (code === '%') {
      out += template.slice(last, i) + '%';
      last = i + 2;
      i++;
      continue;
    }
    if (code === undefined || !'sdifjoO'.includes(code) || next >= args.length) continue;
    out += template.slice(last, i) + convert(code, args[next++]);
    last = i + 2;
    i++;
  }
  out += template.slice(last);
  while (next < args.length) out += ' ' + convert('s', args[next++]);
  return out;
}

function convert(code: string, value: unknown): string {
  try {
    switch (code) {
      case 'd':
        return typeof value === 'bigint' ? `${value}n` : String(Number(value));
      case 'i':
        return typeof value === 'bigint' ? `${value}n` : String(Number.parseInt(String(value), 10));
      case 'f':
        return String(Number.parseFloat(String(value)));
      case 's':
        return text(value);
      default:
        return json(value);
    }
  } catch {
    return '[unprintable]';
  }
}

function text(value: unknown): string {
  if (typeof value === 'string')
    return value.length > IN_MESSAGE.maxStringLength * 8 ? cap(value, IN_MESSAGE.maxStringLength * 8) : value;
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value !== null && typeof value === 'object') {
    const own = (value as { toString?: unknown }).toString;
    if (typeof own === 'function' && own !== Object.prototype.toString && own !== Array.prototype.toString) {
      return String(value);
    }
    return json(value);
  }
  return String(value);
}

function json(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(toJsonSafe(value, IN_MESSAGE));
}
