/** Timing helpers shared by the benchmark scenarios, and the table their figures are printed in. */

export interface Figure {
  readonly scenario: string;
  readonly subject: string;
  readonly value: number;
  readonly unit: string;
  readonly ratio?: { value: number; label: string; target: string; met: boolean };
  readonly note?: string;
}

/**
 * The median nanoseconds per call of `fn` over `rounds` rounds of `perRound`
 * calls; `between` runs after each round, untimed.
 */
export async function measure(
  rounds: number,
  perRound: number,
  fn: () => void,
  between: () => Promise<void>,
): Promise<number> {
  const samples: number[] = [];
  for (let r = 0; r < rounds + 3; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perRound; i++) fn();
    const ns = Number(process.hrtime.bigint() - start) / perRound;
    await between();
    if (r >= 3) samples.push(ns); // the first rounds warm the JIT up
  }
  return median(samples);
}

/** The median of `values` (the upper one of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Occurrences per second of `work`, which handles `count` occurrences. */
export async function throughput(count: number, work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** The figures as a table, one line each: scenario, subject, value, ratio against its target, note. */
export function printFigures(figures: readonly Figure[]): void {
  const rows = figures.map((f) => [
    f.scenario,
    f.subject,
    `${f.value >= 100 || Number.isInteger(f.value) ? Math.round(f.value).toLocaleString('en-US') : f.value.toFixed(2)} ${f.unit}`,
    f.ratio === undefined
      ? ''
      : `${Number.isInteger(f.ratio.value) ? f.ratio.value : f.ratio.value.toFixed(2)} ${f.ratio.label} (target ${f.ratio.target}: ${f.ratio.met ? 'met' : 'MISSED'})`,
    f.note ?? '',
  ]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell))
        .join('  ')
        .trimEnd(),
    );
}
