// The sweep's search for the highest passing rate: doubling from `start` until a probe fails, then
// bisection between the last pass and the first failure, within a time cap. Pure apart from `probe`.
export interface SearchOptions {
  start: number;
  max: number;
  capMs: number;
  /** Stop bisecting when the interval is narrower than this fraction of the passing rate, or than minStep. */
  resolution: number;
  minStep: number;
  now?: () => number;
}

export interface SearchResult {
  /** The highest rate that passed (0 when none did). */
  ceiling: number;
  /** The lowest rate that failed (Infinity when none did). */
  failedAt: number;
  probes: { rate: number; pass: boolean }[];
  cappedByTime: boolean;
}

export async function searchCeiling(probe: (rate: number) => Promise<boolean>, o: SearchOptions): Promise<SearchResult> {
  const now = o.now ?? Date.now;
  const deadline = now() + o.capMs;
  const probes: SearchResult["probes"] = [];
  const test = async (rate: number) => {
    const pass = await probe(rate);
    probes.push({ rate, pass });
    return pass;
  };
  let lo = 0;
  let hi = Infinity;
  let rate = o.start;
  while (now() < deadline) {
    if (await test(rate)) {
      lo = rate;
      if (rate >= o.max) break;
      rate = Math.min(o.max, rate * 2);
    } else {
      hi = rate;
      break;
    }
  }
  while (Number.isFinite(hi) && hi - lo > Math.max(1, o.minStep, lo * o.resolution) && now() < deadline) {
    const mid = Math.round((lo + hi) / 2);
    if (await test(mid)) lo = mid;
    else hi = mid;
  }
  return { ceiling: lo, failedAt: hi, probes, cappedByTime: now() >= deadline };
}
