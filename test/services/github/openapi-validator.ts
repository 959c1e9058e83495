/**
 * Checks requests and responses against GitHub's own OpenAPI description
 * (`@octokit/openapi`, file `generated/api.github.com.json`).
 *
 * What the description is written in, and how it is fed to ajv:
 *
 * - The document says `openapi: 3.0.3`. Its schemas are OpenAPI 3.0 schema
 *   objects: they mark null with `nullable: true` (several thousand times) and
 *   never with `type: [..., 'null']`. A `nullable` schema often carries an
 *   `enum` that does not list null (`issue.state_reason`, for one), and
 *   sometimes has no `type` at all (`{ nullable: true, anyOf: [...] }`). Ajv's
 *   own `nullable` support gets both of those wrong: the enum still rejects
 *   null, and a `nullable` with no `type` is a compile error. So, when the
 *   document is loaded, every schema in it is rewritten once into plain JSON
 *   Schema (draft-07): `nullable: true` becomes `type: [T, 'null']` when that is
 *   exact, and `anyOf: [{ type: 'null' }, <the rest>]` otherwise.
 * - The rewritten `components` section is registered with a single ajv
 *   instance (draft-07, `strict: false` so OpenAPI-only words such as
 *   `example`, `discriminator` and `readOnly` are ignored, and ajv-formats for
 *   `date-time`, `uri`, `uri-template`, `int64`, ...). Each component schema
 *   is also registered under its own URI and `#/components/schemas/X` refs are
 *   rewritten to it, so a shared schema (`issue`, `simple-user`) is compiled
 *   once. Schemas are compiled when first needed (or by warmUp()), one per
 *   operation and status, and kept for the life of the process.
 * - Cost, measured here: parsing + conversion + route table about 0.5 s,
 *   compiling what the stand-in serves about 0.35 s more; once per process.
 * - The non-dereferenced file is used (13 MB; the `.deref.json` one is 73 MB
 *   and takes several times longer to parse for no gain here).
 *
 * Parameters (path and query) arrive as strings; they are converted to the
 * schema's type (integer, number, boolean) before being checked, as a server
 * would do, so `per_page=abc` is a violation while `per_page=100` is not.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonObject;
}

interface MediaTypeObject {
  schema?: JsonObject;
}

interface ResponseObject {
  description?: string;
  content?: Record<string, MediaTypeObject>;
  headers?: Record<string, JsonObject>;
}

interface OperationObject {
  operationId?: string;
  externalDocs?: { url?: string };
  parameters?: Array<ParameterObject | { $ref: string }>;
  requestBody?: { required?: boolean; content?: Record<string, MediaTypeObject> } | { $ref: string };
  responses: Record<string, ResponseObject | { $ref: string }>;
}

interface Description {
  openapi: string;
  paths: Record<string, Record<string, OperationObject | unknown>>;
  components: JsonObject;
}

/** A request path matched to one operation of the description. */
export interface MatchedOperation {
  /** e.g. `GET` */
  method: string;
  /** the description's template, e.g. `/repos/{owner}/{repo}/issues/{issue_number}` */
  template: string;
  /** raw (percent-decoded) values of the template's `{...}` segments */
  pathParams: Record<string, string>;
  operationId: string;
  /** GitHub's documentation page for the operation, as its error bodies cite it */
  docsUrl: string;
  operation: OperationObject;
}

export interface RequestToCheck {
  method: string;
  /** path without the query string, as sent (percent-encoded) */
  path: string;
  query: URLSearchParams;
  /** undefined when the request had no body */
  body: unknown;
  contentType?: string | undefined;
}

/** `$id` under which the description's components are registered with ajv. */
const DOC_ID = 'https://api.github.com/openapi.json';
/**
 * Each `components.schemas` entry is also registered on its own, under this
 * prefix + its name, and refs to it are rewritten to that URI: ajv then
 * compiles a shared schema such as `issue` once, not once per operation.
 */
const SCHEMA_ID = 'https://api.github.com/schemas/';
const LOCAL_SCHEMA_REF = '#/components/schemas/';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * Statuses GitHub sends from any endpoint although the description leaves them
 * out of most operations (bad credentials, rate limits, outages). The body of
 * such a response is still checked, against `basic-error`.
 */
const STATUSES_ANY_OPERATION_MAY_SEND = new Set([401, 403, 429, 500, 502, 503, 504]);

// ---------------------------------------------------------------------------
// Loading and converting the description
// ---------------------------------------------------------------------------

interface Route {
  template: string;
  segments: Array<string | null>; // null marks a `{param}` segment
  paramNames: string[];
  methods: Map<string, OperationObject>;
}

interface Loaded {
  doc: Description;
  routesBySegmentCount: Map<number, Route[]>;
  ajv: Ajv;
  cache: Map<string, ValidateFunction>;
  loadMs: number;
}

let loaded: Loaded | undefined;

/** Milliseconds the one-time load took (parse, conversion, route table). */
export function descriptionLoadMs(): number {
  return load().loadMs;
}

/** The OpenAPI version string of the description (`3.0.3` at the time of writing). */
export function descriptionVersion(): string {
  return load().doc.openapi;
}

function load(): Loaded {
  if (loaded) return loaded;
  const started = performance.now();
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Description;

  convertDocumentSchemas(doc);

  const routesBySegmentCount = new Map<number, Route[]>();
  for (const [template, item] of Object.entries(doc.paths)) {
    const segments = template.split('/').slice(1);
    const paramNames: string[] = [];
    const route: Route = {
      template,
      segments: segments.map((s) => {
        const m = /^\{(.+)\}$/.exec(s);
        if (m) {
          paramNames.push(m[1]!);
          return null;
        }
        return s;
      }),
      paramNames,
      methods: new Map(),
    };
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (op && typeof op === 'object') route.methods.set(method.toUpperCase(), op as OperationObject);
    }
    const list = routesBySegmentCount.get(segments.length) ?? [];
    list.push(route);
    routesBySegmentCount.set(segments.length, list);
  }

  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, inlineRefs: false });
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
    addFormatsModule) as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  ajv.addSchema({ $id: DOC_ID, components: doc.components } as never);
  const schemas = (doc.components['schemas'] ?? {}) as Record<string, JsonObject>;
  for (const [name, schema] of Object.entries(schemas)) ajv.addSchema(schema as object, SCHEMA_ID + name);

  loaded = {
    doc,
    routesBySegmentCount,
    ajv,
    cache: new Map(),
    loadMs: Math.round(performance.now() - started),
  };
  return loaded;
}

/** Rewrites every schema object in the description from OpenAPI 3.0 to JSON Schema, in place. */
function convertDocumentSchemas(doc: Description): void {
  const components = doc.components as Record<string, Record<string, JsonObject>>;
  for (const schema of Object.values(components['schemas'] ?? {})) convertSchema(schema);
  for (const param of Object.values(components['parameters'] ?? {})) convertParameter(param);
  for (const header of Object.values(components['headers'] ?? {})) convertParameter(header);
  for (const response of Object.values(components['responses'] ?? {})) convertResponse(response);
  for (const body of Object.values(components['requestBodies'] ?? {})) convertContent(body['content']);
  for (const item of Object.values(doc.paths)) {
    const shared = (item as { parameters?: JsonObject[] }).parameters;
    for (const p of shared ?? []) convertParameter(p);
    for (const method of HTTP_METHODS) {
      const op = item[method] as OperationObject | undefined;
      if (!op || typeof op !== 'object') continue;
      for (const p of op.parameters ?? []) convertParameter(p as unknown as JsonObject);
      if (op.requestBody && !('$ref' in op.requestBody)) convertContent(op.requestBody.content as Json);
      for (const r of Object.values(op.responses ?? {})) convertResponse(r as unknown as JsonObject);
    }
  }
}

function convertParameter(p: JsonObject): void {
  if (isObject(p['schema'])) convertSchema(p['schema']);
  convertContent(p['content']);
}

function convertResponse(r: JsonObject): void {
  convertContent(r['content']);
  if (isObject(r['headers'])) for (const h of Object.values(r['headers'])) if (isObject(h)) convertParameter(h);
}

function convertContent(content: Json | undefined): void {
  if (!isObject(content)) return;
  for (const media of Object.values(content)) {
    if (isObject(media) && isObject(media['schema'])) convertSchema(media['schema']);
  }
}

/** One schema object, and all schemas inside it, from OpenAPI 3.0 to draft-07. */
function convertSchema(schema: JsonObject): void {
  for (const key of ['items', 'additionalProperties', 'not']) {
    const sub = schema[key];
    if (isObject(sub)) convertSchema(sub);
    else if (Array.isArray(sub)) sub.forEach((s) => isObject(s) && convertSchema(s));
  }
  for (const key of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[key];
    if (Array.isArray(list)) list.forEach((s) => isObject(s) && convertSchema(s));
  }
  for (const key of ['properties', 'patternProperties']) {
    const map = schema[key];
    if (isObject(map)) for (const s of Object.values(map)) if (isObject(s)) convertSchema(s);
  }

  const ref = schema['$ref'];
  if (typeof ref === 'string' && ref.startsWith(LOCAL_SCHEMA_REF))
    schema['$ref'] = SCHEMA_ID + ref.slice(LOCAL_SCHEMA_REF.length);

  if (!('nullable' in schema)) return;
  const nullable = schema['nullable'] === true;
  delete schema['nullable'];
  if (!nullable) return;
  if (typeof schema['type'] === 'string' && !('enum' in schema)) {
    schema['type'] = [schema['type'], 'null'];
    return;
  }
  // Anything else: null, or whatever the schema said without `nullable`.
  const rest: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'description' || k === 'title') continue;
    rest[k] = v;
    delete schema[k];
  }
  schema['anyOf'] = [{ type: 'null' }, rest];
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------
// Matching a request to an operation
// ---------------------------------------------------------------------------

export type MatchResult =
  | { kind: 'operation'; match: MatchedOperation }
  /** the path is in the description, but not with this method */
  | { kind: 'method-not-described'; template: string; methods: string[] }
  | { kind: 'unknown-path' };

/** Finds the description's operation for `METHOD /path` (path without query string). */
export function matchOperation(method: string, rawPath: string): MatchResult {
  const { routesBySegmentCount } = load();
  const path = rawPath.split('?')[0]!;
  const segments = path.split('/').slice(1);
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop(); // tolerate a trailing slash
  const candidates = (routesBySegmentCount.get(segments.length) ?? []).filter((r) =>
    r.segments.every((lit, i) => lit === null || lit === segments[i]),
  );
  if (candidates.length === 0) return { kind: 'unknown-path' };
  // The most specific template wins: a literal segment beats a `{param}` one,
  // compared from the left (`/issues/comments` beats `/issues/{issue_number}`).
  candidates.sort((a, b) => {
    for (let i = 0; i < a.segments.length; i++) {
      const la = a.segments[i] !== null;
      const lb = b.segments[i] !== null;
      if (la !== lb) return la ? -1 : 1;
    }
    return 0;
  });
  const upper = method.toUpperCase();
  const route = candidates.find((r) => r.methods.has(upper));
  if (!route) {
    const best = candidates[0]!;
    return { kind: 'method-not-described', template: best.template, methods: [...best.methods.keys()] };
  }
  const operation = route.methods.get(upper)!;
  const pathParams: Record<string, string> = {};
  let n = 0;
  route.segments.forEach((lit, i) => {
    if (lit === null) pathParams[route.paramNames[n++]!] = safeDecode(segments[i]!);
  });
  return {
    kind: 'operation',
    match: {
      method: upper,
      template: route.template,
      pathParams,
      operationId: operation.operationId ?? `${upper} ${route.template}`,
      docsUrl: operation.externalDocs?.url ?? 'https://docs.github.com/rest',
      operation,
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---------------------------------------------------------------------------
// Resolving local refs and compiling schemas
// ---------------------------------------------------------------------------

function resolvePointer(ref: string): unknown {
  if (ref.startsWith(SCHEMA_ID)) ref = LOCAL_SCHEMA_REF + ref.slice(SCHEMA_ID.length);
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
  let node: unknown = load().doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  if (node === undefined) throw new Error(`dangling $ref ${ref}`);
  return node;
}

/** Follows `$ref` chains on non-schema objects (parameters, responses, request bodies). */
function deref<T>(obj: T | { $ref: string }): T {
  let current: unknown = obj;
  for (let i = 0; i < 10 && isObject(current) && typeof current['$ref'] === 'string'; i++) {
    current = resolvePointer(current['$ref']);
  }
  return current as T;
}

/** Deep copy of an inline schema with its `#/...` refs pointed at the registered document. */
function absolutize(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(absolutize);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? DOC_ID + v : absolutize(v);
  }
  return out;
}

function compiled(key: string, schema: () => Json): ValidateFunction {
  const { ajv, cache } = load();
  let fn = cache.get(key);
  if (!fn) {
    fn = ajv.compile(absolutize(schema()) as object);
    cache.set(key, fn);
  }
  return fn;
}

function describeErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
  // A failed `anyOf` reports every branch. Where a value also has a more
  // telling error, leave out the summary ("must match a schema in anyOf") and
  // the null branch that `nullable` became ("must be null").
  const vague = (e: ErrorObject): boolean =>
    e.keyword === 'anyOf' ||
    e.keyword === 'oneOf' ||
    (e.keyword === 'type' && (e.params as { type?: unknown }).type === 'null');
  const telling = new Set((errors ?? []).filter((e) => !vague(e)).map((e) => e.instancePath));
  const out = new Set<string>();
  for (const e of (errors ?? []).filter((x) => !vague(x) || !telling.has(x.instancePath))) {
    let msg = `${where}${e.instancePath} ${e.message ?? 'is invalid'}`;
    const params = e.params as Record<string, unknown>;
    if (Array.isArray(params['allowedValues']))
      msg += ` (${params['allowedValues'].map((v) => JSON.stringify(v)).join(', ')})`;
    if (typeof params['additionalProperty'] === 'string') msg += ` ('${params['additionalProperty']}')`;
    out.add(msg);
    if (out.size >= 12) break;
  }
  return [...out];
}

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

/** Converts a string parameter to the type its schema asks for, as a server would. */
function coerceParameter(value: string, schema: JsonObject | undefined): unknown {
  const s = schema && typeof schema['$ref'] === 'string' ? (resolvePointer(schema['$ref']) as JsonObject) : schema;
  const type = Array.isArray(s?.['type']) ? s['type'].find((t) => t !== 'null') : s?.['type'];
  switch (type) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'array':
      return value === '' ? [] : value.split(',');
    default:
      return value;
  }
}

function operationParameters(op: OperationObject, template: string): ParameterObject[] {
  const item = load().doc.paths[template] as { parameters?: Array<ParameterObject | { $ref: string }> };
  const all = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => deref<ParameterObject>(p));
  // An operation-level parameter overrides a path-level one of the same name and place.
  const byKey = new Map<string, ParameterObject>();
  for (const p of all) byKey.set(`${p.in}:${p.name}`, p);
  return [...byKey.values()];
}

/**
 * Checks one request against the description. Returns the problems found,
 * each as a sentence; an empty list means the request is valid. A path that is
 * not in the description at all yields no problems (GitHub answers 404).
 */
export function validateRequest(req: RequestToCheck): string[] {
  const found = matchOperation(req.method, req.path);
  // Not an operation of the description: GitHub answers 404, which is for the
  // caller to notice; the description has nothing to check it against.
  if (found.kind !== 'operation') return [];
  const { match } = found;
  const label = `${match.method} ${match.template}`;
  const problems: string[] = [];
  const params = operationParameters(match.operation, match.template);

  for (const p of params) {
    if (p.in === 'path') {
      const raw = match.pathParams[p.name];
      if (raw === undefined) continue;
      const fn = compiled(`param:${label}:path:${p.name}`, () => (p.schema ?? {}) as Json);
      if (!fn(coerceParameter(raw, p.schema)))
        problems.push(...describeErrors(`${label}: path parameter ${p.name}`, fn.errors));
    } else if (p.in === 'query') {
      const values = req.query.getAll(p.name);
      if (values.length === 0) {
        if (p.required) problems.push(`${label}: required query parameter ${p.name} is missing`);
        continue;
      }
      if (values.length > 1) problems.push(`${label}: query parameter ${p.name} is given ${values.length} times`);
      const fn = compiled(`param:${label}:query:${p.name}`, () => (p.schema ?? {}) as Json);
      if (!fn(coerceParameter(values[0]!, p.schema)))
        problems.push(...describeErrors(`${label}: query parameter ${p.name}`, fn.errors));
    }
  }
  const known = new Set(params.filter((p) => p.in === 'query').map((p) => p.name));
  for (const name of new Set(req.query.keys())) {
    if (!known.has(name))
      problems.push(`${label}: query parameter ${name} is not in the description (GitHub silently ignores it)`);
  }

  const requestBody = match.operation.requestBody ? deref(match.operation.requestBody) : undefined;
  if (req.body === undefined) {
    if (requestBody?.required) problems.push(`${label}: the request body is required`);
  } else if (!requestBody) {
    problems.push(`${label}: the operation takes no request body, but one was sent`);
  } else {
    const media = requestBody.content?.['application/json'];
    if (req.contentType !== undefined && !/^application\/(.+\+)?json\b/i.test(req.contentType)) {
      problems.push(`${label}: the request body is sent as ${req.contentType}, not application/json`);
    }
    if (media?.schema) {
      const fn = compiled(`request:${label}`, () => media.schema as Json);
      if (!fn(req.body)) problems.push(...describeErrors(`${label}: request body`, fn.errors));
      problems.push(...unknownBodyFields(label, media.schema, req.body));
    }
  }
  return problems;
}

/**
 * Top-level fields of a JSON object body that the operation does not describe.
 * The description allows them (no `additionalProperties: false`) and GitHub
 * drops them without a word, which is exactly why they are worth reporting:
 * `{ title, state: 'closed' }` on create, say, does not create a closed issue.
 */
function unknownBodyFields(label: string, schema: JsonObject, body: unknown): string[] {
  const s = typeof schema['$ref'] === 'string' ? (resolvePointer(schema['$ref']) as JsonObject) : schema;
  if (!isObject(s['properties']) || s['additionalProperties'] !== undefined || !isObject(body as Json)) return [];
  const known = new Set(Object.keys(s['properties']));
  return Object.keys(body as JsonObject)
    .filter((k) => !known.has(k))
    .map((k) => `${label}: request body field ${k} is not in the description (GitHub silently ignores it)`);
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/**
 * Checks one response against the description: the status must be one the
 * operation documents (or one GitHub sends from anywhere: 401, 403, 429, 5xx;
 * and 410 on issue endpoints, for repositories with issues turned off), and the
 * body must match that status's `application/json` schema. A documented status
 * without content must come with an empty body.
 *
 * `path` is the concrete request path (a query string is ignored);
 * `body` is the parsed JSON body, or undefined for an empty one.
 */
export function validateResponse(method: string, path: string, status: number, body: unknown): string[] {
  const found = matchOperation(method, path);
  if (found.kind !== 'operation') {
    // Not an operation of the description: only GitHub's plain 404 is fine.
    if (status !== 404) return [`${method} ${path}: answered ${status} although the description has no such operation`];
    return checkBasicError(`${method} ${path} 404`, body);
  }
  const { match } = found;
  const label = `${match.method} ${match.template} ${status}`;
  const responses = match.operation.responses;
  const key = [String(status), `${String(status)[0]}XX`, 'default'].find((k) => k in responses);
  if (key === undefined) {
    const issuesOff = status === 410 && /^\/repos\/\{owner\}\/\{repo\}\/issues/.test(match.template);
    if (STATUSES_ANY_OPERATION_MAY_SEND.has(status) || issuesOff) return checkBasicError(label, body);
    return [
      `${label}: status ${status} is not documented for this operation (documented: ${Object.keys(responses).join(', ')})`,
    ];
  }
  const response = deref<ResponseObject>(responses[key]!);
  const media = response.content?.['application/json'];
  if (!media?.schema) {
    if (body !== undefined) return [`${label}: the description gives this status no body, but one was sent`];
    return [];
  }
  if (body === undefined) return [`${label}: the body is missing`];
  const fn = compiled(`response:${match.method} ${match.template}:${key}`, () => media.schema as Json);
  return fn(body) ? [] : describeErrors(`${label}: response body`, fn.errors);
}

function checkBasicError(label: string, body: unknown): string[] {
  if (body === undefined) return [];
  const fn = compiled('schema:basic-error', () => ({ $ref: `${SCHEMA_ID}basic-error` }));
  return fn(body) ? [] : describeErrors(`${label}: error body`, fn.errors);
}

/**
 * Loads the description and compiles the request and response schemas of the
 * given operations (`"METHOD /template"`) now, so that the first request of
 * each kind is not held up by it. Cached for the process: later calls are free.
 */
export function warmUp(operations: string[]): void {
  const { doc } = load();
  for (const key of operations) {
    const [method, template] = key.split(' ') as [string, string];
    const op = doc.paths[template]?.[method.toLowerCase()] as OperationObject | undefined;
    if (!op) throw new Error(`${key} is not in the description`);
    const label = `${method} ${template}`;
    const requestBody = op.requestBody ? deref(op.requestBody) : undefined;
    const media = requestBody?.content?.['application/json'];
    if (media?.schema) compiled(`request:${label}`, () => media.schema as Json);
    for (const [status, r] of Object.entries(op.responses)) {
      const schema = deref<ResponseObject>(r).content?.['application/json']?.schema;
      if (schema) compiled(`response:${label}:${status}`, () => schema as Json);
    }
  }
  compiled('schema:basic-error', () => ({ $ref: `${SCHEMA_ID}basic-error` }));
}
