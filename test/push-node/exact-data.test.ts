// Exact data on real nodes: what a publisher sends is what every client receives — live and replayed,
// on the node that took the publish and on another one — with own "__proto__" and "constructor" keys
// kept; too-deep JSON is a 400 at any depth.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { io, type Socket } from "socket.io-client";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { PUBLISH_KEY, clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, login, loginTicket, postJson, publish, type TestClient } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { canonicalJson } from "../../push-node/publish/canonical-json.js";

let node: NodeProcess;
let redis: RedisServer;
let a: NodeProcess;
let b: NodeProcess;
const open: TestClient[] = [];
const sockets: Socket[] = [];
beforeAll(async () => {
  redis = await startRedis();
  // two Redis-backed nodes that both take every user: the client sits on b, the publisher calls a
  const env = clusterEnv(redis.url, { HERALD_NODE_ID: "exact-b" });
  [node, b] = await Promise.all([startNode({}), startNode(env)]);
  a = await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: "exact-a" }));
});
afterAll(async () => {
  for (const c of open) c.close();
  for (const s of sockets) s.close();
  await Promise.all([node, a, b].map((n) => n?.stop()));
  await redis?.stop();
});
const pub = (body: unknown) => publish(node.url, body, "dev-publish-key");
const deep = (n: number) => `${"[".repeat(n)}1${"]".repeat(n)}`;

describe("depth limit", () => {
  it("answers 400 JSON_TOO_DEEP for data nested 200,000 deep, never a 5xx; the node keeps working", async () => {
    const r = await pub(`{"to":["deep"],"data":${deep(200_000)}}`);
    expect([r.status, r.body.error.code]).toEqual([400, "JSON_TOO_DEEP"]);
    const batch = await pub(`{"messages":[{"to":["deep"],"data":${deep(100)}}]}`);
    expect([batch.status, batch.body.error.code]).toEqual([400, "JSON_TOO_DEEP"]);
    const l = await postJson(`${node.url}/v1/login`, `{"userId":"deep","x":${deep(30_000)}}`);
    expect([l.status, l.body.error.code]).toEqual([400, "JSON_TOO_DEEP"]);
    const c = await connect(await login(node.url, { userId: "deep" }));
    open.push(c);
    expect((await pub(`{"to":["deep"],"data":${deep(65)}}`)).body.error.code).toBe("JSON_TOO_DEEP");
    const ok = await pub(`{"to":["deep"],"data":${deep(64)}}`);
    expect(ok.status).toBe(202);
    expect(JSON.stringify((await c.waitFor(1))[0].data)).toBe(deep(64));
    expect(await (await fetch(`${node.url}/metrics`)).text()).toMatch(/herald_limit_refusals_total\{limit="data_depth"\} 4/);
  });
});

/** JSON values that favour the keys a careless copy would lose or misread. */
const risky = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.jsonValue({ maxDepth: 2 }), tie("object"), fc.array(tie("value"), { maxLength: 4 })),
  object: fc
    .array(fc.tuple(fc.oneof(fc.constantFrom("__proto__", "constructor", "toString", "prototype", "hasOwnProperty", "1", ""), fc.string({ maxLength: 8 })), tie("value")), { maxLength: 5 })
    .map((entries) => JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`)),
})).value;

function listen(l: { token: string; node: { url: string; path: string } }, auth: Record<string, unknown> = {}) {
  const socket = io(l.node.url, { path: l.node.path, auth: { token: l.token, ...auth }, transports: ["websocket"], reconnection: false, forceNew: true });
  sockets.push(socket);
  const got: any[] = [];
  socket.on("message", (m) => got.push(m));
  return new Promise<{ socket: Socket; got: any[] }>((resolve, reject) => {
    socket.once("connect", () => resolve({ socket, got }));
    socket.once("connect_error", reject);
  });
}

describe("round trip", () => {
  it("delivers every generated JSON value exactly as published, live on another node and replayed from Redis", async () => {
    const values = fc.sample(risky, { numRuns: Number(process.env.FUZZ_RUNS ?? 1) * 400, seed: 20261201 });
    values.push(JSON.parse('{"__proto__":{"x":1},"y":2}'), JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'), -0, 1e-7, "\u2028", [null]);
    const texts = values.map((v) => JSON.stringify(v));
    const user = "exact-rt";
    const live = await listen(await loginTicket(b.url, user), { deviceId: "live" });
    for (let i = 0; i < texts.length; i += 50) {
      const batch = `{"messages":[${texts.slice(i, i + 50).map((t) => `{"to":["${user}"],"data":${t}}`).join(",")}]}`;
      const r = await postJson(`${a.url}/v1/publish`, batch, { authorization: `Bearer ${PUBLISH_KEY}` });
      expect(r.status).toBe(202);
      expect(r.body.accepted).toBe(Math.min(50, texts.length - i));
    }
    await until(() => live.got.length >= texts.length, "every message live", 30_000);
    const replayed = await listen(await loginTicket(b.url, user), { deviceId: "newcomer" });
    await until(() => replayed.got.length >= texts.length, "every message replayed", 30_000);
    for (const got of [live.got, replayed.got]) {
      expect(got).toHaveLength(texts.length);
      got.forEach((m, i) => expect(canonicalJson(m.data), texts[i]).toBe(canonicalJson(JSON.parse(texts[i]!))));
    }
    const proto = live.got.at(-6)!.data;
    expect(Object.hasOwn(proto, "__proto__")).toBe(true);
    expect(proto.__proto__).toEqual({ x: 1 });
    expect(({} as any).polluted).toBeUndefined();
  });
});
