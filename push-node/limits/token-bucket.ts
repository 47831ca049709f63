// Token buckets: pure arithmetic plus one small in-memory keyed store. Each node keeps its own buckets,
// so a limit holds per node (N nodes behind a load balancer let through up to N times as much).

/** A bucket holds up to `burst` tokens and gains `perMinute` tokens a minute, continuously. */
export interface Rate {
  perMinute: number;
  burst: number;
}

export interface Bucket {
  tokens: number;
  /** When `tokens` was last computed (ms). */
  at: number;
}

export type Taken = { ok: true; bucket: Bucket } | { ok: false; bucket: Bucket; retryAfterMs: number };

/** The bucket refilled up to `now`. */
export function refill(bucket: Bucket | undefined, rate: Rate, now: number): Bucket {
  if (!bucket) return { tokens: rate.burst, at: now };
  const gained = (Math.max(0, now - bucket.at) * rate.perMinute) / 60_000;
  return { tokens: Math.min(rate.burst, bucket.tokens + gained), at: now };
}

/** Takes `cost` tokens if the bucket has them; otherwise says how long until it will. */
export function take(bucket: Bucket | undefined, rate: Rate, now: number, cost = 1): Taken {
  const b = refill(bucket, rate, now);
  if (b.tokens >= cost) return { ok: true, bucket: { tokens: b.tokens - cost, at: now } };
  const missing = Math.min(cost, rate.burst) - b.tokens;
  return { ok: false, bucket: b, retryAfterMs: Math.max(1, Math.ceil((missing * 60_000) / rate.perMinute)) };
}

/**
 * Buckets by key (a Map: keys come from clients). A perMinute of 0 turns the limit off. At most
 * `maxKeys` buckets are kept: past it, full buckets (which mean nothing) are dropped, then the oldest.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  constructor(readonly rate: Rate, private readonly maxKeys = 100_000, private readonly clock: () => number = Date.now) {}

  get enabled(): boolean {
    return this.rate.perMinute > 0 && this.rate.burst > 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes `cost` tokens for `key`: null when allowed, else the milliseconds to wait. */
  take(key: string, cost = 1): number | null {
    if (!this.enabled) return null;
    const now = this.clock();
    // a request costing more than the whole bucket empties a full bucket instead of waiting forever
    const r = take(this.buckets.get(key), this.rate, now, Math.min(cost, this.rate.burst));
    this.buckets.delete(key); // re-inserted last: Map order is then least recently used first
    this.buckets.set(key, r.bucket);
    if (this.buckets.size > this.maxKeys) this.prune(now);
    return r.ok ? null : r.retryAfterMs;
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (refill(b, this.rate, now).tokens >= this.rate.burst) this.buckets.delete(k);
    for (const k of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys * 0.9) break;
      this.buckets.delete(k);
    }
  }
}
