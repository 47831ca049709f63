// The finalizer's removal of a cluster's Redis keys, on real Redis servers: bounded steps that resume
// from their cursors (as an operator restarted mid-cleanup does from the PushCluster's status), only
// keys under `<prefix>:`, and single-key UNLINKs that a Redis Cluster accepts across slots.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { RedisPool, deletePrefixStep, type CleanupCursors } from "../../operator/redis-ops.js";
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from "../helpers/redis.js";

let redis: RedisServer;
let cluster: RedisCluster;
const pool = new RedisPool();

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startRedisCluster(3);
}, 60_000);
afterAll(async () => {
  await pool.close();
  await redis?.stop();
  await cluster?.stop();
});

async function fill(client: { set: (k: string, v: string) => Promise<unknown> } & { pipeline?: unknown }, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map((k) => client.set(k, "v")));
}

describe("bounded cleanup of a cluster's Redis keys", () => {
  it("removes only <prefix>:* in bounded steps that resume from their cursors", async () => {
    const r = new Redis(redis.url);
    try {
      await fill(r, Array.from({ length: 12_000 }, (_, i) => `apps.big:inbox:{u${i}}`));
      await fill(r, ["apps.big2:keep", "someone:else", "apps.bigger:keep"]);
      const client = pool.client(redis.url, "standalone");
      let cursors: CleanupCursors = {};
      const steps: number[] = [];
      for (let i = 0; i < 20; i++) {
        // each step as a fresh pass would run it: only the cursors carry over (as through the status)
        const step = await deletePrefixStep(client, "apps.big", JSON.parse(JSON.stringify(cursors)), 2_000);
        steps.push(step.deleted);
        cursors = step.cursors;
        if (step.done) break;
      }
      // A step stops once it reaches its limit, within one SCAN batch (COUNT 1000 is a hint: a batch taken
      // while Redis rehashes its key table holds keys of both tables, so allow up to 3,000 over).
      for (const n of steps.slice(0, -1)) {
        expect(n).toBeGreaterThanOrEqual(2_000);
        expect(n).toBeLessThan(2_000 + 3_000);
      }
      expect(steps.length).toBeGreaterThanOrEqual(3); // so 12,000 keys take at least three steps
      expect(steps.reduce((a, b) => a + b, 0)).toBe(12_000);
      expect(await r.keys("apps.big:*")).toEqual([]);
      expect((await r.keys("*")).sort()).toEqual(["apps.big2:keep", "apps.bigger:keep", "someone:else"]);
      // a finished cleanup stays finished
      expect(await deletePrefixStep(client, "apps.big", cursors)).toEqual({ deleted: 0, cursors, done: true });
    } finally {
      r.disconnect();
    }
  });

  it("works on a Redis Cluster: every master scanned, keys in many slots removed one per command", async () => {
    const client = pool.client(cluster.url, "cluster");
    const keys = Array.from({ length: 3_000 }, (_, i) => `apps.c:inbox:{user-${i}}`);
    await fill(client as any, [...keys, "apps.c2:keep"]);
    let cursors: CleanupCursors = {};
    let total = 0;
    for (let i = 0; i < 20; i++) {
      const step = await deletePrefixStep(client, "apps.c", cursors, 1_000);
      total += step.deleted;
      cursors = step.cursors;
      if (step.done) break;
    }
    expect(total).toBe(3_000);
    expect(Object.keys(cursors)).toHaveLength(3);
    expect(Object.values(cursors)).toEqual(["0", "0", "0"]);
    expect(await client.get("apps.c2:keep")).toBe("v");
    expect(await client.exists(keys[0]!, )).toBe(0);
  });
});
