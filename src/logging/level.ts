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

/**
 * Read a level given as a number or a name (any case; `WARN` is accepted for
 * WARNING). Returns undefined when it is neither.
 */
export function parseLevel(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value !== 'string') return undefined;
  const upper = value.trim().toUpperCase();
  if (upper === 'WARN') return Level.WARNING;
  if (upper in Level) return Level[upper as LevelName];
  if (/^\d+$/.test(upper)) return Number(upper);
  return undefined;
}
