/**
 * Building the page: elements are made one by one and every piece of text
 * goes in as a text node, never as markup, so nothing that came from a log
 * record can become an element, an attribute or a script. Text is also made
 * visible: bidirectional overrides and other invisible control characters are
 * shown as `⟨U+202E⟩` instead of reordering or hiding what surrounds them.
 */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | null>;

// Bidi embeddings, overrides and isolates, marks, zero-width characters, C0/C1 controls but tab and newline.
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

export function visible(text: string): string {
  return text.replace(INVISIBLE, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

// Attributes a view may set; anything else (on* handlers, style, srcdoc) is refused.
const ALLOWED =
  /^(?:class|id|href|title|role|tabindex|type|name|value|for|lang|dir|colspan|scope|datetime|placeholder|selected|checked|disabled|hidden|open|min|max|step|method|action|start|width|height|viewBox|x|y|d|points|fill|stroke|aria-[a-z-]+|data-[a-z-]+)$/;

function setAttrs(el: Element, attrs: Attrs | undefined): void {
  if (attrs === undefined) return;
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (!ALLOWED.test(name)) throw new Error(`attribute ${name} is not allowed`);
    if (name === 'href' && !safeHref(String(value))) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

/** Links go to this dashboard (a path or a hash) or to an http(s) page: never `javascript:` or `data:`. */
export function safeHref(href: string): boolean {
  if (href.startsWith('#') || (href.startsWith('/') && !href.startsWith('//')) || href.startsWith('?')) return true;
  try {
    const url = new URL(href);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function append(el: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(
      typeof child === 'string' || typeof child === 'number' ? document.createTextNode(visible(String(child))) : child,
    );
  }
}

export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs?: Attrs, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** A block of record text (a stack, JSON): preformatted, text only. */
export function pre(text: string, className = 'record'): HTMLElement {
  return h('pre', { class: className, tabindex: 0 }, text);
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}
