/**
 * Log levels, with Logbook's names and numbers so that hashes and stored
 * records stay compatible with tickets written by Logbook.
 */

export const Level = {
  CRITICAL: 15,
  ERROR: 14,
  WARNING: 13,
  NOTICE: 12,
  INFO: 11,
  DEBUG: 10,
  TRACE: 9,
} as const;

export type LevelName = keyof typeof Level;

const NAMES: Readonly<Record<number, LevelName>> = Object.fromEntries(
  Object.entries(Level).map(([name, value]) => [value, name as LevelName]),
);

/** The name of a level number, or `LEVEL<n>` for numbers outside the table. */
export function levelName(level: number): string {
  return NAMES[level] ?? `LEVEL${level}`;
}

/** Level numbers run from 0 to this (Logbook's are 9 to 15; the rest is room for custom levels). */
export const MAX_LEVEL = 1000;

/**
 * Read a level given as a number (0 to MAX_LEVEL) or a name (any case; `WARN`
 * is accepted for WARNING). Returns undefined when it is neither.
 */
export function parseLevel(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= MAX_LEVEL ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const upper = value.trim().toUpperCase();
  if (upper === 'WARN') return Level.WARNING;
  if (upper in Level) return Level[upper as LevelName];
  if (/^\d{1,4}$/.test(upper) && Number(upper) <= MAX_LEVEL) return Number(upper);
  return undefined;
}
