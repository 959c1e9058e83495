/**
 * Breadcrumbs: the most recent records of every level, INFO and DEBUG
 * included, kept so that a ticket shows what happened just before its
 * problem. Adding one stores references only — no formatting, no copy —
 * so that it costs about what a bare function call does; the message is
 * formatted, capped and redacted only when an occurrence takes the ring's
 * contents (occurrence.ts).
 *
 * The ring's size is the largest any ticketing handler asks for (option
 * `breadcrumbs`, default 40; 0 turns them off); with no handler asking, none
 * are kept and the logging call skips them with one comparison
 * (`breadcrumbsOn`, a live binding read in place).
 *
 * A ring keeps its entries in parallel arrays rather than one object per
 * record: a logging call then allocates nothing for its breadcrumb. Objects
 * are made only by `list()`, when an occurrence takes the ring's contents.
 */

/** One breadcrumb as kept: the record's parts, unformatted. */
export interface Breadcrumb {
  readonly time: number;
  readonly level: number;
  readonly channel: string;
  /** The message template (or a non-string first argument, made text later). */
  readonly msg: unknown;
  readonly args: readonly unknown[];
}

export const DEFAULT_BREADCRUMBS = 40;
/** Values per entry in `BreadcrumbRing.flat`. */
export const BREADCRUMB_FIELDS = 5;
export const MAX_BREADCRUMBS = 1_000;

/** A fixed-size ring: the newest entry replaces the oldest. */
export class BreadcrumbRing {
  readonly capacity: number;
  // Plain arrays, empty at first and grown by push until full: a scope's ring
  // costs next to nothing until its first breadcrumb, and then one slot each.
  private readonly times: number[] = [];
  private readonly levels: number[] = [];
  private readonly channels: string[] = [];
  private readonly msgs: unknown[] = [];
  private readonly argLists: (readonly unknown[])[] = [];
  private next = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.min(MAX_BREADCRUMBS, Math.floor(capacity) || 1));
  }

  /** Keep one record: references only (`args` is not copied). */
  push(time: number, level: number, channel: string, msg: unknown, args: readonly unknown[]): void {
    const i = this.next;
    if (this.times.length < this.capacity) {
      this.times.push(time);
      this.levels.push(level);
      this.channels.push(channel);
      this.msgs.push(msg);
      this.argLists.push(args);
    } else {
      this.times[i] = time;
      this.levels[i] = level;
      this.channels[i] = channel;
      this.msgs[i] = msg;
      this.argLists[i] = args;
    }
    this.next = i + 1 === this.capacity ? 0 : i + 1;
  }

  /** Keep one breadcrumb given as an object. */
  add(crumb: Breadcrumb): void {
    this.push(crumb.time, crumb.level, crumb.channel, crumb.msg, crumb.args);
  }

  /** How many entries the ring holds now. */
  get size(): number {
    return this.times.length;
  }

  /** Oldest first; the last `keep` entries only, when given. */
  list(keep: number = this.times.length): Breadcrumb[] {
    const filled = this.times.length;
    const count = Math.max(0, Math.min(keep, filled));
    const out: Breadcrumb[] = new Array<Breadcrumb>(count);
    // The oldest of the last `count` entries sits `count` places before `next`.
    let i = this.next - count;
    if (i < 0) i += filled;
    for (let n = 0; n < count; n++) {
      out[n] = {
        time: this.times[i]!,
        level: this.levels[i]!,
        channel: this.channels[i]!,
        msg: this.msgs[i],
        args: this.argLists[i]!,
      };
      i = i + 1 === filled ? 0 : i + 1;
    }
    return out;
  }

  /**
   * The last `keep` entries, oldest first, as one flat array of
   * BREADCRUMB_FIELDS values each (time, level, channel, msg, args): what an
   * occurrence takes in the logging call, in one allocation.
   */
  flat(keep: number): unknown[] {
    const filled = this.times.length;
    const count = Math.max(0, Math.min(keep, filled));
    const out = new Array<unknown>(count * BREADCRUMB_FIELDS);
    let i = this.next - count;
    if (i < 0) i += filled;
    for (let n = 0, o = 0; n < count; n++, o += BREADCRUMB_FIELDS) {
      out[o] = this.times[i];
      out[o + 1] = this.levels[i];
      out[o + 2] = this.channels[i];
      out[o + 3] = this.msgs[i];
      out[o + 4] = this.argLists[i];
      i = i + 1 === filled ? 0 : i + 1;
    }
    return out;
  }

  /** Forget every entry (and let go of the references they held). */
  clear(): void {
    for (const list of [this.times, this.levels, this.channels, this.msgs, this.argLists]) list.length = 0;
    this.next = 0;
  }
}

/** What each registered handler asked for; the ring size is the largest. */
const wanted = new Map<object, number>();
let capacity = 0;
let fallback: BreadcrumbRing | null = null;

/**
 * True while some handler asks for breadcrumbs. A live binding: importers
 * read the current value, so the logging call's check is one load and one
 * comparison.
 */
export let breadcrumbsOn = false;

/** A handler asks for rings of `size` breadcrumbs (0: it wants none). */
export function requestBreadcrumbs(owner: object, size: number): void {
  const n = Number.isFinite(size) ? Math.min(MAX_BREADCRUMBS, Math.floor(size)) : 0;
  if (n > 0) wanted.set(owner, n);
  else wanted.delete(owner);
  resize();
}

/** A closed handler no longer asks for breadcrumbs. */
export function releaseBreadcrumbs(owner: object): void {
  if (wanted.delete(owner)) resize();
}

function resize(): void {
  let size = 0;
  for (const n of wanted.values()) size = Math.max(size, n);
  if (size === capacity) return;
  capacity = size;
  breadcrumbsOn = size > 0;
  const kept = fallback?.list(size) ?? [];
  fallback = size > 0 ? new BreadcrumbRing(size) : null;
  if (fallback !== null) for (const crumb of kept) fallback.add(crumb);
}

/** The ring size now (0: breadcrumbs are off). */
export function breadcrumbCapacity(): number {
  return capacity;
}

/** The process-wide ring, used outside every scope (null when off). */
export function processRing(): BreadcrumbRing | null {
  return fallback;
}
