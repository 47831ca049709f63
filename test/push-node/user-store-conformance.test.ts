// One contract, two homes: the same cases run against MemoryUserStore (embedded mode) and
// RedisUserStore (a real redis-server), so "same semantics" is checked rather than promised.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis, type RedisClient } from "../../common/redis.js";
import { START, compareOffsets } from "../../protocol/positions.js";
import { MemoryUserStore } from "../../push-node/adapters/memory/user-store.js";
import { RedisUserStore } from "../../push-node/adapters/redis/user-store.js";
import type { StoredMessage, UserStore } from "../../push-node/ports.js";
import { entryEnvelopes } from "../../push-node/adapters/redis/node-bus.js";
import { keys } from "../../protocol/keys.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";

const bounds = { ttlMs: 60_000, maxLength: 1000 };
const message = (data: unknown = null): StoredMessage => ({ id: randomUUID(), event: "message", data, ts: Date.now() });
const user = () => `u-${randomUUID()}`;

let redis: RedisServer;
let client: RedisClient;
beforeAll(async () => {
  redis = await startRedis();
  client = createRedis({ urls: [redis.url], mode: "standalone" });
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

const homes: [string, () => UserStore][] = [
  ["MemoryUserStore", () => new MemoryUserStore(bounds)],
  ["RedisUserStore", () => new RedisUserStore(client, `conf-${randomUUID().slice(0, 8)}`, bounds)],
];

describe.each(homes)("UserStore contract: %s", (_name, make) => {
  it("appends in order: one epoch per inbox, each entry's prev is the offset before it", async () => {
    const store = make();
    const u = user();
    const a = await store.append(u, message(1), false);
    const b = await store.append(u, message(2), false);
    expect(a.prev).toBe(START);
    expect(compareOffsets(a.offset, START)).toBeGreaterThan(0);
    expect(b.epoch).toBe(a.epoch);
    expect(b.prev).toBe(a.offset);
    expect(compareOffsets(b.offset, a.offset)).toBeGreaterThan(0);
  });

  it("reads after an offset (exclusive), oldest first, at most limit entries, with the data as stored", async () => {
    const store = make();
    const u = user();
    const appended = [];
    for (const data of [{ a: 1 }, [1, "two"], "three", 4]) appended.push(await store.append(u, message(data), false));
    const all = await store.read(u, START, 10);
    expect(all.map((e) => e.message.data)).toEqual([{ a: 1 }, [1, "two"], "three", 4]);
    expect(all.map((e) => e.offset)).toEqual(appended.map((a) => a.offset));
    expect(all.map((e) => e.prev)).toEqual(appended.map((a) => a.prev));
    const page = await store.read(u, appended[0]!.offset, 2);
    expect(page.map((e) => e.offset)).toEqual([appended[1]!.offset, appended[2]!.offset]);
    expect(await store.read(user(), START, 10)).toEqual([]);
  });

  it("attach records presence and returns the inbox head at that instant; append reports it", async () => {
    const store = make();
    const u = user();
    expect(await store.attach(u, "n1", "inc-1")).toEqual({ epoch: null, last: START });
    const a = await store.append(u, message(), false);
    expect(a.nodes).toEqual({ n1: "inc-1" });
    expect(await store.attach(u, "n2", "inc-2")).toEqual({ epoch: a.epoch, last: a.offset });
    expect((await store.append(u, message(), false)).nodes).toEqual({ n1: "inc-1", n2: "inc-2" });
  });

  it("head reads the inbox head without recording presence", async () => {
    const store = make();
    const u = user();
    expect(await store.head(u)).toEqual({ epoch: null, last: START });
    const a = await store.append(u, message(), false);
    expect(a.nodes).toEqual({});
    const b = await store.append(u, message(), false);
    expect(await store.head(u)).toEqual({ epoch: a.epoch, last: b.offset });
    expect((await store.append(u, message(), false)).nodes).toEqual({}); // head recorded no one
  });

  it("detach removes presence only for the incarnation that recorded it", async () => {
    const store = make();
    const u = user();
    await store.attach(u, "n1", "inc-new");
    await store.detach(u, "n1", "inc-old");
    expect((await store.append(u, message(), false)).nodes).toEqual({ n1: "inc-new" });
    await store.detach(u, "n1", "inc-new");
    expect((await store.append(u, message(), false)).nodes).toEqual({});
  });

  it("with dedupe, the same message id appended since then keeps its first position; without, it is appended again", async () => {
    const store = make();
    const u = user();
    const m = message("once");
    const since = { sinceMs: Date.now() - 60_000 };
    const first = await store.append(u, m, since);
    await store.append(u, message("other"), false);
    const again = await store.append(u, m, since);
    expect({ offset: again.offset, prev: again.prev, epoch: again.epoch }).toEqual({ offset: first.offset, prev: first.prev, epoch: first.epoch });
    expect(await store.read(u, START, 10)).toHaveLength(2);
    // the first attempt needs no mark of its own: a plain append is found by a later dedupe too
    const plain = message("plain");
    const p1 = await store.append(u, plain, false);
    expect((await store.append(u, plain, since)).offset).toBe(p1.offset);
    // an entry older than `sinceMs` is not searched
    const late = await store.append(u, m, { sinceMs: Date.now() + 60_000 });
    expect(late.offset).not.toBe(first.offset);
    const again2 = await store.append(u, m, false);
    expect(again2.prev).toBe(late.offset);
  });

  it("acks move forward only within an epoch, per device", async () => {
    const store = make();
    const u = user();
    const a = await store.append(u, message(), false);
    const b = await store.append(u, message(), false);
    await store.ack(u, "phone", { epoch: a.epoch, offset: b.offset });
    await store.ack(u, "phone", { epoch: a.epoch, offset: a.offset });
    await store.ack(u, "web", { epoch: a.epoch, offset: a.offset });
    expect(await store.acks(u)).toEqual(new Map([["phone", { epoch: a.epoch, offset: b.offset }], ["web", { epoch: a.epoch, offset: a.offset }]]));
    await store.ack(u, "phone", { epoch: "another", offset: "1-0" });
    expect((await store.acks(u)).get("phone")).toEqual({ epoch: "another", offset: "1-0" });
    expect(await store.acks(user())).toEqual(new Map());
    // device ids named like Object.prototype members are ordinary keys
    for (const d of ["__proto__", "constructor", "toString"]) await store.ack(u, d, { epoch: a.epoch, offset: a.offset });
    const acks = await store.acks(u);
    for (const d of ["__proto__", "constructor", "toString"]) expect(acks.get(d)).toEqual({ epoch: a.epoch, offset: a.offset });
    expect(acks.size).toBe(5);
  });

  it("claim binds an idempotency key to its first id and digest for the window", async () => {
    const store = make();
    const key = `k-${randomUUID()}`;
    expect(await store.claim(key, "id-1", "d1", 60_000)).toEqual({ id: "id-1", digest: "d1", claimed: true });
    expect(await store.claim(key, "id-2", "d2", 60_000)).toEqual({ id: "id-1", digest: "d1", claimed: false });
    expect(await store.claim(`${key}-other`, "id-3", "d3", 60_000)).toEqual({ id: "id-3", digest: "d3", claimed: true });
  });
});

describe("RedisUserStore on a single Redis: the append sends to the nodes in the same script", () => {
  const envelopes = async (prefix: string, node: string) => {
    const rows = await client.xrange(keys(prefix).nodeBus(node), "-", "+");
    return rows.map(([, fields]) => entryEnvelopes(fields));
  };

  it("puts one envelope on the stream of each node in the presence, at the inbox position, and says so", async () => {
    const prefix = `send-${randomUUID().slice(0, 8)}`;
    const store = new RedisUserStore(client, prefix, bounds);
    const u = user();
    await store.attach(u, "node-a", "inc-a");
    await store.attach(u, "node-b", "inc-b");
    const m = message({ text: "hé \"quoted\"", n: [1, 2] });
    const a = await store.append(u, m, false);
    expect(a.sent).toBe(true);
    expect(a.nodes).toEqual({ "node-a": "inc-a", "node-b": "inc-b" });
    for (const node of ["node-a", "node-b"])
      expect(await envelopes(prefix, node)).toEqual([[{ message: JSON.stringify(m), to: [{ user: u, epoch: a.epoch, offset: a.offset, prev: a.prev }] }]]);
    expect(await envelopes(prefix, "node-c")).toEqual([]);
  });

  it("a resend found by dedupe is sent again at its first position (the node drops the repeat)", async () => {
    const prefix = `send-${randomUUID().slice(0, 8)}`;
    const store = new RedisUserStore(client, prefix, bounds);
    const u = user();
    await store.attach(u, "node-a", "inc-a");
    const m = message("once");
    const first = await store.append(u, m, false);
    const again = await store.append(u, { ...m, ts: m.ts + 1 }, { sinceMs: Date.now() - 60_000 });
    expect(again.offset).toBe(first.offset);
    const sent = await envelopes(prefix, "node-a");
    expect(sent).toHaveLength(2);
    expect(sent[1]![0]!.to[0]!.offset).toBe(first.offset);
    expect(sent[1]![0]!.message).toEqual(JSON.stringify(m)); // the stored message, as first appended
  });

  it("with sendToNodes off (as on a Redis Cluster) it only reports the presence", async () => {
    const prefix = `send-${randomUUID().slice(0, 8)}`;
    const store = new RedisUserStore(client, prefix, bounds, { sendToNodes: false });
    const u = user();
    await store.attach(u, "node-a", "inc-a");
    const a = await store.append(u, message(), false);
    expect(a.sent).toBe(false);
    expect(a.nodes).toEqual({ "node-a": "inc-a" });
    expect(await envelopes(prefix, "node-a")).toEqual([]);
  });
});
