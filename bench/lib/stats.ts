// Pure arithmetic for results: percentiles, medians with their spread, and CPU accounting.

/** The p-th percentile (0–100) of values, nearest-rank; NaN when there are none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarise(latencies: number[]): LatencySummary {
  const s = Float64Array.from(latencies).sort();
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.length ? s[s.length - 1]! : NaN };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median of the runs with their min and max; NaN values (a figure a run could not produce) are left out. */
export function spread(values: number[]): Spread {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]! };
}

/** CPU ticks (utime+stime) → % of one core over `seconds`. */
export function cpuPercent(ticks: number, ticksPerSecond: number, seconds: number): number {
  return seconds > 0 ? (ticks / ticksPerSecond / seconds) * 100 : NaN;
}

/** CPU ticks → milliseconds of CPU per delivered message. */
export function cpuMsPer(ticks: number, ticksPerSecond: number, delivered: number): number {
  return delivered > 0 ? ((ticks / ticksPerSecond) * 1000) / delivered : NaN;
}
