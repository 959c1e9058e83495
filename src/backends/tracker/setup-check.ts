/**
 * What `logtickets check-config` asks of a tracker: a list of checks made
 * against the live tracker, each passed or failed with what to fix. A check
 * never changes the tracker (no ticket is created to find out whether one
 * could be).
 */

export interface SetupCheck {
  /** What was checked, in a few words: `reachable`, `authenticated`, `may create tickets`, … */
  readonly name: string;
  readonly ok: boolean;
  /** On success, what was found; on failure, what is wrong and how to fix it. Never a secret. */
  readonly detail: string;
}
