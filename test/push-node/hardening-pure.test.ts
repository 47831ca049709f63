// Pure pieces of the hardening rules: ticket lifetimes, safe defaults, rate limits.
import { describe, expect, it } from "vitest";
import { ticketLifetimeProblem } from "../../push-node/auth/login.js";
import { loadConfig } from "../../push-node/config.js";
import { RateLimiter, refill, take, type Bucket } from "../../push-node/limits/token-bucket.js";
import { clientIp, trustedProxies } from "../../push-node/http/client-ip.js";

describe("ticket lifetime", () => {
  const rules = { maxLifetimeSeconds: 300, clockSkewSeconds: 30 };
  const now = 1_000_000;
  it("requires exp", () => {
    expect(ticketLifetimeProblem({}, now, rules)).toMatch(/exp/);
    expect(ticketLifetimeProblem({ iat: 946_684_800 }, now, rules)).toMatch(/exp/);
    expect(ticketLifetimeProblem({ exp: "soon" }, now, rules)).toMatch(/exp/);
  });
  it("bounds exp − iat and exp − now", () => {
    expect(ticketLifetimeProblem({ iat: now, exp: now + 300 }, now, rules)).toBeNull();
    expect(ticketLifetimeProblem({ iat: now, exp: now + 301 }, now, rules)).toMatch(/limit is 300/);
    expect(ticketLifetimeProblem({ exp: now + 330 }, now, rules)).toBeNull();
    expect(ticketLifetimeProblem({ exp: now + 331 }, now, rules)).toMatch(/limit is 300/);
    expect(ticketLifetimeProblem({ iat: now + 30, exp: now + 330 }, now, rules)).toBeNull();
    expect(ticketLifetimeProblem({ iat: now + 31, exp: now + 100 }, now, rules)).toMatch(/future/);
    expect(ticketLifetimeProblem({ iat: "x", exp: now + 1 }, now, rules)).toMatch(/iat/);
  });
});

describe("safe default", () => {
  it("binds the embedded mode to loopback unless HOST is set", () => {
    expect(loadConfig({}).host).toBe("127.0.0.1");
    expect(loadConfig({ HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
    const cluster = { REDIS_URL: "redis://x", HERALD_AUTH_MODE: "ticket", HERALD_TICKET_SECRET: "s".repeat(32), HERALD_TOKEN_SECRET: "t".repeat(32), HERALD_PUBLISH_KEYS: "k" };
    expect(loadConfig(cluster).host).toBe("0.0.0.0");
  });
});

describe("token bucket", () => {
  const rate = { perMinute: 60, burst: 3 };
  it("allows a burst, then one a second, and says how long to wait", () => {
    let b = undefined as Bucket | undefined;
    for (let i = 0; i < 3; i++) {
      const r = take(b, rate, 0);
      expect(r.ok).toBe(true);
      b = r.bucket;
    }
    const refused = take(b, rate, 0);
    expect(refused).toMatchObject({ ok: false, retryAfterMs: 1000 });
    expect(take(b, rate, 500)).toMatchObject({ ok: false, retryAfterMs: 500 });
    expect(take(b, rate, 1000).ok).toBe(true);
    expect(refill(b, rate, 3_600_000).tokens).toBe(3);
  });

  it("keeps keys apart, turns off at 0, and bounds its memory", () => {
    let now = 0;
    const l = new RateLimiter({ perMinute: 60, burst: 2 }, 100, () => now);
    expect([l.take("a"), l.take("a"), l.take("a")]).toEqual([null, null, 1000]);
    expect(l.take("b")).toBeNull();
    expect(l.take("a", 10)).toBe(2000); // a cost above the burst waits for a full bucket, not for ever
    now = 2000;
    expect(l.take("a", 10)).toBeNull();
    for (let i = 0; i < 1000; i++) l.take(`k${i}`);
    expect(l.size).toBeLessThanOrEqual(100);
    const off = new RateLimiter({ perMinute: 0, burst: 0 });
    for (let i = 0; i < 10; i++) expect(off.take("x")).toBeNull();
  });
});

describe("client address", () => {
  const trusted = trustedProxies(["10.0.0.0/8", "127.0.0.1"]);
  it("believes X-Forwarded-For only from trusted proxies, read from the right", () => {
    expect(clientIp("203.0.113.9", "1.2.3.4", trusted)).toBe("203.0.113.9");
    expect(clientIp("127.0.0.1", "1.2.3.4", trusted)).toBe("1.2.3.4");
    expect(clientIp("::ffff:127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.2.3", trusted)).toBe("1.2.3.4");
    expect(clientIp("10.0.0.1", "10.0.0.2", trusted)).toBe("10.0.0.2");
    expect(clientIp("10.0.0.1", "not-an-ip", trusted)).toBe("10.0.0.1");
    expect(clientIp("10.0.0.1", ["1.1.1.1", "2.2.2.2"], trusted)).toBe("2.2.2.2");
    expect(clientIp("127.0.0.1", "1.2.3.4", trustedProxies([]))).toBe("127.0.0.1");
  });
  it("refuses a bad proxy entry in the configuration", () => {
    expect(() => trustedProxies(["10.0.0.0/33"])).toThrow(/prefix/);
    expect(() => loadConfig({ HERALD_TRUSTED_PROXIES: "10.0.0.0/8, nope" })).toThrow(/HERALD_TRUSTED_PROXIES.*nope/s);
  });
});
