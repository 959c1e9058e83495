/**
 * Making log text safe for one-line places (ticket titles, channel names,
 * table cells): control characters — including the ESC that starts terminal
 * escape sequences — and line breaks become visible or blank, and the length
 * is capped with a visible ellipsis.
 */

// C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function oneLine(text: string, maxLength: number): string {
  let out = text
    .replace(/[\t\r\n]+/g, ' ')
    .replace(CONTROL, '\uFFFD')
    .trim();
  if (out.length > maxLength) out = `${out.slice(0, Math.max(0, maxLength - 1))}…`;
  // Never end on half of a surrogate pair.
  return out.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
