/**
 * The faults the GitHub stand-in can be told to make (`GitHubStandIn.fault`),
 * which requests they apply to, and how they count down. github-server.ts
 * acts them out; the ones that strike after a write was carried out
 * (`server-error-after-create`, `hold-answer`) are decided here too.
 */

export type GitHubFault =
  /** 403 with `retry-after` and GitHub's "secondary rate limit" message */
  | { kind: 'secondary-rate-limit'; retryAfterSeconds: number; times?: number }
  /** 403 (or 429 with `status: 429`) with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` */
  | { kind: 'rate-limit'; resetInSeconds: number; times?: number; status?: 403 | 429 }
  | { kind: 'status'; status: 429 | 500 | 502 | 503; times?: number; retryAfterSeconds?: number }
  /** a write (POST/PATCH/PUT/DELETE, e.g. POST .../issues) is carried out, then answered with 502 */
  | { kind: 'server-error-after-create'; status?: 502; times?: number }
  /**
   * a write is carried out, then no answer is ever sent: the connection stays
   * open and silent until the client gives up or the stand-in closes (a
   * process killed mid-request, a proxy that lost the answer)
   */
  | { kind: 'hold-answer'; times?: number }
  /** 410 "Issues are disabled for this repo" on the issue endpoints; GET /repos/... says has_issues: false */
  | { kind: 'issues-disabled' }
  /** the answer is held back delayMs before the request is carried out, then given as usual */
  | { kind: 'slow'; delayMs: number; times?: number };

/** The faults that strike after a write: only a write GitHub carried out (status < 300) is affected, and counted. */
export type AfterWriteFault = Extract<GitHubFault, { kind: 'server-error-after-create' | 'hold-answer' }>;

const WRITES = ['POST', 'PATCH', 'PUT', 'DELETE'];

export function isAfterWrite(f: GitHubFault | undefined): f is AfterWriteFault {
  return f?.kind === 'server-error-after-create' || f?.kind === 'hold-answer';
}

/** The one fault switched on, its routes, and how many faulty answers it has left. */
export class FaultSwitch {
  private active: { fault: GitHubFault; routes: RegExp; left: number } | undefined;

  set(f: GitHubFault | null, routes: RegExp): void {
    this.active =
      f === null ? undefined : { fault: f, routes, left: 'times' in f && f.times !== undefined ? f.times : Infinity };
  }

  /** The fault, if it applies to this request (`template`: the operation's path template). */
  for(method: string, path: string, template: string): GitHubFault | undefined {
    const active = this.active;
    if (!active) return undefined;
    active.routes.lastIndex = 0;
    if (!active.routes.test(`${method} ${path}`)) return undefined;
    const f = active.fault;
    if (f.kind === 'issues-disabled') return /^\/repos\/\{owner\}\/\{repo\}\/issues/.test(template) ? f : undefined;
    if (isAfterWrite(f) && !WRITES.includes(method)) return undefined;
    return f;
  }

  /** Counts one faulty answer against `times`; the fault goes off when they are used up. */
  spend(f: GitHubFault): void {
    if (this.active?.fault === f && --this.active.left <= 0) this.active = undefined;
  }
}
