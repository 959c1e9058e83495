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
 * as `[unprintable]`.
 */

export function formatMessage(template: string, args: readonly unknown[]): string {
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
  if (typeof value === 'string') return value;
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
  const seen = new WeakSet<object>();
  const out = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v !== null && typeof v === 'object') {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
    }
    return v;
  });
  return out === undefined ? String(value) : out;
}
