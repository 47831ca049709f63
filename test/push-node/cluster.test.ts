// A cluster of real push-node processes sharing a real redis-server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { PUBLISH_KEY, clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, loginTicket, postJson, publish, type LoginResult, type TestClient } from "../helpers/client.js";
import { until } from "../helpers/ports.js";

let redis: RedisServer;
const nodes: NodeProcess[] = [];
const open: TestClient[] = [];
const dir = mkdtempSync(join(tmpdir(), "herald-affinity-"));
const affinityFile = join(dir, "affinity.json");

function writeAffinity(version: number, ns: NodeProcess[], pins: Record<string, string> = {}, draining: string[] = []) {
  const doc = { version, nodes: ns.map((n) => ({ id: n.id, url: n.url, path: "/socket.io", state: draining.includes(n.id) ? "draining" : "active" })), pins };
  // an atomic replace (write, then rename), as a ConfigMap volume or a careful writer does
  writeFileSync(affinityFile + ".tmp", JSON.stringify(doc));
  renameSync(affinityFile + ".tmp", affinityFile);
}

async function client(l: LoginResult, auth: Record<string, unknown> = {}) {
  const c = await connect(l, auth);
  open.push(c);
  return c;
}

// This test finds where users land by logging in again and again from one address (polling every 25 ms):
// far more than the default login rate limits allow, which test/push-node/rate-limits.test.ts covers.
const POLLING_LOGINS = { HERALD_LOGIN_PER_IP_PER_MINUTE: "0", HERALD_LOGIN_PER_USER_PER_MINUTE: "0" };

beforeAll(async () => {
  redis = await startRedis();
  // The affinity file lists three nodes on ports chosen now; it exists before the nodes start.
  const { freePort } = await import("../helpers/ports.js");
  const ports = [await freePort(), await freePort(), await freePort()];
  const planned = ports.map((p, i) => ({ id: `push-${i}`, url: `http://127.0.0.1:${p}` })) as unknown as NodeProcess[];
  writeAffinity(1, planned, { pinned: "push-2" });
  for (let i = 0; i < 3; i++) nodes.push(await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: `push-${i}`, HERALD_AFFINITY_FILE: affinityFile, ...POLLING_LOGINS }), { port: ports[i] }));
});

afterAll(async () => {
  for (const c of open) c.close();
  await Promise.all(nodes.map((n) => n.stop()));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a Redis-backed cluster of push nodes", () => {
  it("assigns by pin and by hash, and every node agrees", async () => {
    // every node sees the others alive within a heartbeat or two of their start
    await until(async () => {
      const answers = await Promise.all(nodes.map((n) => loginTicket(n.url, "pinned")));
      return answers.every((a) => a.node.id === "push-2");
    }, "every node to honour the pin to push-2", 3000);
    for (const u of ["u1", "u2", "u3", "u4", "u5"]) {
      const answers = await Promise.all(nodes.map((n) => loginTicket(n.url, u)));
      expect(new Set(answers.map((a) => a.node.id)).size).toBe(1);
    }
    const spread = new Set<string>();
    for (let i = 0; i < 30; i++) spread.add((await loginTicket(nodes[0]!.url, `spread-${i}`)).node.id);
    expect(spread.size).toBe(3);
  });

  it("delivers a message published on one node to its users on the others, on all their devices, and to no one else", async () => {
    // find users assigned to each node
    const byNode = new Map<string, LoginResult[]>();
    for (let i = 0; byNode.size < 3 || [...byNode.values()].some((v) => v.length < 2); i++) {
      const l = await loginTicket(nodes[i % 3]!.url, `member-${i}`);
      const list = byNode.get(l.node.id) ?? [];
      if (list.length < 2) list.push(l);
      byNode.set(l.node.id, list);
    }
    const [a, b] = byNode.get("push-1")!;
    const [c] = byNode.get("push-2")!;
    const [d] = byNode.get("push-0")!;
    const a1 = await client(a!);
    const a2 = await client(await loginTicket(nodes[2]!.url, a!.userId)); // a second device of the same user
    const bc = await client(b!);
    const cc = await client(c!);
    const dc = await client(d!);
    const r = await publish(nodes[0]!.url, { to: [a!.userId, c!.userId], data: { hello: "cluster" } });
    expect(r.status).toBe(202);
    for (const x of [a1, a2, cc]) expect((await x.waitFor(1))[0]).toMatchObject({ id: r.body.id, data: { hello: "cluster" } });
    // b and d get only what is addressed to them afterwards
    await publish(nodes[2]!.url, { to: [b!.userId, d!.userId], data: "next" });
    expect((await bc.waitFor(1)).map((m) => m.data)).toEqual(["next"]);
    expect((await dc.waitFor(1)).map((m) => m.data)).toEqual(["next"]);
    expect(a1.messages).toHaveLength(1);
  });

  it("records the user before the channel opens: a message published right after connect arrives", async () => {
    const logins = await Promise.all(Array.from({ length: 20 }, (_, i) => loginTicket(nodes[i % 3]!.url, `eager-${i}`)));
    const clients = await Promise.all(logins.map((l) => client(l)));
    // publish the moment each client saw "connect"
    await Promise.all(logins.map((l) => publish(nodes[0]!.url, { to: [l.userId], data: "right away" })));
    for (const c of clients) expect((await c.waitFor(1, 5000))[0].data).toBe("right away");
  });

  it("POST /v1/disconnect on any node closes the user's sockets on every node, and no one else's", async () => {
    const byNode = new Map<string, LoginResult>();
    for (let i = 0; byNode.size < 3; i++) {
      const l = await loginTicket(nodes[0]!.url, `kicked-${i}`);
      if (!byNode.has(l.node.id)) byNode.set(l.node.id, l);
    }
    const remote = byNode.get("push-1")!; // held by another node than the one asked
    const local = byNode.get("push-0")!; // held by the node asked
    const other = byNode.get("push-2")!;
    const r1 = await client(remote);
    const r2 = await client(await loginTicket(nodes[2]!.url, remote.userId)); // a second device
    const l1 = await client(local);
    const bystander = await client(other);
    const closed = (c: TestClient) => new Promise<string>((r) => c.socket.once("disconnect", (reason) => r(reason)));
    const gone = Promise.all([closed(r1), closed(r2), closed(l1)]);
    const r = await postJson(`${nodes[0]!.url}/v1/disconnect`, { users: [remote.userId, local.userId] }, { authorization: `Bearer ${PUBLISH_KEY}` });
    expect(r).toEqual({ status: 202, body: { users: 2 } });
    expect(await gone).toEqual(["io server disconnect", "io server disconnect", "io server disconnect"]);
    await publish(nodes[1]!.url, { to: [other.userId], data: "still here" });
    expect((await bystander.waitFor(1))[0].data).toBe("still here");
    expect(bystander.socket.connected).toBe(true);
  });

  it("routes a message only to the nodes that hold its users", async () => {
    const l = await loginTicket(nodes[0]!.url, "routed-user");
    const c = await client(l);
    const r = new Redis(redis.url);
    try {
      const lengths = async () => Object.fromEntries(await Promise.all(nodes.map(async (n) => [n.id, await r.xlen(`herald:{n:${n.id}}:bus`)] as const)));
      const before = await lengths();
      await publish(nodes[0]!.url, { to: ["routed-user"], data: 1 });
      await c.waitFor(1);
      const after = await lengths();
      for (const n of nodes) expect(after[n.id]! - before[n.id]!).toBe(n.id === l.node.id ? 1 : 0);
    } finally {
      r.disconnect();
    }
  });

  it("follows a change of the affinity file within 2 seconds, without a restart", async () => {
    writeAffinity(2, nodes, { pinned: "push-0" });
    const t0 = Date.now();
    await until(async () => (await loginTicket(nodes[1]!.url, "pinned")).node.id === "push-0", "the new pin", 2000);
    expect(Date.now() - t0).toBeLessThan(2000);
    // a draining node gets no new users
    writeAffinity(3, nodes, {}, ["push-1"]);
    const loaded = (version: number) => async () => {
      for (const n of nodes) if (!(await (await fetch(`${n.url}/metrics`)).text()).includes(`herald_affinity_version ${version}`)) return false;
      return true;
    };
    await until(loaded(3), "version 3 loaded by every node", 2000);
    for (let i = 0; i < 20; i++) expect((await loginTicket(nodes[0]!.url, `after-drain-${i}`)).node.id).not.toBe("push-1");
    writeAffinity(4, nodes);
    await until(loaded(4), "version 4 loaded by every node", 2000);
  });

  it("keeps two clusters with different key prefixes apart in one Redis", async () => {
    const other = await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: "other-0", HERALD_KEY_PREFIX: "tenant-b" }));
    try {
      const l = await loginTicket(other.url, "shared-name");
      expect(l.node.id).toBe("other-0");
      const mine = await client(l);
      const theirs = await client(await loginTicket(nodes[0]!.url, "shared-name"));
      await publish(nodes[0]!.url, { to: ["shared-name"], data: "for the first cluster" });
      await publish(other.url, { to: ["shared-name"], data: "for tenant b" });
      expect((await mine.waitFor(1)).map((m) => m.data)).toEqual(["for tenant b"]);
      expect((await theirs.waitFor(1)).map((m) => m.data)).toEqual(["for the first cluster"]);
      const r = new Redis(redis.url);
      const keys = await r.keys("*");
      r.disconnect();
      expect(keys.every((k) => k.startsWith("herald:") || k.startsWith("tenant-b:"))).toBe(true);
      expect(keys.some((k) => k.startsWith("tenant-b:"))).toBe(true);
      mine.close();
    } finally {
      await other.stop();
    }
  });

  it("stops assigning users to a node that dies, and assigns them again when it returns", async () => {
    const victim = nodes[2]!;
    const usersOnVictim: string[] = [];
    for (let i = 0; usersOnVictim.length < 3; i++) if ((await loginTicket(nodes[0]!.url, `v-${i}`)).node.id === victim.id) usersOnVictim.push(`v-${i}`);
    await victim.kill9();
    const t0 = Date.now();
    await until(async () => {
      for (const u of usersOnVictim) if ((await loginTicket(nodes[0]!.url, u)).node.id === victim.id) return false;
      return true;
    }, "logins to skip the dead node", 5000);
    expect(Date.now() - t0).toBeLessThan(5000);
    nodes[2] = await startNode(victim.env, { port: victim.port });
    await until(async () => (await loginTicket(nodes[0]!.url, usersOnVictim[0]!)).node.id === victim.id, "the node to take users again", 5000);
  });

  it("on SIGTERM stops taking logins, is no longer ready, tells its clients to log in again and exits", async () => {
    const leaving = nodes[1]!;
    let i = 0;
    const l = (await until(async () => {
      const r = await loginTicket(leaving.url, `leaver-${i++}`);
      return r.node.id === leaving.id ? r : null;
    }, "a user assigned to the leaving node", 10_000, 0))!;
    const c = await client(l);
    const bystanderLogin = (await until(async () => {
      const r = await loginTicket(nodes[0]!.url, `bystander-${i++}`);
      return r.node.id !== leaving.id ? r : null;
    }, "a user on another node", 10_000, 0))!;
    const bystander = await client(bystanderLogin);
    const relogin = new Promise<{ reason: string }>((r) => c.socket.once("relogin", r));
    let sawNotReady = false;
    const watcher = (async () => {
      while (leaving.proc.exitCode === null) {
        const r = await fetch(`${leaving.url}/readyz`).catch(() => null);
        if (r && r.status === 503) {
          sawNotReady = true;
          const lr = await fetch(`${leaving.url}/v1/login`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).catch(() => null);
          if (lr) expect(lr.status).toBe(503);
          return;
        }
        if (!r) return;
      }
    })();
    leaving.proc.kill("SIGTERM");
    expect((await relogin).reason).toBe("shutdown");
    await watcher;
    expect(sawNotReady).toBe(true);
    c.close(); // the client leaves, as it was asked to, so the node can exit before its grace period ends
    expect(await leaving.exited).toBe(0);
    // a node that leaves closes only its own sockets, not the cluster's (the adapter broadcasts io.disconnectSockets)
    expect(bystander.socket.connected).toBe(true);
    await publish(nodes[0]!.url, { to: [bystanderLogin.userId], data: "still here" });
    expect((await bystander.waitFor(1)).at(-1).data).toBe("still here");
    await until(async () => {
      for (let i = 0; i < 10; i++) if ((await loginTicket(nodes[0]!.url, `post-${i}`)).node.id === leaving.id) return false;
      return true;
    }, "logins to avoid the stopped node", 3000);
  });
});
