// The SDK's decisions, without I/O: what to do with a message, how long to wait, when to renew a token,
// and where the position is kept.
import { describe, expect, it } from "vitest";
import { backoffDelay, classify, compareOffsets, localStorageStore, memoryStore, sessionTimes } from "../../client/index.js";

const at = (epoch: string, offset: string, prev: string) => ({ epoch, offset, prev });

describe("classify", () => {
  const pos = { epoch: "e1", offset: "100-3" };
  it("takes anything first, when there is no position", () => {
    expect(classify(null, at("e1", "5-0", "4-0"))).toEqual({ kind: "next" });
  });
  it("takes the message that follows the position", () => {
    expect(classify(pos, at("e1", "101-0", "100-3"))).toEqual({ kind: "next" });
  });
  it("drops what is at or before the position (no set of seen ids)", () => {
    expect(classify(pos, at("e1", "100-3", "100-2"))).toEqual({ kind: "duplicate" });
    expect(classify(pos, at("e1", "99-0", "98-0"))).toEqual({ kind: "duplicate" });
    expect(classify(pos, at("e1", "100-2", "100-1"))).toEqual({ kind: "duplicate" });
  });
  it("reports a hole: prev after the position (missed), or before it (the inbox rolled back)", () => {
    expect(classify(pos, at("e1", "105-0", "104-0"))).toEqual({ kind: "gap", reason: "GAP" });
    expect(classify(pos, at("e1", "105-0", "90-0"))).toEqual({ kind: "gap", reason: "GAP" });
  });
  it("reports another epoch, whatever its offsets", () => {
    expect(classify(pos, at("e2", "1-0", "0-0"))).toEqual({ kind: "gap", reason: "EPOCH_CHANGED" });
    expect(classify(pos, at("e2", "200-0", "100-3"))).toEqual({ kind: "gap", reason: "EPOCH_CHANGED" });
  });
  it("after a reported gap, takes the next run without reporting again, but still drops duplicates", () => {
    expect(classify(pos, at("e1", "105-0", "104-0"), true)).toEqual({ kind: "next" });
    expect(classify(pos, at("e2", "1-0", "0-0"), true)).toEqual({ kind: "next" });
    expect(classify(pos, at("e1", "100-1", "100-0"), true)).toEqual({ kind: "duplicate" });
  });
  it("compares offsets numerically, ms then seq", () => {
    expect(compareOffsets("999-0", "1000-0")).toBeLessThan(0);
    expect(compareOffsets("1000-10", "1000-9")).toBeGreaterThan(0);
    expect(compareOffsets("1000-9", "1000-9")).toBe(0);
  });
});

describe("backoffDelay", () => {
  const opts = { initialMs: 100, maxMs: 1000 };
  it("grows exponentially up to the cap, jittered between half and all of the ceiling", () => {
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 0)).toBe(400);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
    expect(backoffDelay(1000, opts, () => 0.5)).toBe(750);
  });
  it("spreads clients dropped together", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, opts)));
    expect(delays.size).toBeGreaterThan(10);
  });
});

describe("sessionTimes", () => {
  const jwt = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;
  it("uses the token's own lifetime (exp - iat), immune to clock skew, and renews at 80% (at most a minute early)", () => {
    const now = 1_000_000;
    const skewed = new Date(now + 3_600_000).toISOString(); // the server's clock is an hour ahead
    expect(sessionTimes(jwt({ iat: 100, exp: 110 }), skewed, now)).toEqual({ expiresAt: now + 10_000, refreshAt: now + 8_000 });
    expect(sessionTimes(jwt({ iat: 100, exp: 700 }), skewed, now)).toEqual({ expiresAt: now + 600_000, refreshAt: now + 540_000 });
  });
  it("falls back to expiresAt when the token is opaque", () => {
    expect(sessionTimes("opaque", new Date(20_000).toISOString(), 10_000)).toEqual({ expiresAt: 20_000, refreshAt: 18_000 });
  });
});

describe("position stores", () => {
  it("memory: keeps the position for this process", () => {
    const s = memoryStore();
    expect(s.load()).toBeNull();
    s.save({ epoch: "e", offset: "1-0" });
    expect(s.load()).toEqual({ epoch: "e", offset: "1-0" });
  });
  it("localStorage: survives a new store over the same storage, ignores junk", () => {
    const map = new Map<string, string>();
    const storage = { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v), removeItem: (k: string) => void map.delete(k) };
    localStorageStore("pos", storage).save({ epoch: "e", offset: "7-1" });
    expect(localStorageStore("pos", storage).load()).toEqual({ epoch: "e", offset: "7-1" });
    map.set("pos", "{not json");
    expect(localStorageStore("pos", storage).load()).toBeNull();
    map.set("pos", JSON.stringify({ epoch: "e", offset: "nope" }));
    expect(localStorageStore("pos", storage).load()).toBeNull();
  });
  it("localStorage: says so when there is none", () => {
    expect(() => localStorageStore("pos")).toThrow(/no localStorage/);
  });
});
