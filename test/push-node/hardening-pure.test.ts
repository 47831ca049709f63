// Pure pieces of the hardening rules: ticket lifetimes, safe defaults, rate limits.
import { describe, expect, it } from "vitest";
import { ticketLifetimeProblem } from "../../push-node/auth/login.js";
import { loadConfig } from "../../push-node/config.js";

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
