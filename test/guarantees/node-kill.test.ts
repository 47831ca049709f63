// Kill -9 a push node while a steady stream flows to its users: the SDK clients log in again, move to the
// node assignment names (the survivor, then back to the restarted node), and each application gets every
// accepted message exactly once, in order.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { sdkApp, steadyPublisher, tally, type SdkApp } from "../helpers/sdk.js";

let redis: RedisServer;
let a: NodeProcess;
let b: NodeProcess;
const apps: SdkApp[] = [];

beforeAll(async () => {
  redis = await startRedis({ appendfsync: "everysec" });
  const env = clusterEnv(redis.url, { HERALD_SHUTDOWN_GRACE_MS: "1000" });
  a = await startNode({ ...env, HERALD_NODE_ID: "node-a" });
  b = await startNode({ ...env, HERALD_NODE_ID: "node-b" });
});

afterAll(async () => {
  await Promise.all(apps.map((x) => x.close()));
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

describe("kill -9 of a push node during a steady stream", () => {
  it("loses, duplicates and reorders nothing for SDK clients", async () => {
    // both nodes must see each other before logins spread users over them
    const users = Array.from({ length: 24 }, (_, i) => `kill-user-${i}`);
    for (const u of users) apps.push(sdkApp(b.url, u));
    await Promise.all(apps.map((x) => x.until(() => x.nodes.length > 0, "first channel")));
    const onA = apps.filter((x) => x.nodes[0] === "node-a");
    expect(onA.length, "some users are assigned to the node that will die").toBeGreaterThan(0);
    expect(onA.length).toBeLessThan(apps.length);

    // the business server publishes through node-b (and retries there if a publish fails)
    const pub = steadyPublisher(() => [b.url], users, { intervalMs: 3 });
    await pub.advance(60);
    await a.kill9();
    await pub.advance(100);
    // everyone who was on node-a is now served by node-b
    await Promise.all(onA.map((x) => x.until(() => x.client.state === "connected" && x.nodes.at(-1) === "node-b", "move to node-b")));
    await pub.advance(60);

    // node-a comes back (same id and port): assignment moves its users back, by relogin events
    a = await startNode({ ...a.env }, { port: a.port });
    await Promise.all(onA.map((x) => x.until(() => x.client.state === "connected" && x.nodes.at(-1) === "node-a", "move back to node-a")));
    await pub.advance(60);
    const accepted = await pub.stop();
    const last = accepted.at(-1)!;

    await Promise.all(apps.map((x) => x.until(() => x.seqs.includes(last), `seq ${last}`)));
    let lost = 0, duplicated = 0, reordered = 0, gaps = 0;
    for (const x of apps) {
      const t = tally(accepted, x.seqs);
      lost += t.lost;
      duplicated += t.duplicated;
      reordered += t.reordered;
      gaps += x.gaps.length;
    }
    console.log(`node kill: ${accepted.length} messages × ${apps.length} users; ${onA.length} users moved twice; ${pub.retries} publish retries; ` +
      `duplicates dropped by the SDK: ${apps.reduce((n, x) => n + x.client.stats.duplicatesDropped, 0)}`);
    expect({ lost, duplicated, reordered, gaps }).toEqual({ lost: 0, duplicated: 0, reordered: 0, gaps: 0 });
    for (const x of apps) expect(x.seqs).toEqual(accepted);
    for (const x of onA) expect(x.nodes.slice(0, 1).concat(x.nodes.slice(-1))).toEqual(["node-a", "node-a"]);
    for (const x of onA) expect(x.nodes).toContain("node-b");
  });

  it("a graceful stop (relogin: shutdown) moves the clients without loss or repeat", async () => {
    const onA = apps.filter((x) => x.nodes.at(-1) === "node-a");
    expect(onA.length).toBeGreaterThan(0);
    const reasons: string[] = [];
    for (const x of onA) x.client.on("disconnected", (d) => reasons.push(d.reason));
    const counts = new Map(apps.map((x) => [x, x.seqs.length]));
    const pub = steadyPublisher(() => [b.url], apps.map((x) => x.user), { intervalMs: 3, runId: "graceful" });
    await pub.advance(40);
    expect(await a.stop()).toBe(0);
    await pub.advance(60);
    const accepted = await pub.stop();
    const last = accepted.at(-1)!;
    await Promise.all(apps.map((x) => x.until(() => x.seqs.length - counts.get(x)! === accepted.length, `seq ${last} of the second run`)));
    for (const x of apps) {
      expect(x.seqs.slice(counts.get(x)!)).toEqual(accepted);
      expect(x.gaps).toEqual([]);
    }
    for (const x of onA) expect(x.nodes.at(-1)).toBe("node-b");
    expect(reasons).toContain("relogin:shutdown");
  });
});
