// Ten thousand messages wait for one user: the replay reaches the SDK complete and in order, and the
// node reads the inbox in pages, so its memory stays far below the size of the backlog. The node runs
// with a 48 MB old-space cap: one that held the 160 MB backlog would die of it. (Without the cap V8 lets
// garbage pile up before collecting, so RSS would track throughput, not what the node holds.)
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { createPublisher } from "../../push-node/index.js";
import { sdkApp, type SdkApp } from "../helpers/sdk.js";

const COUNT = 10_000;
const PAD = "x".repeat(16_000); // ~16 KB per message: a 160 MB backlog

let redis: RedisServer;
let node: NodeProcess;
let app: SdkApp | undefined;

beforeAll(async () => {
  redis = await startRedis();
  node = await startNode({ ...clusterEnv(redis.url, { HERALD_INBOX_MAX_LENGTH: String(2 * COUNT) }), NODE_OPTIONS: "--max-old-space-size=48" });
});
afterAll(async () => {
  await app?.close();
  await node?.stop();
  await redis?.stop();
});

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

describe("a backlog of ten thousand messages", () => {
  it("is replayed in order with the node's memory bounded", async () => {
    const user = "backlog-user";
    // written straight into Redis by the publisher library, so that the node's memory is not disturbed
    const publisher = await createPublisher({ redisUrl: redis.url, inboxMaxLength: 2 * COUNT });
    try {
      for (let i = 0; i < COUNT; i += 100)
        await Promise.all(Array.from({ length: 100 }, (_, j) => i + j + 1).map((seq) => publisher.publish({ to: [user], data: { seq, pad: PAD } })));
    } finally {
      await publisher.close();
    }
    const pid = node.proc.pid!;
    const before = rssBytes(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 10);
    const started = Date.now();
    app = sdkApp(node.url, user);
    try {
      await app.until(() => app!.seqs.length >= COUNT, `${COUNT} messages`, 60_000);
    } finally {
      clearInterval(sampler);
    }
    const ms = Date.now() - started;
    peak = Math.max(peak, rssBytes(pid));
    const backlog = COUNT * PAD.length;
    console.log(`replay of ${COUNT} messages (${(backlog / 1e6).toFixed(0)} MB) in ${ms} ms; node RSS ${(before / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB (+${((peak - before) / 1e6).toFixed(1)} MB)`);
    expect(app.seqs).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    expect(app.gaps).toEqual([]);
    expect(app.client.stats.duplicatesDropped).toBe(0);
    // holding the backlog at once would cost more than its size; pages of 200 cost a few MB
    expect(node.proc.exitCode).toBeNull();
    expect(peak - before).toBeLessThan(backlog / 2);
  });
});
