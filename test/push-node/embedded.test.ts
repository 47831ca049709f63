// The embedded default: one process, no Redis, dev login. Real node process, real Socket.IO clients.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, login, postJson, publish, type TestClient } from "../helpers/client.js";

const SECRET = "embedded-test-token-secret-0123456789abcdef";
let node: NodeProcess;
const open: TestClient[] = [];
const dev = (userId: string) => login(node.url, { userId });
const pub = (body: unknown) => publish(node.url, body, "dev-publish-key");
async function client(user: string, auth: Record<string, unknown> = {}) {
  const c = await connect(await dev(user), auth);
  open.push(c);
  return c;
}

beforeAll(async () => {
  node = await startNode({ HERALD_NODE_ID: "solo", HERALD_TOKEN_SECRET: SECRET });
});
afterAll(async () => {
  for (const c of open) c.close();
  await node?.stop();
});

describe("embedded push node", () => {
  it("says loudly that dev login is for development only", () => {
    expect(node.logs()).toMatch(/DEVELOPMENT LOGIN/);
    expect(node.logs()).toMatch(/EMBEDDED MODE/);
  });

  it("logs a user in and assigns it to itself", async () => {
    const l = await dev("alice");
    expect(l.userId).toBe("alice");
    expect(l.node).toEqual({ id: "solo", url: node.url, path: "/socket.io" });
    expect(Date.parse(l.expiresAt)).toBeGreaterThan(Date.now());
  });

  it("delivers to every device of each addressee and to no one else", async () => {
    const a1 = await client("alice");
    const a2 = await client("alice");
    const b = await client("bob");
    const c = await client("carol");
    const r = await pub({ to: ["alice", "bob"], data: { n: 1 }, event: "greeting" });
    expect(r.status).toBe(202);
    const [m1] = await a1.waitFor(1);
    const [m2] = await a2.waitFor(1);
    const [m3] = await b.waitFor(1);
    for (const m of [m1, m2, m3]) {
      expect(m.id).toBe(r.body.id);
      expect(m.event).toBe("greeting");
      expect(m.data).toEqual({ n: 1 });
      expect(typeof m.ts).toBe("number");
    }
    // carol gets nothing: a message to carol afterwards arrives first, proving nothing came before it
    await pub({ to: ["carol"], data: "only-carol" });
    const [mc] = await c.waitFor(1);
    expect(mc.data).toBe("only-carol");
    expect(c.messages).toHaveLength(1);
    expect(a1.messages).toHaveLength(1);
  });

  it("keeps each user's messages in order", async () => {
    const d = await client("dave");
    for (let i = 0; i < 50; i++) await pub({ to: ["dave"], data: i });
    const got = await d.waitFor(50);
    expect(got.map((m) => m.data)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    for (let i = 1; i < got.length; i++) expect(got[i].prev).toBe(got[i - 1].offset);
  });

  it("delivers once for a repeated idempotency key, answering with the first id", async () => {
    const e = await client("erin");
    const first = await pub({ to: ["erin"], data: "x", idempotencyKey: "order-42" });
    const again = await pub({ to: ["erin"], data: "x", idempotencyKey: "order-42" });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.duplicate).toBe(true);
    await pub({ to: ["erin"], data: "after" });
    const got = await e.waitFor(2);
    expect(got.map((m) => m.data)).toEqual(["x", "after"]);
  });

  it("publishes a batch with a result per message", async () => {
    const f = await client("frank");
    const r = await pub({ messages: [{ to: ["frank"], data: 1 }, { to: [], data: 2 }, { to: ["frank"], data: 3 }] });
    expect(r.status).toBe(202);
    expect(r.body.accepted).toBe(2);
    expect(r.body.results[0].id).toBeTypeOf("string");
    expect(r.body.results[1].error.code).toBe("INVALID_MESSAGE");
    const got = await f.waitFor(2);
    expect(got.map((m) => m.data).sort()).toEqual([1, 3]);
  });

  it("answers every bad publish with a JSON error", async () => {
    const cases: Array<[unknown, number, string, string?]> = [
      [{ to: ["a"] }, 400, "INVALID_MESSAGE"],
      [{ to: "a", data: 1 }, 400, "INVALID_MESSAGE"],
      [{ to: ["a"], data: 1, colour: "red" }, 400, "INVALID_MESSAGE"],
      [{ to: ["a"], data: 1, event: "has space" }, 400, "INVALID_MESSAGE"],
      [{ to: Array.from({ length: 1001 }, (_, i) => `u${i}`), data: 1 }, 400, "INVALID_MESSAGE"],
      [{ to: ["a"], data: "x".repeat(70_000) }, 413, "PAYLOAD_TOO_LARGE"],
      [{ messages: [] }, 400, "INVALID_BODY"],
      [{ messages: [{ to: ["a"], data: 1 }], extra: true }, 400, "INVALID_BODY"],
      [{ messages: Array.from({ length: 501 }, () => ({ to: ["a"], data: 1 })) }, 413, "BATCH_TOO_LARGE"],
      ["[1,2]", 400, "INVALID_BODY"],
      ["{not json", 400, "INVALID_JSON"],
    ];
    for (const [body, status, code] of cases) {
      const r = await pub(body);
      expect({ body, status: r.status, code: r.body?.error?.code }).toEqual({ body, status, code });
      expect(r.body.error.message).toBeTypeOf("string");
    }
    const noKey = await postJson(`${node.url}/v1/publish`, { to: ["a"], data: 1 });
    expect([noKey.status, noKey.body.error.code]).toEqual([401, "UNAUTHORIZED"]);
    const wrongKey = await publish(node.url, { to: ["a"], data: 1 }, "nope");
    expect([wrongKey.status, wrongKey.body.error.code]).toEqual([401, "UNAUTHORIZED"]);
    const text = await fetch(`${node.url}/v1/publish`, { method: "POST", headers: { authorization: "Bearer dev-publish-key", "content-type": "text/plain" }, body: "hi" });
    expect(text.status).toBe(415);
    const notFound = await fetch(`${node.url}/v2/nothing`);
    expect([notFound.status, (await notFound.json()).error.code]).toEqual([404, "NOT_FOUND"]);
    const wrongMethod = await fetch(`${node.url}/v1/publish`);
    expect([wrongMethod.status, (await wrongMethod.json()).error.code]).toEqual([405, "METHOD_NOT_ALLOWED"]);
  });

  it("log in, then connect: a plain client gets everything published since the login, again on a reconnect with the same token", async () => {
    await pub({ to: ["quinn"], data: "before the login" });
    const l = await dev("quinn");
    expect(l.position).toMatchObject({ epoch: expect.any(String), offset: expect.stringMatching(/^\d+-\d+$/) });
    await pub({ to: ["quinn"], data: "between login and connect" });
    const c1 = await connect(l);
    open.push(c1);
    await pub({ to: ["quinn"], data: "live" });
    const got = await c1.waitFor(2);
    expect(got.map((m) => m.data)).toEqual(["between login and connect", "live"]);
    c1.close();
    // the same token again: everything since that login again (a plain client drops what it saw by offset)
    const c2 = await connect(l);
    open.push(c2);
    expect((await c2.waitFor(2)).map((m) => m.data)).toEqual(["between login and connect", "live"]);
    // a new login starts from where the inbox stands now
    const c3 = await client("quinn");
    await pub({ to: ["quinn"], data: "after the second login" });
    expect((await c3.waitFor(1)).map((m) => m.data)).toEqual(["after the second login"]);
    expect(c3.messages).toHaveLength(1);
  });

  it("a user without an inbox at login gets the inbox created after it", async () => {
    const l = await dev("newcomer");
    expect(l.position).toEqual({ epoch: null, offset: "0-0" });
    await pub({ to: ["newcomer"], data: "first ever" });
    const c = await connect(l);
    open.push(c);
    expect((await c.waitFor(1)).map((m) => m.data)).toEqual(["first ever"]);
  });

  it("refuses bad logins with 4xx and a JSON error", async () => {
    const r1 = await postJson(`${node.url}/v1/login`, {});
    expect([r1.status, r1.body.error.code]).toEqual([400, "INVALID_LOGIN"]);
    const r2 = await postJson(`${node.url}/v1/login`, { userId: "" });
    expect([r2.status, r2.body.error.code]).toEqual([401, "LOGIN_REFUSED"]);
  });

  it("rejects every bad token with a connect_error code", async () => {
    const l = await dev("gina");
    const fail = (auth: Record<string, unknown>) => connect({ ...l, token: auth.token as string }, auth).then(() => null, (e) => e);
    const key = new TextEncoder().encode(SECRET);
    const expired = await new SignJWT({ node: "solo" }).setProtectedHeader({ alg: "HS256" }).setSubject("gina").setIssuer("herald").setAudience("herald-channel").setExpirationTime(Math.floor(Date.now() / 1000) - 5).sign(key);
    const elsewhere = await new SignJWT({ node: "other" }).setProtectedHeader({ alg: "HS256" }).setSubject("gina").setIssuer("herald").setAudience("herald-channel").setExpirationTime("1m").sign(key);
    const forged = await new SignJWT({ node: "solo" }).setProtectedHeader({ alg: "HS256" }).setSubject("gina").setIssuer("herald").setAudience("herald-channel").setExpirationTime("1m").sign(new TextEncoder().encode("x".repeat(40)));
    expect((await fail({ token: "" })).data.code).toBe("TOKEN_MISSING");
    expect((await fail({ token: "garbage" })).data.code).toBe("TOKEN_INVALID");
    expect((await fail({ token: forged })).data.code).toBe("TOKEN_INVALID");
    expect((await fail({ token: expired })).data.code).toBe("TOKEN_EXPIRED");
    const wrong = await fail({ token: elsewhere });
    expect(wrong.data.code).toBe("WRONG_NODE");
    expect(wrong.data).toHaveProperty("node");
    expect((await fail({ token: l.token, since: { epoch: "e", offset: "bad" } })).data.code).toBe("INVALID_HANDSHAKE");
  });

  it("serves health, readiness and metrics without user ids", async () => {
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${node.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await ready.json()).checks.affinity).toBe(true);
    const text = await (await fetch(`${node.url}/metrics`)).text();
    for (const name of ["herald_connected_sockets", "herald_connected_users", "herald_logins_total", "herald_messages_published_total", "herald_messages_delivered_total", "herald_delivery_latency_seconds_bucket", "herald_redis_errors_total", "herald_process_resident_memory_bytes"]) expect(text).toContain(name);
    expect(text).toMatch(/herald_logins_total\{result="ok"\} [1-9]/);
    expect(text).not.toMatch(/alice|bob|carol/);
  });
});
