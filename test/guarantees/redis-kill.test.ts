// Kill -9 of redis-server (no shutdown, so no final AOF flush) while messages flow to SDK clients.
// - appendfsync always: every accepted message survives; nothing is lost, repeated or reordered.
// - appendfsync everysec: survives a process crash the same way (accepted writes reached the kernel); a
//   machine crash may lose the last second — simulated by rolling the AOF back — and SDK clients that had
//   received the lost messages are told (a gap), never left with a silent hole.
// - no persistence: the inboxes are lost; clients are told by an epoch change.
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startRedis, type RedisOptions, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { memoryStore } from "../../client/index.js";
import { sdkApp, steadyPublisher, tally, type SdkApp } from "../helpers/sdk.js";

let redis: RedisServer | undefined;
let node: NodeProcess | undefined;
let apps: SdkApp[] = [];

async function setup(opts: RedisOptions, users: string[]) {
  redis = await startRedis(opts);
  node = await startNode(clusterEnv(redis.url));
  apps = users.map((u) => sdkApp(node!.url, u));
  await Promise.all(apps.map((x) => x.until(() => x.client.state === "connected", "connected")));
  return { redis, node, apps };
}

afterEach(async () => {
  await Promise.all(apps.map((x) => x.close()));
  apps = [];
  await node?.stop();
  await redis?.stop();
  node = undefined;
  redis = undefined;
});

const users = (tag: string) => Array.from({ length: 6 }, (_, i) => `${tag}-${i}`);

describe("kill -9 of redis-server", () => {
  it("appendfsync always: nothing accepted is lost, repeated or reordered", async () => {
    const { redis, node, apps } = await setup({ appendfsync: "always" }, users("always"));
    // one more user is offline during the crash, with a position saved from an earlier session
    const store = memoryStore();
    const early = sdkApp(node.url, "always-offline", { store });
    const pub = steadyPublisher(() => [node.url], [...apps.map((x) => x.user), "always-offline"], { intervalMs: 3 });
    await pub.advance(20);
    await early.until(() => early.seqs.length >= 10, "the offline user's first messages");
    await early.close();
    await pub.advance(30);
    await redis.kill9();
    await redis.restart();
    await pub.advance(50);
    const accepted = await pub.stop();
    const last = accepted.at(-1)!;
    const later = sdkApp(node.url, "always-offline", { store });
    apps.push(later);
    for (const x of apps) await x.until(() => x.seqs.includes(last), `seq ${last}`);
    for (const x of apps.slice(0, -1)) {
      expect(tally(accepted, x.seqs)).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
      expect(x.seqs).toEqual(accepted);
      expect(x.gaps).toEqual([]);
    }
    expect(early.seqs.concat(later.seqs)).toEqual(accepted);
    expect(later.gaps).toEqual([]);
    console.log(`always: ${accepted.length} accepted, ${pub.retries} publish retries during the outage, 0 lost`);
  });

  it("appendfsync everysec: a process crash loses nothing; a rolled-back AOF shows up as a reported gap", async () => {
    const { redis, node, apps } = await setup({ appendfsync: "everysec" }, users("everysec"));
    const pub = steadyPublisher(() => [node.url], apps.map((x) => x.user), { intervalMs: 3 });
    await pub.advance(40);
    await redis.kill9();
    await redis.restart();
    await pub.advance(40);
    let accepted = [...pub.accepted];
    for (const x of apps) await x.until(() => x.seqs.includes(accepted.at(-1)!), "delivery after the restart");
    for (const x of apps) {
      const t = tally(accepted, x.seqs);
      // what everysec promises for a process crash, on a disk that keeps up: the kernel had every accepted write
      expect(t).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
      expect(x.gaps).toEqual([]);
    }

    // A machine crash: the disk holds the AOF as it was earlier; what was written since is gone.
    // (The publisher ran on while the clients caught up: what it had accepted by its stop is what counts.)
    accepted = await pub.stop();
    for (const x of apps) await x.until(() => x.seqs.includes(accepted.at(-1)!), "delivery of the last message before the snapshot");
    const disk = join(redis.dir, "disk-snapshot");
    cpSync(join(redis.dir, "appendonlydir"), disk, { recursive: true });
    const p2 = steadyPublisher(() => [node.url], apps.map((x) => x.user), { intervalMs: 3, runId: "after-snapshot" });
    await p2.advance(15);
    const before = await p2.stop();
    for (const x of apps) await x.until(() => x.seqs.length === accepted.length + before.length, "the messages the crash will lose");
    await redis.kill9();
    rmSync(join(redis.dir, "appendonlydir"), { recursive: true });
    cpSync(disk, join(redis.dir, "appendonlydir"), { recursive: true });
    await redis.restart();
    const p3 = steadyPublisher(() => [node.url], apps.map((x) => x.user), { intervalMs: 3, runId: "after-crash" });
    await p3.advance(10);
    const after = await p3.stop();
    for (const x of apps) {
      await x.until(() => x.messages.length === accepted.length + before.length + after.length, "messages after the rollback");
      // the clients had received what Redis lost: the next message does not follow their position, and they are told
      expect(x.gaps).toHaveLength(1);
      expect(x.gaps[0]!.reason).toBe("GAP");
      expect(x.gaps[0]!.detectedBy).toBe("message");
      expect(x.gaps[0]!.from).toEqual({ epoch: x.messages[accepted.length + before.length - 1]!.epoch, offset: x.messages[accepted.length + before.length - 1]!.offset });
    }
  });

  it("no persistence: the lost inboxes show up as an epoch change, never a silent gap", async () => {
    const { redis, node, apps } = await setup({}, users("volatile"));
    const store = memoryStore();
    const offline = sdkApp(node.url, "volatile-offline", { store });
    const pub = steadyPublisher(() => [node.url], [...apps.map((x) => x.user), "volatile-offline"], { intervalMs: 3 });
    await pub.advance(30);
    const firstRun = await pub.stop();
    for (const x of [...apps, offline]) await x.until(() => x.seqs.length === firstRun.length, "first run delivered");
    await offline.close();
    const epochOf = new Map([...apps, offline].map((x) => [x.user, x.messages[0]!.epoch]));
    await redis.kill9();
    await redis.restart();
    const p2 = steadyPublisher(() => [node.url], [...apps.map((x) => x.user), "volatile-offline"], { intervalMs: 3, runId: "second" });
    await p2.advance(30);
    const secondRun = await p2.stop();
    const back = sdkApp(node.url, "volatile-offline", { store });
    apps.push(back);
    for (const x of apps) {
      await x.until(() => x.messages.length >= (x === back ? 0 : firstRun.length) + secondRun.length, "second run delivered");
      const epochBefore = epochOf.get(x.user)!;
      const fresh = x.messages.filter((m) => m.epoch !== epochBefore);
      expect(fresh.map((m) => m.data.seq)).toEqual(secondRun);
      expect(x.gaps).toHaveLength(1);
      expect(x.gaps[0]!.reason).toBe("EPOCH_CHANGED");
      expect(x.gaps[0]!.from?.epoch).toBe(epochBefore);
    }
  });
});
