// The Redis node bus on a real redis-server: what concurrent publishes send to a node in one tick becomes one
// stream entry, read back in order; a failed write rejects every sender of that entry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { pino } from "pino";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { until } from "../helpers/ports.js";
import { RedisNodeBus } from "../../push-node/bus/redis-node-bus.js";
import type { Envelope } from "../../push-node/bus/node-bus.js";

let redis: RedisServer;
let client: Redis;
const log = pino({ level: "silent" });
const env = (n: number): Envelope => ({ message: { id: `m${n}`, event: "message", data: n, ts: 0 }, to: [{ user: `u${n}`, epoch: "e", offset: `${n}-0`, prev: `${n - 1}-0` }] });

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.port, "127.0.0.1", { enableAutoPipelining: true });
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

describe("RedisNodeBus", () => {
  it("writes what one tick sends to a node as one entry, and the node reads every envelope in order", async () => {
    const bus = new RedisNodeBus(client, "t1", log);
    const got: Envelope[] = [];
    const stop = await bus.consume("a", (envs) => got.push(...envs));
    await Promise.all([bus.send("a", [env(1)]), bus.send("b", [env(2)]), bus.send("a", [env(3), env(4)]), bus.send("a", [env(5)])]);
    expect(await client.xlen("t1:{n:a}:bus")).toBe(1);
    expect(await client.xlen("t1:{n:b}:bus")).toBe(1);
    await bus.send("a", [env(6)]);
    expect(await client.xlen("t1:{n:a}:bus")).toBe(2);
    await until(() => got.length === 5, "five envelopes read");
    expect(got.map((e) => e.message.data)).toEqual([1, 3, 4, 5, 6]);
    await stop();
  });

  it("rejects every send of an entry that could not be written", async () => {
    const broken = new Redis(redis.port, "127.0.0.1", { enableAutoPipelining: true, lazyConnect: true, enableOfflineQueue: false });
    broken.on("error", () => {}); // expected: it never connects
    const bus = new RedisNodeBus(broken, "t2", log);
    const sends = [bus.send("a", [env(1)]), bus.send("a", [env(2)])];
    for (const s of sends) await expect(s).rejects.toThrow();
    broken.disconnect();
  });
});
