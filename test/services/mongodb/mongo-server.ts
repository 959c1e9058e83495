/**
 * A MongoDB-wire-protocol server for the logtickets tests.
 *
 * startMongo() returns either the external server named by
 * LOGTICKETS_TEST_MONGODB_URL (kind 'external'), or a private FerretDB
 * v1.24.2 with SQLite storage (kind 'ferretdb'): ./build.sh compiles
 * ./ferretdb-wrapper once into the cache directory, and each call starts it
 * on a free 127.0.0.1 port with a fresh temp data directory, resolving when a
 * real OP_MSG `hello` is answered. The data directory survives stop(),
 * kill() and restart(), and is deleted (and any server still running is
 * killed) when the Node process exits.
 *
 * By default the wrapper lets FerretDB run one command at a time, because
 * FerretDB v1 updates are not atomic (concurrent `$inc`s get lost); see
 * ferretdb-wrapper/serialize.go. FerretDB is not a full MongoDB: no
 * transactions, change streams, $lookup, $facet, TTL/partial/text indexes,
 * and $group knows only $sum and $count; see README.md.
 *
 * Node built-ins only, so it runs (under tsx) before anything is installed.
 * `node --import tsx test/services/mongodb/mongo-server.ts check` starts,
 * crash-restarts and stops one server.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface MongoServer {
  /** Connection string, e.g. `mongodb://127.0.0.1:PORT/`. */
  url: string;
  port: number;
  kind: 'ferretdb' | 'external';
  /** Graceful shutdown (SIGTERM). The data directory is kept so start() can resume. */
  stop(): Promise<void>;
  /** kill -9, then start again on the same port and data directory (crash tests). */
  restart(): Promise<void>;
  /** kill -9 without restarting. */
  kill(): Promise<void>;
  /** Start again after stop()/kill(); no-op while running. Resolves once `hello` answers. */
  start(): Promise<void>;
}

export interface MongoServerOptions {
  /** Where build.sh puts the wrapper binary. Default: `<repo>/.cache/ferretdb`. */
  cacheDir?: string;
  /**
   * FerretDB only: let it run one command at a time (default true). Plain
   * FerretDB v1 loses concurrent `$inc`s on one document and lets concurrent
   * upserts of one key collide with E11000; see ferretdb-wrapper/serialize.go.
   */
  serialize?: boolean;
}

export const FERRETDB_VERSION = 'v1.24.2';
const ENV_URL = 'LOGTICKETS_TEST_MONGODB_URL';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..', '..');
const defaultCacheDir = join(repoRoot, '.cache', 'ferretdb');

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_LINES_KEPT = 40;

/**
 * Why no server can be had on this machine, in one line, or null when
 * startMongo() should work (env var set, wrapper already built, or Go present).
 */
export function mongoUnavailableReason(options: MongoServerOptions = {}): string | null {
  if (process.env[ENV_URL]) return null;
  if (isExecutable(binaryPath(options.cacheDir ?? defaultCacheDir))) return null;
  if (findGo()) return null;
  return `no MongoDB for tests: ${ENV_URL} is not set and Go (>= 1.24) is not installed to build FerretDB ${FERRETDB_VERSION}`;
}

export async function startMongo(options: MongoServerOptions = {}): Promise<MongoServer> {
  const external = process.env[ENV_URL];
  if (external) return startExternal(external);

  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir);
  const binary = await ensureBuilt(cacheDir);
  const server = new FerretServer(binary, options.serialize ?? true);
  try {
    await server.start();
  } catch (error) {
    server.dispose();
    throw error;
  }
  return server;
}

// ---------------------------------------------------------------------------
// External server

async function startExternal(url: string): Promise<MongoServer> {
  const target = plainHostPort(url);
  if (target) {
    try {
      await hello(target.host, target.port, 5_000);
    } catch (error) {
      throw new Error(`${ENV_URL}=${url} does not answer hello: ${errorMessage(error)}`);
    }
  }
  const refuse = (what: string) => () =>
    Promise.reject(
      new Error(
        `${what}() is not possible with an external MongoDB (${ENV_URL}); skip this test when kind === 'external'`,
      ),
    );
  return {
    url,
    port: target?.port ?? 0,
    kind: 'external',
    stop: async () => {},
    start: async () => {},
    restart: refuse('restart'),
    kill: refuse('kill'),
  };
}

/** host and port of a single-host mongodb:// URL without TLS, else undefined. */
function plainHostPort(url: string): { host: string; port: number } | undefined {
  const m = /^mongodb:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^,:/?]+)(?::(\d+))?(?:[/?]|$)/.exec(url);
  if (!m || /[?&](tls|ssl)=true/i.test(url)) return undefined;
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host, port: m[2] ? Number(m[2]) : 27017 };
}

// ---------------------------------------------------------------------------
// Building

function binaryPath(cacheDir: string): string {
  return join(cacheDir, `ferretdb-wrapper-${FERRETDB_VERSION}`);
}

const builds = new Map<string, Promise<string>>();

/** Run build.sh once per cache dir and process; it is a quick no-op when up to date. */
function ensureBuilt(cacheDir: string): Promise<string> {
  let build = builds.get(cacheDir);
  if (!build) {
    build = new Promise<string>((resolvePath, reject) => {
      execFile('bash', [join(here, 'build.sh'), cacheDir], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
        if (error) {
          const lines = `${stdout}${stderr}`.trim().split('\n');
          const reason = lines.at(-1) || errorMessage(error);
          reject(new Error(`cannot build FerretDB test server: ${reason}\n${lines.slice(-15).join('\n')}`));
        } else {
          resolvePath(binaryPath(cacheDir));
        }
      });
    });
    builds.set(cacheDir, build);
    build.catch(() => builds.delete(cacheDir));
  }
  return build;
}

function findGo(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  dirs.push('/usr/local/go/bin');
  return dirs.map((dir) => join(dir, 'go')).find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// FerretDB process

/** Servers still alive or with data on disk; cleaned up when the process exits. */
const live = new Set<FerretServer>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL leftovers, remove data dirs.
  process.on('exit', () => {
    for (const server of live) server.dispose();
  });
}

class FerretServer implements MongoServer {
  readonly kind = 'ferretdb' as const;
  port = 0;
  url = '';
  readonly dataDir: string;

  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output: string[] = [];

  constructor(
    private readonly binary: string,
    private readonly serialize: boolean,
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'logtickets-ferretdb-'));
    installExitHook();
    live.add(this);
  }

  start(): Promise<void> {
    return keepAlive(this.startNow());
  }

  stop(): Promise<void> {
    return keepAlive(this.stopNow());
  }

  kill(): Promise<void> {
    return keepAlive(this.killChild());
  }

  restart(): Promise<void> {
    return keepAlive(this.killChild().then(() => this.startNow()));
  }

  private async startNow(): Promise<void> {
    if (this.child) return;
    if (!existsSync(this.dataDir)) throw new Error(`FerretDB data directory ${this.dataDir} is gone`);

    // First start: port 0, FerretDB binds a free port and reports it, so
    // there is no race between picking a port and binding it. Later starts
    // reuse that port (Go sets SO_REUSEADDR, TIME_WAIT is not a problem).
    const listen = `127.0.0.1:${this.port}`;
    this.output = [];
    const args = ['-listen', listen, '-data', this.dataDir, `-serialize=${this.serialize}`, '-exit-on-stdin-close'];
    const child = spawn(this.binary, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((done) => {
      const gone = () => {
        if (this.child === child) this.child = undefined;
        done();
      };
      child.once('exit', gone);
      // A failed spawn (e.g. ENOENT) emits 'error' and never 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) gone();
      });
    });
    // A test that forgets stop() must not hang: neither the child nor its
    // pipes hold the event loop open (our own awaits use keepAlive()), and
    // the exit hook plus -exit-on-stdin-close take the server down with us.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      (stream as unknown as { unref?: () => void } | null)?.unref?.();
    }

    try {
      const address = await this.waitForReadyLine(child);
      const port = Number(address.slice(address.lastIndexOf(':') + 1));
      if (!Number.isInteger(port) || port <= 0) throw new Error(`unexpected ready line address ${address}`);
      this.port = port;
      this.url = `mongodb://127.0.0.1:${port}/`;
      await this.waitForHello(child);
    } catch (error) {
      await this.killChild();
      const tail = this.output.slice(-15).join('\n');
      throw new Error(
        `FerretDB did not start on ${listen}: ${errorMessage(error)}${tail ? `\n--- server output ---\n${tail}` : ''}`,
      );
    }
  }

  private async stopNow(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((done) => (timer = setTimeout(() => done(false), STOP_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (!stopped) await this.killChild();
  }

  /** Synchronous last-resort cleanup: SIGKILL the process and delete the data. */
  dispose(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
    rmSync(this.dataDir, { recursive: true, force: true });
    live.delete(this);
  }

  private async killChild(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  private record(chunk: Buffer): void {
    const lines = chunk
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0);
    this.output.push(...lines);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.splice(0, this.output.length - OUTPUT_LINES_KEPT);
  }

  /** Resolve with the address from the wrapper's `ready ADDR` line. */
  private waitForReadyLine(child: ChildProcess): Promise<string> {
    return new Promise((resolveAddress, reject) => {
      let pending = '';
      let address: string | undefined;
      const timer = setTimeout(
        () => finish(new Error(`no "ready" line within ${READY_TIMEOUT_MS} ms`)),
        READY_TIMEOUT_MS,
      );
      const finish = (error?: Error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        if (error) reject(error);
        else resolveAddress(address!);
      };
      const onExit = (code: number | null, signal: string | null) =>
        finish(new Error(`server exited early (${signal ?? `exit code ${code}`})`));
      const onError = (error: Error) => finish(error);
      child.on('exit', onExit);
      child.on('error', onError);
      child.stderr!.on('data', (chunk: Buffer) => this.record(chunk));
      child.stdout!.on('data', (chunk: Buffer) => {
        this.record(chunk);
        if (address) return;
        pending += chunk.toString('utf8');
        const m = /^ready (\S+)$/m.exec(pending);
        if (m) {
          address = m[1]!;
          finish();
        }
      });
    });
  }

  /** Poll a real OP_MSG hello until it answers ok:1 or the process dies. */
  private async waitForHello(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last: unknown;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error('server exited while waiting for hello');
      try {
        await hello('127.0.0.1', this.port, 2_000);
        return;
      } catch (error) {
        last = error;
      }
      await sleep(100);
    }
    throw new Error(`hello did not succeed within ${READY_TIMEOUT_MS} ms: ${errorMessage(last)}`);
  }
}

// ---------------------------------------------------------------------------
// Minimal wire protocol: one OP_MSG `hello` command

const OP_MSG = 2013;

/** Send `{hello: 1, $db: "admin"}` as OP_MSG and require `ok: 1` in the reply. */
export function hello(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const socket = createConnection({ host, port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) fail(error);
      else done();
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`hello timed out after ${timeoutMs} ms`)));
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error('connection closed before a hello reply')));
    socket.on('connect', () => socket.write(opMsg(helloDocument(), 1)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const length = received.readInt32LE(0);
      if (received.length < length) return;
      try {
        const ok = replyOk(received.subarray(0, length));
        finish(ok ? undefined : new Error('hello replied ok: 0'));
      } catch (error) {
        finish(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

function cstring(text: string): Buffer {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}

/** BSON for {hello: Int32(1), $db: "admin"}. */
function helloDocument(): Buffer {
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(n);
    return b;
  };
  const db = cstring('admin');
  const body = Buffer.concat([
    Buffer.from([0x10]),
    cstring('hello'),
    int32(1),
    Buffer.from([0x02]),
    cstring('$db'),
    int32(db.length),
    db,
    Buffer.from([0x00]),
  ]);
  return Buffer.concat([int32(body.length + 4), body]);
}

/** Header (length, requestID, responseTo, opCode), flagBits, one kind-0 section. */
function opMsg(document: Buffer, requestId: number): Buffer {
  const header = Buffer.alloc(21);
  header.writeInt32LE(21 + document.length, 0);
  header.writeInt32LE(requestId, 4);
  header.writeInt32LE(0, 8);
  header.writeInt32LE(OP_MSG, 12);
  header.writeUInt32LE(0, 16);
  header.writeUInt8(0, 20);
  return Buffer.concat([header, document]);
}

/** Read the `ok` field of an OP_MSG reply's body document. */
function replyOk(message: Buffer): boolean {
  if (message.readInt32LE(12) !== OP_MSG) throw new Error(`unexpected reply opCode ${message.readInt32LE(12)}`);
  if (message.readUInt8(20) !== 0) throw new Error('unexpected reply section kind');
  const docStart = 21;
  const docEnd = docStart + message.readInt32LE(docStart) - 1; // excludes the trailing 0x00
  let i = docStart + 4;
  while (i < docEnd) {
    const type = message.readUInt8(i++);
    const nameEnd = message.indexOf(0, i);
    const name = message.toString('utf8', i, nameEnd);
    i = nameEnd + 1;
    if (name === 'ok') {
      if (type === 0x01) return message.readDoubleLE(i) === 1;
      if (type === 0x10) return message.readInt32LE(i) === 1;
      if (type === 0x12) return message.readBigInt64LE(i) === 1n;
      if (type === 0x08) return message.readUInt8(i) === 1;
      throw new Error(`unexpected BSON type ${type} for ok`);
    }
    i += bsonValueSize(type, message, i);
  }
  throw new Error('hello reply has no ok field');
}

function bsonValueSize(type: number, buf: Buffer, at: number): number {
  switch (type) {
    case 0x01:
    case 0x09:
    case 0x11:
    case 0x12:
      return 8; // double, datetime, timestamp, int64
    case 0x02:
    case 0x0d:
    case 0x0e:
      return 4 + buf.readInt32LE(at); // string, code, symbol
    case 0x03:
    case 0x04:
      return buf.readInt32LE(at); // document, array
    case 0x05:
      return 5 + buf.readInt32LE(at); // binary
    case 0x07:
      return 12; // ObjectId
    case 0x08:
      return 1; // bool
    case 0x06:
    case 0x0a:
    case 0x7f:
    case 0xff:
      return 0; // undefined, null, max/min key
    case 0x10:
      return 4; // int32
    case 0x13:
      return 16; // decimal128
    case 0x0b: {
      // regex: two cstrings
      const first = buf.indexOf(0, at);
      return buf.indexOf(0, first + 1) + 1 - at;
    }
    default:
      throw new Error(`cannot skip BSON type ${type}`);
  }
}

// ---------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/**
 * The child process and its pipes are unref()'d, so while we wait for its
 * events nothing else may keep Node running (think of a top-level await in a
 * script); hold a timer for the duration of the operation.
 */
async function keepAlive<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1 << 30);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------
// `node --import tsx test/services/mongodb/mongo-server.ts check [CACHE_DIR]`
// builds (if needed), starts, crash-restarts and stops one server, so CI can
// prove the MongoDB test server works before the suite runs.

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === 'check') {
  const reason = mongoUnavailableReason(process.argv[3] ? { cacheDir: process.argv[3] } : {});
  if (reason) {
    console.error(reason);
    process.exit(1);
  }
  const began = Date.now();
  const server = await startMongo(process.argv[3] ? { cacheDir: process.argv[3] } : {});
  console.log(`${server.kind} answering hello at ${server.url} (${Date.now() - began} ms)`);
  if (server.kind === 'ferretdb') {
    const t = Date.now();
    await server.restart();
    console.log(`kill -9 + start again on port ${server.port}: ${Date.now() - t} ms`);
  }
  await server.stop();
  console.log('stopped');
}
