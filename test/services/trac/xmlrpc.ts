// A small XML-RPC client for tests (Node built-ins only). It is independent
// of the product's own Trac client on purpose: tests use it to check the
// server's state and to act "as a human" (e.g. the admin closing a ticket).

import http from 'node:http';
import https from 'node:https';

export type XmlRpcValue =
  string | number | boolean | null | Date | Buffer | XmlRpcValue[] | { [key: string]: XmlRpcValue };

export interface XmlRpcCredentials {
  username: string;
  password: string;
}

/** The server answered with an XML-RPC <fault>. */
export class XmlRpcFault extends Error {
  readonly faultCode: number;
  readonly faultString: string;
  constructor(faultCode: number, faultString: string) {
    super(`XML-RPC fault ${faultCode}: ${faultString}`);
    this.name = 'XmlRpcFault';
    this.faultCode = faultCode;
    this.faultString = faultString;
  }
}

/** The server answered with a non-200 HTTP status (e.g. 401 for bad credentials). */
export class XmlRpcHttpError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`XML-RPC HTTP ${status}: ${body.slice(0, 200)}`);
    this.name = 'XmlRpcHttpError';
    this.status = status;
    this.body = body;
  }
}

// ---------------------------------------------------------------- encoding

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Trac's XML-RPC uses naive UTC timestamps: 20240131T13:45:00. */
export function formatIsoDate(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  );
}

export function encodeValue(value: XmlRpcValue): string {
  if (value === null) return '<value><nil/></value>';
  if (typeof value === 'string') return `<value><string>${escapeXml(value)}</string></value>`;
  if (typeof value === 'boolean') return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `<value><int>${value}</int></value>` : `<value><double>${value}</double></value>`;
  }
  if (value instanceof Date) return `<value><dateTime.iso8601>${formatIsoDate(value)}</dateTime.iso8601></value>`;
  if (Buffer.isBuffer(value)) return `<value><base64>${value.toString('base64')}</base64></value>`;
  if (Array.isArray(value)) return `<value><array><data>${value.map(encodeValue).join('')}</data></array></value>`;
  const members = Object.entries(value)
    .map(([k, v]) => `<member><name>${escapeXml(k)}</name>${encodeValue(v)}</member>`)
    .join('');
  return `<value><struct>${members}</struct></value>`;
}

export function encodeCall(method: string, params: XmlRpcValue[]): string {
  const body = params.map((p) => `<param>${encodeValue(p)}</param>`).join('');
  return `<?xml version="1.0"?><methodCall><methodName>${escapeXml(method)}</methodName><params>${body}</params></methodCall>`;
}

// ---------------------------------------------------------------- decoding

interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);/g, (_m, e: string) => {
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'amp') return '&';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

/** Just enough XML for XML-RPC responses: elements, text, CDATA; no attributes needed. */
function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#root', children: [], text: '' };
  const stack: XmlNode[] = [root];
  const token =
    /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<(\/?)([^\s/>]+)[^>]*?(\/?)>|([^<]+)/g;
  for (let m = token.exec(xml); m !== null; m = token.exec(xml)) {
    const top = stack[stack.length - 1]!;
    // XML end-of-line handling: a literal CR LF or CR reads as LF (a &#13;
    // reference stays CR). Trac stores text with CR LF and sends it raw, so a
    // conforming parser (like this one, or Python's) returns LF.
    if (m[1] !== undefined) top.text += m[1].replace(/\r\n?/g, '\n');
    else if (m[5] !== undefined) top.text += unescapeXml(m[5].replace(/\r\n?/g, '\n'));
    else if (m[3] !== undefined) {
      if (m[2] === '/') {
        if (stack.length < 2 || top.name !== m[3]) throw new Error(`malformed XML-RPC response near </${m[3]}>`);
        stack.pop();
      } else {
        const node: XmlNode = { name: m[3], children: [], text: '' };
        top.children.push(node);
        if (m[4] !== '/') stack.push(node);
      }
    }
  }
  if (stack.length !== 1) throw new Error('truncated XML-RPC response');
  return root;
}

function child(node: XmlNode, name: string): XmlNode {
  const found = node.children.find((c) => c.name === name);
  if (!found) throw new Error(`XML-RPC response: <${node.name}> has no <${name}>`);
  return found;
}

/** Parses 20240131T13:45:00 (optionally with dashes, fraction or zone) as UTC unless a zone is given. */
export function parseIsoDate(text: string): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  if (!m) throw new Error(`XML-RPC response: bad dateTime.iso8601 ${JSON.stringify(text)}`);
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}${m[8] ?? 'Z'}`;
  return new Date(iso);
}

function decodeValue(valueNode: XmlNode): XmlRpcValue {
  const typed = valueNode.children[0];
  if (!typed) return valueNode.text; // <value>text</value> is a string
  switch (typed.name) {
    case 'string':
      return typed.text;
    case 'int':
    case 'i4':
    case 'i8':
    case 'double':
      return Number(typed.text.trim());
    case 'boolean':
      return typed.text.trim() === '1';
    case 'nil':
      return null;
    case 'dateTime.iso8601':
      return parseIsoDate(typed.text);
    case 'base64':
      return Buffer.from(typed.text.replace(/\s+/g, ''), 'base64');
    case 'array':
      return child(typed, 'data')
        .children.filter((c) => c.name === 'value')
        .map(decodeValue);
    case 'struct': {
      const out: { [key: string]: XmlRpcValue } = {};
      for (const member of typed.children.filter((c) => c.name === 'member')) {
        out[child(member, 'name').text] = decodeValue(child(member, 'value'));
      }
      return out;
    }
    default:
      throw new Error(`XML-RPC response: unknown type <${typed.name}>`);
  }
}

export function decodeResponse(xml: string): XmlRpcValue {
  const response = child(parseXml(xml), 'methodResponse');
  const fault = response.children.find((c) => c.name === 'fault');
  if (fault) {
    const detail = decodeValue(child(fault, 'value')) as { faultCode?: unknown; faultString?: unknown };
    throw new XmlRpcFault(Number(detail.faultCode), String(detail.faultString));
  }
  const params = child(response, 'params').children.filter((c) => c.name === 'param');
  return params.length ? decodeValue(child(params[0]!, 'value')) : null;
}

// ---------------------------------------------------------------- transport

/**
 * POSTs one XML-RPC call. Resolves with the decoded result; rejects with
 * XmlRpcFault for a <fault>, XmlRpcHttpError for a non-200 status.
 */
export function xmlRpcCall(
  url: string,
  method: string,
  params: XmlRpcValue[] = [],
  credentials?: XmlRpcCredentials,
  timeoutMs = 30_000,
): Promise<XmlRpcValue> {
  const target = new URL(url);
  const body = Buffer.from(encodeCall(method, params), 'utf8');
  const headers: http.OutgoingHttpHeaders = {
    'content-type': 'text/xml; charset=utf-8',
    'content-length': body.length,
    accept: 'text/xml',
    // One connection per call. tracd answers 401 without reading the request
    // body, then parses that body as the next request on the same keep-alive
    // connection and queues a 400 for it: a reused connection would hand that
    // stale 400 to the next call.
    connection: 'close',
  };
  if (credentials) {
    const token = Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64');
    headers.authorization = `Basic ${token}`;
  }
  const transport = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = transport.request(target, { method: 'POST', headers, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new XmlRpcHttpError(res.statusCode ?? 0, text));
        try {
          resolve(decodeResponse(text));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`XML-RPC ${method}: no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
