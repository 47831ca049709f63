// The NodeBus contract on both homes (in-memory, and Redis on a real redis-server); then the Redis bus's own
// promises: what concurrent publishes send to a node in one tick becomes one stream entry, read back in
// order; a failed write rejects every sender of that entry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { pino } from "pino";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { until } from "../helpers/ports.js";
import { MemoryNodeBus } from "../../push-node/adapters/memory/node-bus.js";
import { RedisNodeBus } from "../../push-node/adapters/redis/node-bus.js";
import type { Envelope, NodeBus } from "../../push-node/ports.js";

let redis: RedisServer;
let client: Redis;
const log = pino({ level: "silent" });
const env = (n: number): Envelope => ({ message: JSON.stringify({ id: `m${n}`, event: "message", data: n, ts: 0 }), to: [{ user: `u${n}`, epoch: "e", offset: `${n}-0`, prev: `${n - 1}-0` }] });
const dataOf = (e: Envelope) => (JSON.parse(e.message) as { data: unknown }).data;

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.port, "127.0.0.1", { enableAutoPipelining: true });
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

const homes: [string, (prefix: string) => NodeBus][] = [
  ["MemoryNodeBus", () => new MemoryNodeBus()],
  ["RedisNodeBus", (prefix) => new RedisNodeBus(client, prefix, log)],
];

describe.each(homes)("NodeBus contract: %s", (name, make) => {
  it("a node's sink gets what is sent to that node, in order, and nothing sent to others; nothing once stopped", async () => {
    const bus = make(`c-${name}`);
    const got: Envelope[] = [];
    const other: Envelope[] = [];
    const stop = await bus.consume("a", { deliver: (envs) => got.push(...envs) });
    const stopOther = await bus.consume("b", { deliver: (envs) => other.push(...envs) });
    await bus.send("a", [env(1), env(2)]);
    await bus.send("a", [env(3)]);
    await bus.send("b", [env(9)]);
    await until(() => got.length === 3 && other.length === 1, "the envelopes read");
    expect(got.map((e) => dataOf(e))).toEqual([1, 2, 3]);
    expect(other.map((e) => dataOf(e))).toEqual([9]);
    await stop();
    await bus.send("a", [env(4)]);
    await bus.send("b", [env(10)]);
    await until(() => other.length === 2, "the other node's next envelope");
    expect(got.map((e) => dataOf(e))).toEqual([1, 2, 3]);
    await stopOther();
  });
});

describe("RedisNodeBus", () => {
  it("writes what one tick sends to a node as one entry, and the node reads every envelope in order", async () => {
    const bus = new RedisNodeBus(client, "t1", log);
    const got: Envelope[] = [];
    const stop = await bus.consume("a", { deliver: (envs) => got.push(...envs) });
    await Promise.all([bus.send("a", [env(1)]), bus.send("b", [env(2)]), bus.send("a", [env(3), env(4)]), bus.send("a", [env(5)])]);
    expect(await client.xlen("t1:{n:a}:bus")).toBe(1);
    expect(await client.xlen("t1:{n:b}:bus")).toBe(1);
    await bus.send("a", [env(6)]);
    expect(await client.xlen("t1:{n:a}:bus")).toBe(2);
    await until(() => got.length === 5, "five envelopes read");
    expect(got.map((e) => dataOf(e))).toEqual([1, 3, 4, 5, 6]);
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
