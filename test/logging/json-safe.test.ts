import test, { type ExecutionContext } from 'ava';
import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';
import { DEFAULT_JSON_SAFE_LIMITS, toJsonSafe, type JsonValue } from '../../src/logging/json-safe.js';

type Obj = { [key: string]: JsonValue };

/** Fails unless `v` is made only of null, booleans, finite numbers, strings, arrays and ordinary objects. */
function assertJson(t: ExecutionContext, v: JsonValue, path = '$'): void {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return;
  if (typeof v === 'number') {
    t.true(Number.isFinite(v) && !Object.is(v, -0), `non-JSON number at ${path}`);
    return;
  }
  if (Array.isArray(v)) {
    t.is(Object.getPrototypeOf(v), Array.prototype, `odd array at ${path}`);
    v.forEach((item, i) => assertJson(t, item, `${path}[${i}]`));
    return;
  }
  t.is(typeof v, 'object', `unexpected ${typeof v} at ${path}`);
  t.is(Object.getPrototypeOf(v), Object.prototype, `odd prototype at ${path}`);
  t.deepEqual(Object.getOwnPropertySymbols(v), [], `symbol key at ${path}`);
  for (const key of Object.keys(v)) assertJson(t, v[key] as JsonValue, `${path}.${key}`);
}

/** Converts, checks the result is pure JSON that survives stringify/parse, and returns it. */
function safe(t: ExecutionContext, value: unknown, limits?: Parameters<typeof toJsonSafe>[1]): JsonValue {
  const out = toJsonSafe(value, limits);
  assertJson(t, out);
  t.deepEqual(JSON.parse(JSON.stringify(out)), out);
  return out;
}

const asObj = (v: JsonValue | undefined) => v as Obj;
const thrower = (message: string) => () => {
  throw new Error(message);
};

test('defaults are the documented limits and frozen', (t) => {
  t.deepEqual(
    { ...DEFAULT_JSON_SAFE_LIMITS },
    {
      maxDepth: 8,
      maxStringLength: 8192,
      maxArrayLength: 100,
      maxKeys: 100,
      maxTotalNodes: 5000,
    },
  );
  t.true(Object.isFrozen(DEFAULT_JSON_SAFE_LIMITS));
});

test('primitives', (t) => {
  t.is(safe(t, 'hi'), 'hi');
  t.is(safe(t, ''), '');
  t.is(safe(t, 42.5), 42.5);
  t.is(safe(t, Number.MAX_VALUE), Number.MAX_VALUE);
  t.true(Object.is(safe(t, -0), 0));
  t.is(safe(t, NaN), 'NaN');
  t.is(safe(t, Infinity), 'Infinity');
  t.is(safe(t, -Infinity), '-Infinity');
  t.is(safe(t, true), true);
  t.is(safe(t, false), false);
  t.is(safe(t, null), null);
  t.is(safe(t, undefined), '[undefined]');
  t.is(safe(t, 123n), '123n');
  t.is(safe(t, -(2n ** 70n)), '-1180591620717411303424n');
  t.is(safe(t, Symbol('desc')), 'Symbol(desc)');
  t.is(safe(t, Symbol()), 'Symbol()');
  t.is(safe(t, Symbol.iterator), 'Symbol(Symbol.iterator)');
});

test('functions become "[Function: name]"', (t) => {
  function named() {}
  const arrow = () => 1;
  class Klass {}
  t.is(safe(t, named), '[Function: named]');
  t.is(safe(t, arrow), '[Function: arrow]');
  t.is(safe(t, Klass), '[Function: Klass]');
  t.deepEqual(safe(t, [() => 1]), ['[Function: anonymous]']);
  t.deepEqual(safe(t, { f: async function* gen() {} }), { f: '[Function: gen]' });
  const nameThrows = Object.defineProperty(function x() {}, 'name', { get: thrower('no name') });
  t.is(safe(t, nameThrows), '[Function: anonymous]');
});

test('undefined is kept visibly in objects, arrays and sparse arrays', (t) => {
  t.deepEqual(safe(t, { a: undefined, b: 1 }), { a: '[undefined]', b: 1 });
  t.deepEqual(safe(t, [undefined, null]), ['[undefined]', null]);
  // eslint-disable-next-line no-sparse-arrays
  const sparse = [1, , 3];
  sparse.length = 5;
  t.deepEqual(safe(t, sparse), [1, '[undefined]', 3, '[undefined]', '[undefined]']);
  const withProps = Object.assign([1, 2], { extra: 'ignored' });
  t.deepEqual(safe(t, withProps), [1, 2]);
});

test('long strings are cut visibly, surrogate pairs are never split', (t) => {
  t.is(safe(t, 'abcdefghij', { maxStringLength: 5 }), 'abcde…[truncated 5 chars]');
  t.is(safe(t, 'abcde', { maxStringLength: 5 }), 'abcde');
  t.is(safe(t, 'abc', { maxStringLength: 0 }), '…[truncated 3 chars]');
  // "a😀b": the pair at index 1-2 would be split at 2, so it is cut before it.
  t.is(safe(t, 'a😀b', { maxStringLength: 2 }), 'a…[truncated 3 chars]');
  t.is(safe(t, 'a😀b', { maxStringLength: 3 }), 'a😀…[truncated 1 chars]');
  const long = 'x'.repeat(10_000);
  t.is(safe(t, long), `${'x'.repeat(8192)}…[truncated 1808 chars]`);
  t.deepEqual(safe(t, { k: 'yyyy' }, { maxStringLength: 2 }), { k: 'yy…[truncated 2 chars]' });
});

test('lone surrogates become U+FFFD in values, keys and symbol descriptions', (t) => {
  const out = safe(t, { ['k\uD800']: 'a\uDC00b\uD83D', ok: '😀', sym: Symbol('\uDFFF') });
  t.deepEqual(out, { 'k\uFFFD': 'a\uFFFDb\uFFFD', ok: '😀', sym: 'Symbol(\uFFFD)' });
  const bytes = Buffer.from(JSON.stringify(out), 'utf8');
  t.is(new TextDecoder('utf-8', { fatal: true }).decode(bytes), JSON.stringify(out));
});

test('dates become ISO text, invalid dates a marker', (t) => {
  t.is(safe(t, new Date(0)), '1970-01-01T00:00:00.000Z');
  t.is(safe(t, new Date(NaN)), '[Invalid Date]');
  const d = new Date(86_400_000);
  (d as unknown as { toJSON: () => string }).toJSON = () => 'not used';
  t.deepEqual(safe(t, { d }), { d: '1970-01-02T00:00:00.000Z' });
  class MyDate extends Date {}
  t.is(safe(t, new MyDate(0)), '1970-01-01T00:00:00.000Z');
});

test('binary data becomes { type, length, base64 } and is cut visibly', (t) => {
  t.deepEqual(safe(t, Buffer.from('hello')), { type: 'Buffer', length: 5, base64: 'aGVsbG8=' });
  t.deepEqual(safe(t, new Uint8Array([1, 2, 3])), { type: 'Uint8Array', length: 3, base64: 'AQID' });
  t.deepEqual(safe(t, new Uint16Array([1])), { type: 'Uint16Array', length: 2, base64: 'AQA=' });
  t.deepEqual(safe(t, new Float64Array([1])), { type: 'Float64Array', length: 8, base64: 'AAAAAAAA8D8=' });
  t.deepEqual(safe(t, new ArrayBuffer(2)), { type: 'ArrayBuffer', length: 2, base64: 'AAA=' });
  t.deepEqual(safe(t, new SharedArrayBuffer(1)), { type: 'SharedArrayBuffer', length: 1, base64: 'AA==' });
  const backing = Uint8Array.from([9, 1, 2, 9]).buffer;
  t.deepEqual(safe(t, new DataView(backing, 1, 2)), { type: 'DataView', length: 2, base64: 'AQI=' });
  t.deepEqual(safe(t, Buffer.from(backing, 1, 2)), { type: 'Buffer', length: 2, base64: 'AQI=' });
  // maxStringLength 8 → at most 6 bytes, so the base64 text is at most 8 characters.
  t.deepEqual(safe(t, Buffer.from('0123456789'), { maxStringLength: 8 }), {
    type: 'Buffer',
    length: 10,
    base64: Buffer.from('012345').toString('base64'),
    truncated: '[Truncated: 4 more bytes]',
  });
  const big = asObj(safe(t, Buffer.alloc(1_000_000, 1)));
  t.is(big['length'], 1_000_000);
  t.is((big['base64'] as string).length, 8192);
  t.is(big['truncated'], '[Truncated: 993856 more bytes]');
});

test('Map and Set keep their content, keys converted too', (t) => {
  const m = new Map<unknown, unknown>([
    ['a', 1],
    [{ k: 1 }, [undefined]],
    [2n, new Set(['x'])],
  ]);
  t.deepEqual(safe(t, m), {
    type: 'Map',
    entries: [
      ['a', 1],
      [{ k: 1 }, ['[undefined]']],
      ['2n', { type: 'Set', values: ['x'] }],
    ],
  });
  t.deepEqual(safe(t, new Set([1, NaN, null])), { type: 'Set', values: [1, 'NaN', null] });
  t.deepEqual(
    safe(
      t,
      new Map([
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
      { maxKeys: 2 },
    ),
    {
      type: 'Map',
      entries: [
        [1, 1],
        [2, 2],
        ['…', '[Truncated: 1 more keys]'],
      ],
    },
  );
  t.deepEqual(safe(t, new Set([1, 2, 3]), { maxArrayLength: 1 }), {
    type: 'Set',
    values: [1, '[Truncated: 2 more items]'],
  });
  class Registry extends Map<string, number> {}
  t.deepEqual(safe(t, new Registry([['a', 1]])), { type: 'Map', entries: [['a', 1]] });
});

test('errors: name, message, stack, own props, cause chain', (t) => {
  const root = new Error('disk full');
  const err = Object.assign(new TypeError('write failed', { cause: root }), { code: 'EIO', errno: -5 });
  const out = asObj(safe(t, err));
  t.deepEqual(Object.keys(out), ['name', 'message', 'stack', 'code', 'errno', 'cause']);
  t.is(out['name'], 'TypeError');
  t.is(out['message'], 'write failed');
  t.is(out['stack'], err.stack);
  t.is(out['code'], 'EIO');
  t.is(out['errno'], -5);
  t.deepEqual(out['cause'], { name: 'Error', message: 'disk full', stack: root.stack as string });

  const noCause = asObj(safe(t, new RangeError('r')));
  t.deepEqual(Object.keys(noCause), ['name', 'message', 'stack']);
  t.deepEqual(asObj(safe(t, new Error('x', { cause: undefined })))['cause'], '[undefined]');
  t.deepEqual(asObj(safe(t, new Error('x', { cause: 'text' })))['cause'], 'text');
});

test('cyclic causes are marked, errors inside objects get their path', (t) => {
  const a = new Error('a');
  const b = new Error('b', { cause: a });
  (a as { cause?: unknown }).cause = b;
  const out = asObj(safe(t, { ctx: { err: a } }));
  const errA = asObj(asObj(out['ctx'])['err']);
  const errB = asObj(errA['cause']);
  t.is(errB['message'], 'b');
  t.is(errB['cause'], '[Circular: $.ctx.err]');
  const self = new Error('self');
  (self as { cause?: unknown }).cause = self;
  t.is(asObj(safe(t, self))['cause'], '[Circular: $]');
});

test('custom errors, AggregateError and error-like objects', (t) => {
  class HttpError extends Error {
    override name = 'HttpError';
    constructor(public status: number) {
      super(`status ${status}`);
    }
  }
  const out = asObj(safe(t, new HttpError(503)));
  t.is(out['name'], 'HttpError');
  t.is(out['message'], 'status 503');
  t.is(out['status'], 503);
  t.false('@type' in out);

  const agg = asObj(safe(t, new AggregateError([new Error('one'), 'two'], 'many')));
  t.is(agg['message'], 'many');
  t.is((agg['errors'] as Obj[])[0]!['message'], 'one');
  t.is((agg['errors'] as JsonValue[])[1], 'two');

  class Failure {
    message = 'm';
    stack = 'Failure: m\n    at somewhere';
    extra = 1;
  }
  t.deepEqual(safe(t, new Failure()), {
    name: '[undefined]',
    message: 'm',
    stack: 'Failure: m\n    at somewhere',
    extra: 1,
  });
  // A plain object that looks like an error keeps its own keys as they are.
  t.deepEqual(safe(t, { message: 'm', stack: 's' }), { message: 'm', stack: 's' });
  // Errors from another realm are still errors.
  const foreign = asObj(safe(t, runInNewContext('new SyntaxError("elsewhere")')));
  t.is(foreign['name'], 'SyntaxError');
  t.is(foreign['message'], 'elsewhere');
});

test('RegExp, URL and opaque built-ins', (t) => {
  t.is(safe(t, /ab+c/gi), '/ab+c/gi');
  t.is(safe(t, new RegExp('a/b')), '/a\\/b/');
  t.is(safe(t, new URL('https://example.com/a b?q=1#h')), 'https://example.com/a%20b?q=1#h');
  t.deepEqual(safe(t, [new WeakMap(), new WeakSet(), Promise.resolve(1), new WeakRef({})]), [
    '[WeakMap]',
    '[WeakSet]',
    '[Promise]',
    '[WeakRef]',
  ]);
  t.deepEqual(safe(t, [Object(1), Object('s'), Object(true), Object(2n), Object(Symbol('b'))]), [
    1,
    's',
    true,
    '2n',
    'Symbol(b)',
  ]);
});

test('toJSON results are used and converted again', (t) => {
  t.deepEqual(safe(t, { money: { toJSON: () => ({ amount: 10n, at: new Date(0) }) } }), {
    money: { amount: '10n', at: '1970-01-01T00:00:00.000Z' },
  });
  const keys: unknown[] = [];
  const spy = { toJSON: (key: unknown) => (keys.push(key), 'x') };
  t.deepEqual(safe(t, { a: spy, b: [spy] }), { a: 'x', b: ['x'] });
  t.deepEqual(keys, ['a', '0']); // the key is passed like JSON.stringify does
  t.is(safe(t, spy), 'x');
  t.deepEqual(keys, ['a', '0', '']);
});

test('toJSON: throwing, returning itself, returning objects that contain it', (t) => {
  t.deepEqual(safe(t, { v: { toJSON: thrower('cannot') } }), { v: '[Thrown by toJSON: cannot]' });
  t.deepEqual(
    safe(t, {
      v: {
        toJSON() {
          throw 'plain string';
        },
      },
    }),
    { v: '[Thrown by toJSON: plain string]' },
  );
  const getterThrows = Object.defineProperty({}, 'toJSON', { get: thrower('getter'), enumerable: false });
  t.deepEqual(safe(t, { v: getterThrows }), { v: '[Thrown: getter]' });
  const selfish = {
    a: 1,
    toJSON() {
      return this;
    },
  };
  t.deepEqual(safe(t, selfish), { a: 1, toJSON: '[Function: toJSON]' });
  const wrapper: { toJSON(): unknown } = { toJSON: () => ({ inner: wrapper }) };
  t.deepEqual(safe(t, { w: wrapper }), { w: { inner: '[Circular: $.w]' } });
  // Like JSON.stringify, the result's own toJSON is not called, so endless toJSON chains stop.
  const chain = (n: number): unknown => ({ n, toJSON: () => chain(n + 1) });
  t.deepEqual(safe(t, chain(0)), { n: 1, toJSON: '[Function: toJSON]' });
  const endless = {
    toJSON(): unknown {
      return endless.toJSON();
    },
  };
  t.regex(safe(t, endless) as string, /^\[Thrown by toJSON: Maximum call stack size exceeded/);
});

test('class instances get "@type" first, plain and null-prototype objects do not', (t) => {
  class Point {
    constructor(
      public x: number,
      public y: number,
    ) {}
    get len() {
      return Math.hypot(this.x, this.y);
    }
  }
  const p = asObj(safe(t, new Point(3, 4)));
  t.deepEqual(p, { '@type': 'Point', x: 3, y: 4 });
  t.deepEqual(Object.keys(p), ['@type', 'x', 'y']);
  const anon = new (class {
    v = 1;
  })();
  t.deepEqual(safe(t, anon), { '@type': 'anonymous', v: 1 });
  const bare = Object.assign(Object.create(null) as object, { a: 1 });
  t.deepEqual(safe(t, bare), { a: 1 });
  t.deepEqual(safe(t, Object.create({ inherited: 1 }) as object), { '@type': 'Object' });
  t.deepEqual(safe(t, runInNewContext('({ a: 1, d: new Date(0) })')), { a: 1, d: '1970-01-01T00:00:00.000Z' });
  const noCtor = Object.create(Object.create(null, { constructor: { value: undefined } }) as object) as object;
  t.deepEqual(safe(t, noCtor), { '@type': 'anonymous' });
});

test('enumerable symbol keys are included as "Symbol(desc)", hidden keys are not', (t) => {
  const o = { a: 1, [Symbol('meta')]: { deep: true } };
  Object.defineProperty(o, Symbol('hidden'), { value: 1, enumerable: false });
  Object.defineProperty(o, 'hiddenString', { value: 1, enumerable: false });
  t.deepEqual(safe(t, o), { a: 1, 'Symbol(meta)': { deep: true } });
});

test('throwing getters keep their key with "[Thrown: message]"', (t) => {
  const o = {
    before: 1,
    get bad(): unknown {
      throw new Error('getter exploded');
    },
    get odd(): unknown {
      throw { notAnError: true }; // eslint-disable-line no-throw-literal
    },
    get str(): unknown {
      throw 'just text'; // eslint-disable-line no-throw-literal
    },
    get hostile(): unknown {
      throw new Proxy({}, { get: thrower('again') });
    },
    after: 2,
  };
  t.deepEqual(safe(t, o), {
    before: 1,
    bad: '[Thrown: getter exploded]',
    odd: '[Thrown: [object Object]]',
    str: '[Thrown: just text]',
    hostile: '[Thrown: unknown error]',
    after: 2,
  });
  class Lazy {
    constructor() {
      Object.defineProperty(this, 'conn', { enumerable: true, get: thrower('not connected') });
    }
  }
  t.deepEqual(safe(t, [new Lazy()]), [{ '@type': 'Lazy', conn: '[Thrown: not connected]' }]);
  class Flaky {
    constructor() {
      Object.defineProperty(this, 'message', { enumerable: true, get: thrower('no message') });
    }
  }
  t.deepEqual(safe(t, new Flaky()), { '@type': 'Flaky', message: '[Thrown: no message]' });
});

test('__proto__, constructor and prototype keys are plain data and pollute nothing', (t) => {
  const input: unknown = JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}');
  const out = asObj(safe(t, input));
  t.is(Object.getPrototypeOf(out), Object.prototype);
  t.true(Object.hasOwn(out, '__proto__'));
  t.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: 1 });
  t.is(JSON.stringify(out), '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}');
  t.deepEqual(JSON.parse(JSON.stringify(out)), input);
  t.is(({} as { polluted?: unknown }).polluted, undefined);
  t.is((Object.prototype as { polluted?: unknown }).polluted, undefined);
  const nested = asObj(safe(t, { a: input }));
  t.is(JSON.stringify(nested), '{"a":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}}}}');
  t.is(Object.getPrototypeOf(nested['a']), Object.prototype);
});

test('cycles are marked with the path of the first appearance', (t) => {
  const root: Record<string, unknown> = { name: 'root' };
  root['self'] = root;
  const child: Record<string, unknown> = { up: root };
  root['list'] = [0, { 'odd key': child }];
  child['me'] = child;
  t.deepEqual(safe(t, root), {
    name: 'root',
    self: '[Circular: $]',
    list: [0, { 'odd key': { up: '[Circular: $]', me: '[Circular: $.list[1]["odd key"]]' } }],
  });
  const arr: unknown[] = [];
  arr.push(arr);
  t.deepEqual(safe(t, arr), ['[Circular: $]']);
  const m = new Map<unknown, unknown>();
  m.set('me', m).set(m, 1);
  t.deepEqual(safe(t, { m }), {
    m: {
      type: 'Map',
      entries: [
        ['me', '[Circular: $.m]'],
        ['[Circular: $.m]', 1],
      ],
    },
  });
  const s = new Set<unknown>();
  const holder = { s };
  s.add(holder);
  t.deepEqual(safe(t, holder), { s: { type: 'Set', values: ['[Circular: $]'] } });
});

test('shared references are not cycles', (t) => {
  const shared = { v: 1 };
  t.deepEqual(safe(t, { a: shared, b: shared, c: [shared, shared] }), {
    a: { v: 1 },
    b: { v: 1 },
    c: [{ v: 1 }, { v: 1 }],
  });
  // A diamond lattice: 2^20 paths but bounded by maxTotalNodes.
  let node: object = { leaf: true };
  for (let i = 0; i < 20; i++) node = { l: node, r: node };
  const out = JSON.stringify(safe(t, node, { maxDepth: 100 }));
  t.true(out.includes('[Truncated: size]'));
  t.true(out.length < 200_000);
});

test('maxDepth: containers below the limit become "[Truncated: depth]"', (t) => {
  const v = { a: { b: { c: { d: 1 } } }, list: [[[1]]], n: 1 };
  t.deepEqual(safe(t, v, { maxDepth: 2 }), {
    a: { b: '[Truncated: depth]' },
    list: ['[Truncated: depth]'],
    n: 1,
  });
  t.deepEqual(safe(t, v, { maxDepth: 1 }), { a: '[Truncated: depth]', list: '[Truncated: depth]', n: 1 });
  t.is(safe(t, v, { maxDepth: 0 }), '[Truncated: depth]');
  t.is(safe(t, 'leaf', { maxDepth: 0 }), 'leaf');
  // Leaves that become objects (dates, binary) are not cut by depth.
  t.deepEqual(safe(t, { d: new Date(0), b: Buffer.from('a') }, { maxDepth: 1 }), {
    d: '1970-01-01T00:00:00.000Z',
    b: { type: 'Buffer', length: 1, base64: 'YQ==' },
  });
  let deep: unknown = 'bottom';
  for (let i = 0; i < 10; i++) deep = { next: deep };
  const eight = JSON.stringify(safe(t, deep));
  t.is(eight, `${'{"next":'.repeat(8)}"[Truncated: depth]"${'}'.repeat(8)}`);
});

test('maxArrayLength and maxKeys add one visible marker', (t) => {
  t.deepEqual(safe(t, [1, 2, 3, 4], { maxArrayLength: 2 }), [1, 2, '[Truncated: 2 more items]']);
  t.deepEqual(safe(t, [1, 2], { maxArrayLength: 2 }), [1, 2]);
  t.deepEqual(safe(t, { a: 1, b: 2, c: 3, [Symbol('s')]: 4 }, { maxKeys: 2 }), {
    a: 1,
    b: 2,
    '…': '[Truncated: 2 more keys]',
  });
  class C {
    a = 1;
    b = 2;
  }
  t.deepEqual(safe(t, new C(), { maxKeys: 1 }), { '@type': 'C', a: 1, '…': '[Truncated: 1 more keys]' });
});

test('maxTotalNodes: every value past the budget becomes "[Truncated: size]"', (t) => {
  t.deepEqual(safe(t, { a: 1, b: [2, 3], c: 4 }, { maxTotalNodes: 4 }), {
    a: 1,
    b: [2, '[Truncated: size]'],
    c: '[Truncated: size]',
  });
  t.is(safe(t, { a: 1 }, { maxTotalNodes: 0 }), '[Truncated: size]');
});

test('odd or hostile limits fall back to defaults', (t) => {
  const nums = Array.from({ length: 150 }, (_, i) => i);
  t.is((safe(t, nums, { maxArrayLength: NaN }) as unknown[]).length, 101);
  t.is((safe(t, nums, { maxArrayLength: -1 }) as unknown[]).length, 101);
  t.is((safe(t, nums, { maxArrayLength: undefined }) as unknown[]).length, 101);
  t.is((safe(t, nums, { maxArrayLength: Infinity }) as unknown[]).length, 150);
  const hostile = new Proxy({}, { ownKeys: thrower('limits'), get: thrower('limits') });
  t.is((safe(t, nums, hostile) as unknown[]).length, 101);
});

test('proxies: transparent when well-behaved, a marker when traps throw or it is revoked', (t) => {
  t.deepEqual(safe(t, new Proxy({ a: 1, b: [2] }, {})), { a: 1, b: [2] });
  t.deepEqual(safe(t, new Proxy([1, 2], {})), [1, 2]);
  const everyTrapThrows = new Proxy({}, new Proxy({}, { get: (_, trap) => thrower(`trap ${String(trap)}`) }));
  t.is(safe(t, everyTrapThrows), '[Thrown: trap getPrototypeOf]');
  t.deepEqual(safe(t, { p: everyTrapThrows, after: 1 }), { p: '[Thrown: trap getPrototypeOf]', after: 1 });
  // Reading toJSON already throws here, so the whole value is the marker.
  t.is(safe(t, new Proxy({ a: 1 }, { get: thrower('get trap') })), '[Thrown: get trap]');
  const oneKey = new Proxy({ a: 1, b: 2 }, { get: (o, k) => (k === 'a' ? thrower('only a')() : Reflect.get(o, k)) });
  t.deepEqual(safe(t, oneKey), { a: '[Thrown: only a]', b: 2 });
  const fnProxy = new Proxy(function f() {}, new Proxy({}, { get: () => thrower('fn trap') }));
  t.is(safe(t, fnProxy), '[Function: anonymous]');

  const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
  const fn = Proxy.revocable(() => 1, {});
  revoke();
  fn.revoke();
  const revokedMarker = "[Thrown: Cannot perform 'IsArray' on a proxy that has been revoked]";
  t.is(safe(t, proxy), revokedMarker);
  t.deepEqual(safe(t, { proxy, fn: fn.proxy }), { proxy: revokedMarker, fn: '[Function: anonymous]' });
  const arrayProxy = new Proxy([1, 2, 3], {
    get: (target, key) => (key === '1' ? thrower('item')() : Reflect.get(target, key)),
  });
  t.deepEqual(safe(t, arrayProxy), [1, '[Thrown: item]', 3]);
});

test('huge inputs stay bounded and fast', (t) => {
  const manyKeys: Record<string, number> = {};
  for (let i = 0; i < 1_000_000; i++) manyKeys[`k${i}`] = i;
  let started = performance.now();
  const keysOut = asObj(safe(t, manyKeys));
  t.is(Object.keys(keysOut).length, 101);
  t.is(keysOut['k99'], 99);
  t.is(keysOut['…'], '[Truncated: 999900 more keys]');

  const bigString = 'z'.repeat(10 * 1024 * 1024);
  t.is(safe(t, bigString), `${'z'.repeat(8192)}…[truncated ${10 * 1024 * 1024 - 8192} chars]`);

  const bigArray = Array.from({ length: 1_000_000 }, (_, i) => i);
  const arrOut = safe(t, bigArray) as JsonValue[];
  t.is(arrOut.length, 101);
  t.is(arrOut[100], '[Truncated: 999900 more items]');
  t.true(performance.now() - started < 10_000);

  started = performance.now();
  const wide = Array.from({ length: 100 }, () =>
    Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, i])),
  );
  const wideOut = JSON.stringify(safe(t, wide));
  // 1 root + 49 full rows of 101 values; row 50 keeps 49 fields; 51 fields + 50 rows are markers.
  t.is(wideOut.match(/\[Truncated: size\]/g)?.length, 101);
  t.true(performance.now() - started < 5000);
});

test('10,000-deep nesting does not overflow the stack, even with maxDepth: Infinity', (t) => {
  let obj: unknown = 'bottom';
  let arr: unknown = 'bottom';
  let err: unknown = 'bottom';
  for (let i = 0; i < 10_000; i++) {
    obj = { child: obj };
    arr = [arr];
    err = new Error(`e${i}`, { cause: err });
  }
  for (const value of [obj, arr, err]) {
    const out = safe(t, value);
    t.true(JSON.stringify(out).includes('[Truncated: depth]'));
    const unlimited = JSON.stringify(safe(t, value, { maxDepth: Infinity, maxTotalNodes: Infinity }));
    // maxDepth is capped at 1000 levels.
    t.is(unlimited.split('[Truncated: depth]').length, 2);
    t.false(unlimited.includes('Maximum call stack'));
  }
});

test('deep recursion inside user code becomes a marker', (t) => {
  const o = {
    get loop(): unknown {
      return o.loop;
    },
    ok: 1,
  };
  const out = asObj(safe(t, o));
  t.regex(out['loop'] as string, /^\[Thrown: Maximum call stack size exceeded/);
  t.is(out['ok'], 1);
});

test('never throws on a zoo of hostile values', (t) => {
  const zoo: unknown[] = [
    new Proxy({}, { getPrototypeOf: () => null, ownKeys: thrower('keys') }),
    new Proxy([], { get: thrower('len') }),
    new Proxy(new Map([[1, 2]]), {}),
    new Proxy(new Date(0), {}),
    Object.create(Map.prototype) as object,
    Object.create(Date.prototype) as object,
    Object.create(Uint8Array.prototype) as object,
    Object.defineProperty(new Error('e'), 'name', { get: thrower('name') }),
    Object.defineProperty({}, 'x', { enumerable: true, get: () => new Proxy({}, { getPrototypeOf: thrower('deep') }) }),
    { toJSON: () => new Proxy({}, { ownKeys: thrower('tojson result') }) },
    new Proxy(new Error('err'), { has: thrower('has') }),
    (function (..._args: unknown[]) {
      return arguments; // eslint-disable-line prefer-rest-params
    })(1, undefined),
    new (class extends Array {})(),
    Object.setPrototypeOf({ a: 1 }, new Proxy({}, { get: thrower('proto get') })),
  ];
  for (const value of zoo) {
    t.notThrows(() => safe(t, value));
    t.notThrows(() => safe(t, { value }));
  }
  t.deepEqual(safe(t, zoo[1]), '[Thrown: len]');
  t.deepEqual(asObj(safe(t, zoo[8]))['x'], '[Thrown: deep]');
  t.deepEqual(safe(t, zoo[9]), '[Thrown: tojson result]');
  t.deepEqual(safe(t, zoo[11]), { 0: 1, 1: '[undefined]' });
  t.deepEqual(safe(t, zoo[12]), []);
  t.deepEqual(safe(t, zoo[13]), '[Thrown: proto get]');
  t.is(asObj(safe(t, zoo[7]))['name'], '[Thrown: name]');
});

test('re-entrant calls from getters work', (t) => {
  const o = {
    get nested(): unknown {
      return toJsonSafe({ inner: [1, NaN] });
    },
  };
  t.deepEqual(safe(t, o), { nested: { inner: [1, 'NaN'] } });
});

function fixture(): Record<string, unknown> {
  const cyclic: Record<string, unknown> = { name: 'c' };
  cyclic['self'] = cyclic;
  const shared = { s: 1 };
  class Thing {
    id = 7;
    when = new Date(1_000);
  }
  return {
    text: 'héllo 😀',
    num: 3.14,
    nums: [NaN, -0, Infinity, 1e300],
    flags: [true, false, null, undefined],
    big: 99n,
    sym: Symbol('s'),
    fn: function work() {},
    date: new Date(0),
    buf: Buffer.from('data'),
    map: new Map<unknown, unknown>([
      ['k', shared],
      [shared, 'v'],
    ]),
    set: new Set([shared, 1]),
    err: Object.assign(new Error('boom', { cause: new Error('inner') }), { code: 'E_X' }),
    re: /x/g,
    url: new URL('http://h/p'),
    thing: new Thing(),
    cyclic,
    shared: [shared, shared],
    nested: { a: { b: { c: [1, { d: 'deep' }] } } },
    [Symbol('tag')]: 'symbol value',
  };
}

test('deterministic: equal inputs give deeply equal outputs', (t) => {
  const input = fixture();
  const first = safe(t, input);
  t.deepEqual(toJsonSafe(input), first);
  t.is(JSON.stringify(toJsonSafe(input)), JSON.stringify(first));
});

test('does not mutate its input', (t) => {
  const input = fixture();
  const before = inspect(input, { depth: Infinity, showHidden: true, getters: false });
  safe(t, input);
  safe(t, input, { maxDepth: 1, maxKeys: 1, maxArrayLength: 1, maxStringLength: 1, maxTotalNodes: 3 });
  t.is(inspect(input, { depth: Infinity, showHidden: true, getters: false }), before);
  const frozen = Object.freeze({ a: Object.freeze([1, 2]), b: Object.freeze({ c: 'x' }) });
  t.deepEqual(safe(t, frozen), { a: [1, 2], b: { c: 'x' } });
});

test('the full fixture converts to the documented shapes and round-trips through JSON', (t) => {
  const out = asObj(safe(t, fixture()));
  t.deepEqual(JSON.parse(JSON.stringify(out)), out);
  t.like(out, {
    text: 'héllo 😀',
    num: 3.14,
    nums: ['NaN', 0, 'Infinity', 1e300],
    flags: [true, false, null, '[undefined]'],
    big: '99n',
    sym: 'Symbol(s)',
    fn: '[Function: work]',
    date: '1970-01-01T00:00:00.000Z',
    buf: { type: 'Buffer', length: 4, base64: 'ZGF0YQ==' },
    map: {
      type: 'Map',
      entries: [
        ['k', { s: 1 }],
        [{ s: 1 }, 'v'],
      ],
    },
    set: { type: 'Set', values: [{ s: 1 }, 1] },
    err: { name: 'Error', message: 'boom', code: 'E_X', cause: { name: 'Error', message: 'inner' } },
    re: '/x/g',
    url: 'http://h/p',
    thing: { '@type': 'Thing', id: 7, when: '1970-01-01T00:00:01.000Z' },
    cyclic: { name: 'c', self: '[Circular: $.cyclic]' },
    shared: [{ s: 1 }, { s: 1 }],
    nested: { a: { b: { c: [1, { d: 'deep' }] } } },
    'Symbol(tag)': 'symbol value',
  });
});
