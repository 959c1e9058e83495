// A real Trac 1.6 server with the XML-RPC plugin, for the Trac backend tests.
//
// startTrac() provisions Trac (provision.sh: Debian trixie packages unpacked
// into a cache dir, bookworm run-time deps), creates a throw-away Trac
// environment in a temp dir, starts tracd on 127.0.0.1 with HTTP basic auth
// and resolves once XML-RPC answers. stop() kills tracd and deletes the
// environment.
//
// Alternatively LOGTICKETS_TEST_TRAC_URL (+ _USER, _PASSWORD and optionally
// _ADMIN_USER, _ADMIN_PASSWORD) points the tests at an existing server.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { xmlRpcCall, XmlRpcFault, XmlRpcHttpError, type XmlRpcCredentials } from './xmlrpc.js';

export interface TracUser {
  username: string;
  password: string;
}

export interface TracServer {
  /** XML-RPC endpoint that requires login: http://127.0.0.1:PORT/<env>/login/rpc */
  url: string;
  /** The Trac project's root: http://127.0.0.1:PORT/<env> */
  baseUrl: string;
  /** The bot account the backend under test uses. */
  username: string;
  password: string;
  /**
   * A TRAC_ADMIN account, for acting "as a human" in tests (closing tickets,
   * ...). Always set for a local server; for an external one only when
   * LOGTICKETS_TEST_TRAC_ADMIN_USER/_PASSWORD are given.
   */
  admin?: TracUser;
  /**
   * The accounts asked for with `users`, by name (empty for an external
   * server: tests that need them cannot run there).
   */
  users: Record<string, TracUser>;
  /** Trac environment directory ('' for an external server). */
  envDir: string;
  port: number;
  /** True when LOGTICKETS_TEST_TRAC_URL supplied the server. */
  external: boolean;
  /** Kills tracd and removes the environment (no-op for an external server). */
  stop(): Promise<void>;
}

export interface StartTracOptions {
  /** Where provision.sh keeps the unpacked packages. Default: <repo>/.cache/trac */
  cacheDir?: string;
  /** Permissions granted to the bot on top of the default set. */
  extraPermissions?: string[];
  /** Replaces the bot's default permission set (for permission-denied tests). */
  botPermissions?: string[];
  /**
   * More accounts, by user name, each with exactly the permissions given (for
   * tests of what a user lacking one sees, on the same server as the bot).
   */
  users?: Record<string, string[]>;
  /** Do not define the logtickets_hash custom ticket field. */
  withoutCustomField?: boolean;
  /** How long to wait for tracd to answer XML-RPC. Default 60 s. */
  startupTimeoutMs?: number;
}

/** Name of the Trac environment; also the first path segment of its URLs. */
export const TRAC_ENV_NAME = 'logtickets';
export const BOT_USERNAME = 'logtickets-bot';
export const ADMIN_USERNAME = 'admin';
/**
 * What the bot gets (the anonymous and authenticated groups get nothing, so
 * this is really all it has). Observed with Trac 1.6 + XML-RPC 1.2.0:
 * - XML_RPC: every call, even system.getAPIVersion (else fault 403).
 * - TICKET_VIEW: ticket.get, changeLog, getTicketFields and any update (403);
 *   without it ticket.query silently returns [] while ticket.create works.
 * - TICKET_CREATE: ticket.create, and the workflow's "reopen" action.
 * - TICKET_MODIFY: "resolve"/"accept"/"reassign" and updates without an
 *   action; it implies TICKET_APPEND in Trac.
 * - TICKET_APPEND: comments, but only through action "leave".
 */
export const BOT_PERMISSIONS = ['XML_RPC', 'TICKET_VIEW', 'TICKET_CREATE', 'TICKET_APPEND', 'TICKET_MODIFY'];
export const CUSTOM_FIELD = 'logtickets_hash';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The repository root: <repo>/test/services/trac is where this file lives (or, if compiled elsewhere, the nearest ancestor with a package.json). */
function repoRoot(): string {
  const expected = path.resolve(HERE, '../../..');
  if (existsSync(path.join(expected, 'package.json'))) return expected;
  for (let dir = HERE; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(HERE, '../../..');
  }
}

function provisionScript(): string {
  const beside = path.join(HERE, 'provision.sh');
  return existsSync(beside) ? beside : path.join(repoRoot(), 'test/services/trac/provision.sh');
}

/** Runs a command to completion; on failure the Error carries the tail of its output. */
function run(
  what: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const status = error.code ?? error.signal ?? 'error';
        reject(new Error(`${what} failed (exit ${status}):\n${lastLines(`${stdout}\n${stderr}`, 15)}`));
      } else resolve({ stdout, stderr });
    });
  });
}

function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-n)
    .join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

// Servers still running when the test process exits are killed and their
// temp dirs removed, so a forgotten stop() leaves nothing behind.
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;
function onProcessExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const fn of exitCleanups) {
        try {
          fn();
        } catch {
          // best effort at exit
        }
      }
    });
  }
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** htpasswd line in the {SHA} form that Trac's BasicAuthentication accepts. */
function htpasswdLine(user: TracUser): string {
  return `${user.username}:{SHA}${createHash('sha1').update(user.password, 'utf8').digest('base64')}\n`;
}

// Runs several trac-admin commands in one Python process (each separate
// trac-admin start costs ~0.5 s).
const ADMIN_BATCH = `
import json, sys
from trac.admin.console import run
env = sys.argv[1]
for command in json.loads(sys.argv[2]):
    rc = run([env] + command)
    if rc:
        print('trac-admin %s failed with %s' % (' '.join(command), rc), file=sys.stderr)
        sys.exit(rc)
`;

// Starts tracd, plus a watchdog thread: when our end of its stdin pipe
// closes (this Node process exited or was killed, even by a signal that skips
// 'exit' handlers), it deletes the temp dir and ends tracd. No orphans.
const TRACD_LAUNCHER = `
import os, shutil, sys, threading
def watchdog(tmp_dir):
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        os._exit(0)
threading.Thread(target=watchdog, args=(sys.argv[1],), daemon=True).start()
sys.argv = ['tracd'] + sys.argv[2:]
from trac.web.standalone import main
main()
`;

function externalServer(): TracServer | undefined {
  const url = process.env.LOGTICKETS_TEST_TRAC_URL;
  if (!url) return undefined;
  const username = process.env.LOGTICKETS_TEST_TRAC_USER;
  const password = process.env.LOGTICKETS_TEST_TRAC_PASSWORD;
  if (!username || !password) {
    throw new Error(
      'LOGTICKETS_TEST_TRAC_URL is set: LOGTICKETS_TEST_TRAC_USER and LOGTICKETS_TEST_TRAC_PASSWORD are needed too',
    );
  }
  const parsed = new URL(url);
  const adminUser = process.env.LOGTICKETS_TEST_TRAC_ADMIN_USER;
  const adminPassword = process.env.LOGTICKETS_TEST_TRAC_ADMIN_PASSWORD;
  return {
    url,
    baseUrl: url.replace(/\/(login\/)?(xml)?rpc\/?$/, ''),
    username,
    password,
    ...(adminUser && adminPassword ? { admin: { username: adminUser, password: adminPassword } } : {}),
    users: {},
    envDir: '',
    port: Number(parsed.port) || (parsed.protocol === 'https:' ? 443 : 80),
    external: true,
    stop: async () => {},
  };
}

export async function startTrac(options: StartTracOptions = {}): Promise<TracServer> {
  const external = externalServer();
  if (external) return external;

  // 1. Provision (a no-op check when the cache is warm).
  const cacheDir = path.resolve(options.cacheDir ?? path.join(repoRoot(), '.cache', 'trac'));
  await run(`Trac provisioning (provision.sh ${cacheDir})`, 'bash', [provisionScript(), cacheDir]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONPATH: path.join(cacheDir, 'root/usr/lib/python3/dist-packages'),
    PYTHONNOUSERSITE: '1',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    TZ: 'UTC',
  };
  delete env.PYTHONHOME;
  const python = '/usr/bin/python3';

  // 2. A fresh environment: <tmp>/logtickets (the dir's name is the project name).
  const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'logtickets-trac-'));
  const envDir = path.join(tmpDir, TRAC_ENV_NAME);
  let child: ChildProcess | undefined;
  const forgetExitCleanup = onProcessExit(() => {
    child?.kill('SIGKILL');
    rmSync(tmpDir, { recursive: true, force: true });
  });

  try {
    const bot: TracUser = { username: BOT_USERNAME, password: randomBytes(12).toString('base64url') };
    const admin: TracUser = { username: ADMIN_USERNAME, password: randomBytes(12).toString('base64url') };
    const users: Record<string, TracUser> = {};
    for (const username of Object.keys(options.users ?? {})) {
      if (!/^[\w.-]+$/.test(username) || username === bot.username || username === admin.username)
        throw new Error(`startTrac: bad or reserved user name ${JSON.stringify(username)}`);
      users[username] = { username, password: randomBytes(12).toString('base64url') };
    }
    const htpasswd = path.join(tmpDir, 'htpasswd');
    await writeFile(htpasswd, [bot, admin, ...Object.values(users)].map(htpasswdLine).join(''), { mode: 0o600 });

    const iniLines = ['[components]', 'tracrpc.* = enabled', '[logging]', 'log_type = stderr', 'log_level = WARNING'];
    if (!options.withoutCustomField) {
      iniLines.push('[ticket-custom]', `${CUSTOM_FIELD} = text`, `${CUSTOM_FIELD}.label = Logtickets hash`);
    }
    const initIni = path.join(tmpDir, 'init.ini');
    await writeFile(initIni, iniLines.join('\n') + '\n');

    const botPermissions = [...(options.botPermissions ?? BOT_PERMISSIONS), ...(options.extraPermissions ?? [])];
    const commands: string[][] = [
      ['initenv', TRAC_ENV_NAME, 'sqlite:db/trac.db', `--config=${initIni}`],
      // Trac's defaults give anonymous and authenticated users a lot
      // (TICKET_VIEW, TICKET_CREATE, TICKET_MODIFY, ...): take all of it away.
      ['permission', 'remove', 'anonymous', '*'],
      ['permission', 'remove', 'authenticated', '*'],
      ['permission', 'add', admin.username, 'TRAC_ADMIN'],
    ];
    if (botPermissions.length) commands.push(['permission', 'add', bot.username, ...new Set(botPermissions)]);
    for (const [username, permissions] of Object.entries(options.users ?? {}))
      if (permissions.length) commands.push(['permission', 'add', username, ...new Set(permissions)]);
    await mkdir(path.dirname(envDir), { recursive: true });
    await run(
      `Creating the Trac environment ${envDir}`,
      python,
      ['-c', ADMIN_BATCH, envDir, JSON.stringify(commands)],
      env,
    );

    // 3. Start tracd; retry on a port grabbed between freePort() and bind.
    const startupTimeoutMs = options.startupTimeoutMs ?? 60_000;
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}/${TRAC_ENV_NAME}`;
      const url = `${baseUrl}/login/rpc`;
      const proc = spawn(
        python,
        [
          '-c',
          TRACD_LAUNCHER,
          tmpDir,
          '--single-env',
          `--base-path=/${TRAC_ENV_NAME}`,
          '--hostname=127.0.0.1',
          `--port=${port}`,
          `--basic-auth=${TRAC_ENV_NAME},${htpasswd},logtickets`,
          envDir,
        ],
        { env, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      child = proc;
      // Keep the tail of tracd's output for error messages (it logs every request to stderr).
      let output = '';
      const keep = (chunk: Buffer) => {
        output = (output + chunk.toString('utf8')).slice(-20_000);
      };
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      let exited: string | undefined;
      proc.on('exit', (code, signal) => {
        exited = `tracd exited with ${signal ?? code}`;
      });
      proc.on('error', (err) => {
        exited = `tracd could not start: ${err.message}`;
      });

      const deadline = Date.now() + startupTimeoutMs;
      let ready = false;
      while (!exited && Date.now() < deadline) {
        try {
          // As admin: the bot may lack XML_RPC on purpose (botPermissions).
          await xmlRpcCall(url, 'system.getAPIVersion', [], admin, 5_000);
          ready = true;
          break;
        } catch (err) {
          // Connection refused while tracd boots is expected; an HTTP error or a fault is not.
          if (err instanceof XmlRpcHttpError || err instanceof XmlRpcFault) {
            lastError = new Error(
              `Trac answered system.getAPIVersion at ${url} with ${err.message}\n${lastLines(output, 20)}`,
            );
            break;
          }
          await sleep(100);
        }
      }
      if (ready) {
        proc.stdout!.removeListener('data', keep);
        proc.stderr!.removeListener('data', keep);
        proc.stdout!.resume();
        proc.stderr!.resume();
        // A forgotten stop() must not keep the test process alive: the exit
        // hook (or the watchdog) ends tracd.
        proc.unref();
        for (const stream of [proc.stdin, proc.stdout, proc.stderr])
          (stream as unknown as { unref?: () => void } | null)?.unref?.();
        return {
          url,
          baseUrl,
          username: bot.username,
          password: bot.password,
          admin,
          users,
          envDir,
          port,
          external: false,
          stop: async () => {
            forgetExitCleanup();
            await killProcess(proc);
            await rm(tmpDir, { recursive: true, force: true });
          },
        };
      }
      await killProcess(proc);
      if (lastError) throw lastError;
      const reason = exited ?? `no XML-RPC answer within ${startupTimeoutMs} ms`;
      lastError = new Error(`Trac did not start on port ${port}: ${reason}\n${lastLines(output, 20)}`);
      if (!/Address already in use|Errno 98/.test(output)) break;
    }
    throw lastError ?? new Error('Trac did not start');
  } catch (err) {
    forgetExitCleanup();
    if (child) await killProcess(child);
    await rm(tmpDir, { recursive: true, force: true });
    throw err;
  }
}

async function killProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Convenience: an XML-RPC call against the server, as the bot unless `as` says otherwise. */
export function tracCall(
  server: TracServer,
  method: string,
  params: Parameters<typeof xmlRpcCall>[2] = [],
  as: XmlRpcCredentials | 'bot' | 'admin' | 'anonymous' = 'bot',
): ReturnType<typeof xmlRpcCall> {
  if (as === 'anonymous') return xmlRpcCall(server.url, method, params);
  if (as === 'admin') {
    if (!server.admin) throw new Error('this Trac server has no admin account configured');
    return xmlRpcCall(server.url, method, params, server.admin);
  }
  return xmlRpcCall(
    server.url,
    method,
    params,
    as === 'bot' ? { username: server.username, password: server.password } : as,
  );
}

/**
 * Why no Trac can be had on this machine, in one line, or null when
 * startTrac() should work: LOGTICKETS_TEST_TRAC_URL is set, the packages are
 * unpacked already, or apt-get is there to fetch them.
 */
export function tracUnavailableReason(options: { cacheDir?: string } = {}): string | null {
  if (process.env.LOGTICKETS_TEST_TRAC_URL) return null;
  const cache = options.cacheDir ?? path.join(repoRoot(), '.cache', 'trac');
  if (existsSync(path.join(cache, 'root', 'usr', 'lib', 'python3', 'dist-packages', 'trac'))) return null;
  if (existsSync('/usr/bin/apt-get') && existsSync('/usr/bin/python3')) return null;
  return 'no Trac for tests: LOGTICKETS_TEST_TRAC_URL is not set and this machine has no apt-get/python3 to provision Trac 1.6 from Debian packages';
}
