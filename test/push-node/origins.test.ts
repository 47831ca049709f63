// HERALD_CORS_ORIGINS covers every transport: real WebSocket upgrades and polling handshakes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "node:http";
import { randomBytes } from "node:crypto";
import { io } from "socket.io-client";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { login, publish } from "../helpers/client.js";

let node: NodeProcess;
beforeAll(async () => {
  node = await startNode({ HERALD_CORS_ORIGINS: "https://app.example" });
});
afterAll(async () => {
  await node?.stop();
});

/** A raw WebSocket upgrade to the Socket.IO path; resolves with the HTTP status the node answered (101 = upgraded). */
function upgrade(origin?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64") };
    if (origin) headers.origin = origin;
    const req = request(`${node.url}/socket.io/?EIO=4&transport=websocket`, { headers });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode!);
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on("error", reject);
    req.end();
  });
}

async function polling(origin?: string): Promise<number> {
  const r = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`, { headers: origin ? { origin } : {} });
  await r.text();
  return r.status;
}

describe("origins on the channel", () => {
  it("refuses a WebSocket upgrade from a foreign origin and takes an allowed one or none", async () => {
    expect(await upgrade("https://evil.example")).toBe(400);
    expect(await upgrade("https://app.example")).toBe(101);
    expect(await upgrade()).toBe(101);
  });

  it("refuses a polling handshake from a foreign origin", async () => {
    expect(await polling("https://evil.example")).toBe(403);
    expect(await polling("https://app.example")).toBe(200);
    expect(await polling()).toBe(200);
  });

  it("lets a client from an allowed origin receive messages; a foreign one gets a connect_error", async () => {
    const l = await login(node.url, { userId: "olga" });
    const connectWith = (origin: string) => {
      const socket = io(l.node.url, { path: l.node.path, auth: { token: l.token }, transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: { origin } });
      return new Promise<typeof socket>((resolve, reject) => {
        socket.once("connect", () => resolve(socket));
        socket.once("connect_error", (err) => (socket.close(), reject(err)));
      });
    };
    await expect(connectWith("https://evil.example")).rejects.toThrow();
    const ok = await connectWith("https://app.example");
    const got = new Promise((r) => ok.once("message", r));
    expect((await publish(node.url, { to: ["olga"], data: "hi" }, "dev-publish-key")).status).toBe(202);
    expect(await got).toMatchObject({ data: "hi" });
    ok.close();
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    expect(Number(/herald_limit_refusals_total\{limit="origin"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
  });
});
