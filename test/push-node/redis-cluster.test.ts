// Push nodes on a real 3-master Redis Cluster: keys spread over the masters, no CROSSSLOT, delivery across nodes,
// and the publisher library writing into the cluster directly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startRedisCluster, type RedisCluster } from "../helpers/redis.js";
import { clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, loginTicket, publish, type TestClient } from "../helpers/client.js";
import { createPublisher } from "../../push-node/index.js";
import { until } from "../helpers/ports.js";

let cluster: RedisCluster;
const nodes: NodeProcess[] = [];
const open: TestClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  for (let i = 0; i < 2; i++) nodes.push(await startNode(clusterEnv(cluster.url, { REDIS_MODE: "cluster", HERALD_NODE_ID: `c-${i}` })));
});
afterAll(async () => {
  for (const c of open) c.close();
  await Promise.all(nodes.map((n) => n.stop()));
  await cluster?.stop();
});

describe("push nodes on a Redis Cluster", () => {
  it("delivers across nodes, spreads keys over more than one master, and never fails with CROSSSLOT", async () => {
    await until(async () => new Set(await Promise.all(Array.from({ length: 12 }, async (_, i) => (await loginTicket(nodes[0]!.url, `cu-${i}`)).node.id))).size === 2, "both nodes in the assignment");
    const users = Array.from({ length: 40 }, (_, i) => `cu-${i}`);
    const clients = await Promise.all(users.map(async (u) => connect(await loginTicket(nodes[0]!.url, u))));
    open.push(...clients);
    expect(new Set(clients.map((c) => (c.socket.io as unknown as { uri: string }).uri)).size).toBe(2);
    const r = await publish(nodes[1]!.url, { to: users, data: "to all forty" });
    expect(r.status).toBe(202);
    for (const c of clients) expect((await c.waitFor(1))[0].id).toBe(r.body.id);

    const perMaster = await Promise.all(
      cluster.ports.map(async (port) => {
        const r = new Redis({ port, host: "127.0.0.1" });
        const n = await r.dbsize();
        r.disconnect();
        return n;
      }),
    );
    expect(perMaster.filter((n) => n > 0).length).toBeGreaterThan(1);
    for (const n of nodes) {
      const text = await (await fetch(`${n.url}/metrics`)).text();
      expect(text).toMatch(/herald_redis_errors_total 0/);
      expect(n.logs()).not.toMatch(/CROSSSLOT/);
    }
  });

  it("accepts messages from the publisher library and delivers them once per idempotency key", async () => {
    const publisher = await createPublisher({ redisUrl: cluster.url, redisMode: "cluster" });
    try {
      const c = await connect(await loginTicket(nodes[1]!.url, "lib-user"));
      open.push(c);
      const first = await publisher.publish({ to: ["lib-user"], data: { via: "library" }, idempotencyKey: "lib-1" });
      const again = await publisher.publish({ to: ["lib-user"], data: { via: "library" }, idempotencyKey: "lib-1" });
      expect(again).toEqual({ id: first.id, duplicate: true });
      await publisher.publish({ to: ["lib-user"], data: "second" });
      const got = await c.waitFor(2);
      expect(got.map((m) => m.data)).toEqual([{ via: "library" }, "second"]);
      await expect(publisher.publish({ to: [], data: 1 })).rejects.toThrow(/at least one user/);
    } finally {
      await publisher.close();
    }
  });
});
