// Offline delivery: what is published while a user is away arrives when the user comes back, in order,
// once. Devices without a stored position resume after their own acknowledgement (the server's rule).
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, PUBLISH_KEY, type NodeProcess } from "../helpers/push-node.js";
import { publish } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { sdkApp, type SdkApp } from "../helpers/sdk.js";

let redis: RedisServer;
let node: NodeProcess;
const apps: SdkApp[] = [];
const start = (user: string, deviceId?: string) => {
  const app = sdkApp(node.url, user, deviceId ? { deviceId } : {});
  apps.push(app);
  return app;
};
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
async function send(user: string, from: number, to: number) {
  for (const seq of range(from, to)) expect((await publish(node.url, { to: [user], data: { seq } }, PUBLISH_KEY)).status).toBe(202);
}

/** Resolves once the node has stored this device's ack (it writes acks asynchronously). */
async function ackStored(user: string, device: string, p: { epoch: string; offset: string }) {
  const r = new Redis(redis.port, "127.0.0.1");
  try {
    await until(async () => (await r.hget(`herald:{u:${user}}:acks`, device)) === `${p.epoch} ${p.offset}`, `the ack of ${device}`);
  } finally {
    r.disconnect();
  }
}

beforeAll(async () => {
  redis = await startRedis();
  node = await startNode(clusterEnv(redis.url));
});
afterAll(async () => {
  await Promise.all(apps.map((x) => x.close()));
  await node?.stop();
  await redis?.stop();
});

describe("offline delivery", () => {
  it("delivers what was published before the user ever connected, in order, then live", async () => {
    await send("away", 1, 300);
    const app = start("away");
    await app.until(() => app.seqs.length === 300, "the backlog");
    await send("away", 301, 350);
    await app.until(() => app.seqs.length === 350, "live messages");
    expect(app.seqs).toEqual(range(1, 350));
    expect(app.gaps).toEqual([]);
    for (let i = 1; i < app.messages.length; i++) expect(app.messages[i]!.prev).toBe(app.messages[i - 1]!.offset);
  });

  it("a device without a stored position resumes after its own last ack; a new device gets only what no device acknowledged", async () => {
    const phone = start("two-devices", "phone");
    await phone.until(() => phone.client.state === "connected", "connected");
    await send("two-devices", 1, 20);
    await phone.until(() => phone.seqs.length === 20, "first 20");
    const p20 = phone.client.position!;
    await phone.close(); // sends its last ack
    await ackStored("two-devices", "phone", p20);
    await send("two-devices", 21, 40);

    const again = start("two-devices", "phone"); // same device, empty memory store (an app restart)
    await again.until(() => again.seqs.includes(40), "seq 40");
    expect(again.seqs).toEqual(range(21, 40));
    expect(again.gaps).toEqual([]);

    // the ack of 40 is stored before a new device asks the server what nobody acknowledged
    const p40 = again.client.position!;
    await again.close();
    await ackStored("two-devices", "phone", p40);
    const tablet = start("two-devices", "tablet");
    await tablet.until(() => tablet.client.state === "connected", "connected");
    await send("two-devices", 41, 41);
    await tablet.until(() => tablet.seqs.includes(41), "seq 41");
    expect(tablet.seqs).toEqual([41]);
  });
});
