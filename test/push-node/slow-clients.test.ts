// Slow and greedy clients cannot grow a node without bound: a socket whose queued bytes pass
// HERALD_MAX_SOCKET_BUFFER_BYTES is cut and its messages are replayed from the inbox when it resumes;
// a user's socket past HERALD_MAX_SOCKETS_PER_USER is refused with TOO_MANY_SOCKETS (the SDK backs off
// without logging in again); a client flooding packets past HERALD_MAX_INBOUND_PER_SECOND is cut.
// A real node process and real Socket.IO clients; a paused client is one whose TCP socket stops reading.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io, type Socket } from "socket.io-client";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, login, postJson, type TestClient } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { createClient } from "../../client/index.js";

const LIMIT = 256 * 1024;
let node: NodeProcess;
const sockets: Socket[] = [];
const open: TestClient[] = [];
beforeAll(async () => {
  node = await startNode({ HERALD_MAX_SOCKET_BUFFER_BYTES: String(LIMIT), HERALD_MAX_SOCKETS_PER_USER: "2", HERALD_MAX_INBOUND_PER_SECOND: "20" });
});
afterAll(async () => {
  for (const s of sockets) s.close();
  for (const c of open) c.close();
  await node?.stop();
});

async function metric(limit: string): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(new RegExp(`herald_limit_refusals_total\\{limit="${limit}"\\} (\\d+)`).exec(text)?.[1]);
}

function channel(l: { token: string; node: { url: string; path: string } }, auth: Record<string, unknown>) {
  const socket = io(l.node.url, { path: l.node.path, auth: { token: l.token, ...auth }, transports: ["websocket"], reconnection: false, forceNew: true });
  sockets.push(socket);
  const got: any[] = [];
  socket.on("message", (m) => got.push(m));
  const closed = new Promise<string>((r) => socket.once("disconnect", r));
  return new Promise<{ socket: Socket; got: any[]; closed: Promise<string> }>((resolve, reject) => {
    socket.once("connect", () => resolve({ socket, got, closed }));
    socket.once("connect_error", reject);
  });
}
const publishBatch = (messages: unknown[]) => postJson(`${node.url}/v1/publish`, { messages }, { authorization: "Bearer dev-publish-key" });

describe("outbound buffer per socket", () => {
  it("cuts a socket that stops reading once its queue passes the limit; it resumes from the inbox with nothing lost or repeated", async () => {
    const user = "sloth";
    const healthy = await connect(await login(node.url, { userId: "bystander" }));
    open.push(healthy);
    const slow = await channel(await login(node.url, { userId: user }), { deviceId: "slow" });
    const blob = "x".repeat(60_000);
    expect((await publishBatch([{ to: [user], data: { n: 0, blob } }])).status).toBe(202);
    await until(() => slow.got.length === 1, "the first message");
    // stop reading: the kernel buffers fill, then the node's queue for this socket grows
    (slow.socket.io.engine.transport as any).ws._socket.pause();
    let sent = 1;
    while (sent < 401 && (await metric("socket_buffer")) === 0) {
      const r = await publishBatch(Array.from({ length: 10 }, (_, k) => ({ to: [user], data: { n: sent + k, blob } })));
      expect(r.status).toBe(202);
      sent += 10;
    }
    await until(async () => (await metric("socket_buffer")) === 1, "the socket to be cut");
    expect(node.logs()).toMatch(/"reason":"OUTBOUND_BUFFER_FULL"/);
    // the node keeps serving others meanwhile
    await publishBatch([{ to: ["bystander"], data: "still served" }]);
    expect((await healthy.waitFor(1))[0].data).toBe("still served");
    // the slow client reads what reached it, then sees the transport close
    (slow.socket.io.engine.transport as any).ws._socket.resume();
    expect(await slow.closed).toMatch(/^transport (close|error)$/);
    const last = slow.got.at(-1);
    const resumed = await channel(await login(node.url, { userId: user }), { deviceId: "slow", since: { epoch: last.epoch, offset: last.offset } });
    const all = () => [...slow.got, ...resumed.got].map((m) => m.data.n);
    await until(() => all().length >= sent, `all ${sent} messages after the cut`, 30_000);
    const ns = all();
    expect(ns).toEqual(Array.from({ length: ns.length }, (_, i) => i));
    expect(slow.got.length).toBeLessThan(ns.length); // something did wait in the inbox
  });
});

describe("sockets per user", () => {
  it("refuses the newest socket past the limit with TOO_MANY_SOCKETS", async () => {
    const l = await login(node.url, { userId: "tabs" });
    const a = await channel(l, {});
    await channel(l, {});
    const err = await channel(l, {}).catch((e) => e);
    expect(err.data).toMatchObject({ code: "TOO_MANY_SOCKETS" });
    a.socket.close();
    await until(async () => (await channel(l, {}).then(() => true, () => false)), "a free place after one closed");
    expect(await metric("sockets_per_user")).toBeGreaterThanOrEqual(1);
  });

  it("the SDK backs off on TOO_MANY_SOCKETS without logging in again", async () => {
    const l = await login(node.url, { userId: "tabs-sdk" });
    await channel(l, {});
    await channel(l, {});
    const waits: number[] = [];
    const sdk = createClient({ url: node.url, credentials: async () => ({ body: { userId: "tabs-sdk" } }), backoff: { initialMs: 50, maxMs: 2000 }, onMessage: () => {} });
    sdk.on("disconnected", (d: { reason: string; retryInMs: number }) => {
      if (d.reason === "TOO_MANY_SOCKETS") waits.push(d.retryInMs);
    });
    try {
      await until(() => waits.length >= 4, "four refusals", 20_000);
      expect(sdk.stats.logins).toBe(1);
      // jittered between half and all of a doubling ceiling: the fourth wait is at least the first's ceiling × 2
      expect(waits[3]!).toBeGreaterThanOrEqual(200);
    } finally {
      await sdk.close();
    }
  });
});

describe("inbound flood", () => {
  it("cuts a client that sends packets faster than the limit; others are unaffected", async () => {
    const flooder = await channel(await login(node.url, { userId: "flooder" }), { deviceId: "f" });
    const calm = await connect(await login(node.url, { userId: "calm" }));
    open.push(calm);
    for (let i = 0; i < 200 && flooder.socket.connected; i++) flooder.socket.emit("ack", { epoch: "e", offset: `${i}-0` });
    expect(await flooder.closed).toMatch(/^transport (close|error)$/);
    expect(await metric("inbound_flood")).toBe(1);
    await publishBatch([{ to: ["calm"], data: "fine" }]);
    expect((await calm.waitFor(1))[0].data).toBe("fine");
  });
});
