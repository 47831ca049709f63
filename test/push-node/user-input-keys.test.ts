// Device ids (and other keys clients choose) are looked up in Maps, never on plain objects: a device
// named like an Object.prototype member resumes after its own ack, without a false EPOCH_CHANGED.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { PUBLISH_KEY, clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { io, type Socket } from "socket.io-client";
import { login, loginTicket, publish, type LoginResult } from "../helpers/client.js";
import { until } from "../helpers/ports.js";

const DEVICES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
let redis: RedisServer;
const nodes: Record<string, { node: NodeProcess; login: (u: string) => Promise<LoginResult>; key: string }> = {};
const sockets: Socket[] = [];

beforeAll(async () => {
  redis = await startRedis();
  const [embedded, clustered] = await Promise.all([startNode({}), startNode(clusterEnv(redis.url))]);
  nodes.memory = { node: embedded, login: (u) => login(embedded.url, { userId: u }), key: "dev-publish-key" };
  nodes.redis = { node: clustered, login: (u) => loginTicket(clustered.url, u), key: PUBLISH_KEY };
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(Object.values(nodes).map((n) => n.node.stop()));
  await redis?.stop();
});

/** A Socket.IO channel with this device id; records the recovery event (sent before any replayed message). */
async function channel(store: string, user: string, deviceId: string) {
  const l = await nodes[store]!.login(user);
  const socket = io(l.node.url, { path: l.node.path, auth: { token: l.token, deviceId }, transports: ["websocket"], reconnection: false, forceNew: true });
  const recovery = { value: null as null | { recovered: boolean; reason?: string } };
  const messages: any[] = [];
  socket.on("recovery", (r) => (recovery.value = r));
  socket.on("message", (m) => messages.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", reject);
  });
  sockets.push(socket);
  return { socket, recovery, messages, waitFor: (n: number) => until(() => (messages.length >= n ? messages : null), `${n} messages`) };
}

describe.each(["memory", "redis"])("device ids named like Object.prototype members (%s store)", (store) => {
  it.each(DEVICES)("device %s gets the backlog once, then resumes after its own ack", async (device) => {
    const user = `keys-${store}-${device}`;
    const { node, key } = nodes[store]!;
    for (const n of [1, 2, 3]) expect((await publish(node.url, { to: [user], data: n }, key)).status).toBe(202);
    const first = await channel(store, user, device);
    const got = await first.waitFor(3);
    expect(got.map((m) => m.data)).toEqual([1, 2, 3]);
    expect(first.recovery.value).toMatchObject({ recovered: true });
    const last = got.at(-1)!;
    await first.socket.timeout(5000).emitWithAck("ack", { epoch: last.epoch, offset: last.offset });
    first.socket.close();
    for (const n of [4, 5]) expect((await publish(node.url, { to: [user], data: n }, key)).status).toBe(202);
    const again = await channel(store, user, device);
    const more = await again.waitFor(2);
    expect(more.map((m) => m.data)).toEqual([4, 5]);
    expect(again.recovery.value).toEqual({ recovered: true, epoch: last.epoch });
    // a newcomer device gets what no device acknowledged: nothing older than 4 (the ack above counts)
    const other = await channel(store, user, `${device}-new`);
    await publish(node.url, { to: [user], data: 6 }, key);
    expect((await other.waitFor(1))[0].data).toBe(4);
  });
});
