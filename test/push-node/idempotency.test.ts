// Idempotency keys bound to the message (409 for another message under a used key), and honest failures:
// a 503 names the message, and a resend with idempotencyKey = that id completes it exactly once — over
// HTTP and by the publisher library on its own. Real redis-server; a failing append is a real Redis
// error (a recipient's inbox key holding a string: WRONGTYPE), so the failure is partial and deterministic.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { PUBLISH_KEY, clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, loginTicket, publish, type TestClient } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { createPublisher, StoreUnavailableError } from "../../push-node/index.js";

let redis: RedisServer;
let node: NodeProcess;
let r: Redis;
const open: TestClient[] = [];
beforeAll(async () => {
  redis = await startRedis();
  node = await startNode(clusterEnv(redis.url));
  r = new Redis(redis.port, "127.0.0.1");
});
afterAll(async () => {
  for (const c of open) c.close();
  r?.disconnect();
  await node?.stop();
  await redis?.stop();
});
const pub = (body: unknown) => publish(node.url, body, PUBLISH_KEY);
async function client(user: string) {
  const c = await connect(await loginTicket(node.url, user));
  open.push(c);
  return c;
}
/** The message ids in a user's inbox, oldest first. */
async function inbox(user: string): Promise<string[]> {
  const rows = await r.xrange(`herald:{u:${user}}:inbox`, "-", "+");
  return rows.map(([, f]) => JSON.parse(f[f.indexOf("m") + 1]!).id);
}

describe("idempotency keys bound to the message", () => {
  it("answers 409 IDEMPOTENCY_KEY_REUSED for another message under a used key, and delivers nothing", async () => {
    const alice = await client("idem-alice");
    const bob = await client("idem-bob");
    const first = await pub({ to: ["idem-alice"], data: { v: "first" }, idempotencyKey: "k1" });
    expect(first.status).toBe(202);
    const reused = await pub({ to: ["idem-bob"], data: { v: "second" }, idempotencyKey: "k1" });
    expect([reused.status, reused.body.error.code]).toEqual([409, "IDEMPOTENCY_KEY_REUSED"]);
    for (const other of [{ to: ["idem-alice"], data: { v: "second" } }, { to: ["idem-alice"], data: { v: "first" }, event: "other" }, { to: ["idem-alice", "idem-bob"], data: { v: "first" } }])
      expect((await pub({ ...other, idempotencyKey: "k1" })).status).toBe(409);
    // the same message, written differently (recipient order and repeats, key order, the default event spelled out): a duplicate
    const same = await pub({ idempotencyKey: "k1", event: "message", data: { v: "first" }, to: ["idem-alice", "idem-alice"] });
    expect([same.status, same.body]).toEqual([202, { id: first.body.id, duplicate: true }]);
    const batch = await pub({ messages: [{ to: ["idem-bob"], data: 1, idempotencyKey: "k1" }, { to: ["idem-bob"], data: "after" }] });
    expect(batch.body.results[0].error).toMatchObject({ code: "IDEMPOTENCY_KEY_REUSED", status: 409 });
    // bob's first message is the one published after: nothing came under k1
    expect((await bob.waitFor(1))[0].data).toBe("after");
    await pub({ to: ["idem-alice"], data: "after" });
    expect((await alice.waitFor(2)).map((m) => m.data)).toEqual([{ v: "first" }, "after"]);
    expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(/herald_limit_refusals_total\{limit="idempotency_reuse"\} 5/);
  });
});

describe("a 503 names the message; resending with that id completes it once", () => {
  it("over HTTP: a publish that reached some inboxes is completed, no recipient gets it twice", async () => {
    const users = ["part-1", "part-2", "part-3", "part-4"];
    const clients = await Promise.all(users.map(client));
    await r.set("herald:{u:part-3}:inbox", "not a stream"); // the append for part-3 fails: WRONGTYPE
    const failed = await pub({ to: users, data: { n: 1 } });
    expect(failed.status).toBe(503);
    expect(failed.body.error).toMatchObject({ code: "STORE_UNAVAILABLE", id: expect.any(String), idempotencyKey: failed.body.error.id });
    const id = failed.body.error.id as string;
    expect(await inbox("part-1")).toEqual([id]);
    await r.del("herald:{u:part-3}:inbox");
    const resent = await pub({ to: users, data: { n: 1 }, idempotencyKey: id });
    expect([resent.status, resent.body.id]).toEqual([202, id]);
    const again = await pub({ to: users, data: { n: 1 }, idempotencyKey: id });
    expect(again.body).toEqual({ id, duplicate: true });
    for (const u of users) expect(await inbox(u)).toEqual([id]);
    await pub({ to: users, data: "after" });
    for (const c of clients) expect((await c.waitFor(2)).map((m) => [m.id, m.data])).toEqual([[id, { n: 1 }], [expect.any(String), "after"]]);
  });

  it("the publisher library resends by itself, and reports the id when it gives up", async () => {
    const herald = await createPublisher({ redisUrl: redis.url, retries: 8, retryDelayMs: 100 });
    const giveUp = await createPublisher({ redisUrl: redis.url, retries: 0 });
    try {
      await r.set("herald:{u:lib-2}:inbox", "not a stream");
      const err = await giveUp.publish({ to: ["lib-0", "lib-2"], data: "x" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect((err as StoreUnavailableError).idempotencyKey).toBe((err as StoreUnavailableError).id);
      const pending = herald.publish({ to: ["lib-1", "lib-2"], data: { lib: true } });
      await until(async () => (await inbox("lib-1")).length === 1, "the first attempt to reach lib-1");
      await r.del("herald:{u:lib-2}:inbox");
      const done = await pending;
      expect(await inbox("lib-1")).toEqual([done.id]);
      expect(await inbox("lib-2")).toEqual([done.id]);
    } finally {
      await herald.close();
      await giveUp.close();
    }
  });
});
