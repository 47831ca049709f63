// The per-request rate limits of logins and publishes (token buckets in this node's memory; docs/security.md).
import type { Config } from "../config.js";
import type { LimitName, Metrics } from "../metrics.js";
import { Refusal } from "../refusal.js";
import { RateLimiter } from "./token-bucket.js";

export type RequestLimit = "login_ip" | "login_user" | "publish_key";

export class RequestLimits {
  private readonly limiters: Record<RequestLimit, RateLimiter>;

  constructor(rates: Config["rates"], private readonly metrics: Metrics) {
    const perMinute = (n: number) => ({ perMinute: n, burst: n });
    this.limiters = {
      login_ip: new RateLimiter(perMinute(rates.loginPerIp)),
      login_user: new RateLimiter(perMinute(rates.loginPerUser)),
      publish_key: new RateLimiter(perMinute(rates.publishPerKey)),
    } satisfies Partial<Record<LimitName, RateLimiter>>;
  }

  /** Takes `cost` from the key's bucket; a 429 RATE_LIMITED refusal (with Retry-After) when it is empty. */
  take(name: RequestLimit, key: string, cost = 1): void {
    const waitMs = this.limiters[name].take(key, cost);
    if (waitMs === null) return;
    this.metrics.refusals.inc({ limit: name });
    const seconds = Math.ceil(waitMs / 1000);
    throw new Refusal(429, "RATE_LIMITED", `too many requests (${name.replace("_", " per ")}); retry after ${seconds} s`, { limit: name, retryAfterSeconds: seconds }, { "retry-after": String(seconds) });
  }
}
