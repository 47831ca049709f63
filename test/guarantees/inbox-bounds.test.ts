// Past the inbox's bounds the application is told, not left with a silent hole: trimmed by length,
// expired by time to live (a GAP while the epoch is remembered), forgotten altogether (EPOCH_CHANGED).
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, PUBLISH_KEY, type NodeProcess } from "../helpers/push-node.js";
import { publish } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { memoryStore } from "../../client/index.js";
import { sdkApp, type SdkApp } from "../helpers/sdk.js";

let redis: RedisServer;
let short: NodeProcess; // inboxes of about 10 messages
let brief: NodeProcess; // inboxes that live 1 s (their epoch 4 s)
let r: Redis;
const apps: SdkApp[] = [];

beforeAll(async () => {
  redis = await startRedis();
  [short, brief] = await Promise.all([
    startNode(clusterEnv(redis.url, { HERALD_KEY_PREFIX: "short", HERALD_INBOX_MAX_LENGTH: "10" })),
    startNode(clusterEnv(redis.url, { HERALD_KEY_PREFIX: "brief", HERALD_INBOX_TTL_SECONDS: "1" })),
  ]);
  r = new Redis(redis.port, "127.0.0.1");
});
afterAll(async () => {
  await Promise.all(apps.map((x) => x.close()));
  r?.disconnect();
  await Promise.all([short?.stop(), brief?.stop()]);
  await redis?.stop();
});

function start(node: NodeProcess, user: string, store = memoryStore()) {
  const app = sdkApp(node.url, user, { store });
  apps.push(app);
  return app;
}
async function send(node: NodeProcess, user: string, seq: number) {
  const res = await publish(node.url, { to: [user], data: { seq } }, PUBLISH_KEY);
  expect(res.status).toBe(202);
}

describe("past the inbox's bounds", () => {
  it("a gap left by length trimming is reported, then the rest arrives in order", async () => {
    const store = memoryStore();
    const first = start(short, "trimmed", store);
    await first.until(() => first.client.state === "connected", "connected");
    await send(short, "trimmed", 1);
    await first.until(() => first.seqs.length === 1, "seq 1");
    const had = first.client.position!;
    await first.close();
    // 400 more while the user is away; the inbox keeps only the newest (about 10, trimming is approximate)
    const batch = Array.from({ length: 400 }, (_, i) => ({ to: ["trimmed"], data: { seq: i + 2 } }));
    const res = await publish(short.url, { messages: batch }, PUBLISH_KEY);
    expect(res.body.accepted).toBe(400);
    expect(await r.xlen("short:{u:trimmed}:inbox")).toBeLessThan(400);

    const back = start(short, "trimmed", store);
    await back.until(() => back.seqs.includes(401), "seq 401");
    expect(back.gaps).toEqual([{ reason: "GAP", from: had, epoch: had.epoch, detectedBy: "recovery" }]);
    // what is left is the newest run, complete and in order
    const from = back.seqs[0]!;
    expect(from).toBeGreaterThan(2);
    expect(back.seqs).toEqual(Array.from({ length: 401 - from + 1 }, (_, i) => from + i));
  });

  it("an expired inbox is reported as a gap, a forgotten one as an epoch change", async () => {
    const store = memoryStore();
    const first = start(brief, "expiring", store);
    await first.until(() => first.client.state === "connected", "connected");
    await send(brief, "expiring", 1);
    await first.until(() => first.seqs.length === 1, "seq 1");
    const had = first.client.position!;
    await first.close();
    await send(brief, "expiring", 2); // missed: it expires before the user is back
    await until(async () => (await r.exists("brief:{u:expiring}:inbox")) === 0, "the inbox to expire", 10_000);

    const back = start(brief, "expiring", store);
    await back.until(() => back.gaps.length === 1, "the gap report");
    expect(back.gaps[0]).toEqual({ reason: "GAP", from: had, epoch: had.epoch, detectedBy: "recovery" });
    await send(brief, "expiring", 3);
    await back.until(() => back.seqs.includes(3), "seq 3");
    expect(back.seqs).toEqual([3]);

    // idle past the epoch's own lifetime: the next message comes from a new inbox, and the client says so
    const kept = back.client.position!;
    await until(async () => (await r.exists("brief:{u:expiring}:meta")) === 0, "the inbox's epoch to be forgotten", 15_000);
    await send(brief, "expiring", 4);
    await back.until(() => back.seqs.includes(4), "seq 4");
    expect(back.gaps).toHaveLength(2);
    expect(back.gaps[1]).toMatchObject({ reason: "EPOCH_CHANGED", from: kept, detectedBy: "message" });
    expect(back.messages.at(-1)!.epoch).not.toBe(kept.epoch);
    expect(back.messages.at(-1)!.prev).toBe("0-0");
  });
});
