// Errors a browser can read, and an SDK that acts on each: CORS headers on every answer (errors too);
// a 400 stops the client (state `failed`, the server's code reported), a 401 asks for credentials again
// with backoff, a 429 waits for Retry-After, a 5xx is retried. Real embedded node; the 429/503 come from
// a real HTTP front that answers the first logins itself and forwards the rest to the node.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeraldClient, loginRetryable, retryAfterMs, type HeraldError } from "../../client/index.js";
import { startNode, type NodeProcess } from "../helpers/push-node.js";

let node: NodeProcess;
const clients: HeraldClient[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  node = await startNode({ HERALD_NODE_ID: "errors", HERALD_TOKEN_SECRET: "sdk-login-errors-secret-0123456789abcdef" });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of servers) s.close();
  await node?.stop();
});

function client(credentials: () => { body: Record<string, unknown> }, url = node.url) {
  const c = new HeraldClient({ url, credentials, backoff: { initialMs: 20, maxMs: 100 } });
  const errors: HeraldError[] = [];
  c.on("error", (e) => errors.push(e));
  clients.push(c);
  return { c, errors };
}
function reaches(c: HeraldClient, state: string): Promise<void> {
  return new Promise((resolve) => {
    if (c.state === state) return resolve();
    c.on("state", (s) => s === state && resolve());
  });
}

/** A real HTTP server that answers the first `canned.length` logins itself, then forwards to the node; records when each login came. */
async function front(canned: Array<{ status: number; headers?: Record<string, string> }>) {
  const times: number[] = [];
  const srv = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    times.push(Date.now());
    const answer = canned[times.length - 1];
    if (answer) {
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      return res.end(JSON.stringify({ error: { code: `CANNED_${answer.status}`, message: "from the test's front" } }));
    }
    const r = await fetch(`${node.url}${req.url}`, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
    res.writeHead(r.status, { "content-type": "application/json" });
    res.end(await r.text());
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, times };
}

describe("errors a browser can read", () => {
  it("every answer carries the CORS headers, errors included", async () => {
    const origin = { origin: "http://app.example" };
    const bad = await fetch(`${node.url}/v1/login`, { method: "POST", headers: { ...origin, "content-type": "application/json" }, body: "{}" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("access-control-allow-origin")).toBe("*");
    expect(bad.headers.get("access-control-expose-headers")).toMatch(/Retry-After/i);
    expect((await bad.json()).error.code).toBe("INVALID_LOGIN");
    const refused = await fetch(`${node.url}/v1/login`, { method: "POST", headers: { ...origin, "content-type": "application/json" }, body: JSON.stringify({ userId: "a\u0001" }) });
    expect([refused.status, refused.headers.get("access-control-allow-origin")]).toEqual([401, "*"]);
    const missing = await fetch(`${node.url}/nowhere`, { headers: origin });
    expect([missing.status, missing.headers.get("access-control-allow-origin")]).toEqual([404, "*"]);
    const preflight = await fetch(`${node.url}/v1/publish`, { method: "OPTIONS", headers: { ...origin, "access-control-request-method": "POST" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/authorization/);
    const unauthorized = await fetch(`${node.url}/v1/publish`, { method: "POST", headers: origin });
    expect([unauthorized.status, unauthorized.headers.get("access-control-allow-origin")]).toEqual([401, "*"]);
  });
});

describe("the SDK acts per code", () => {
  it("400: stops in state `failed` after one login, reporting the server's code", async () => {
    let calls = 0;
    const { c, errors } = client(() => (calls++, { body: {} }));
    c.start();
    await reaches(c, "failed");
    expect(calls).toBe(1);
    expect(errors.map((e) => [e.code, e.status, e.retryable])).toEqual([["INVALID_LOGIN", 400, false]]);
    await c.close();
    expect(c.state).toBe("closed");
    expect(calls).toBe(1);
  });

  it("401 LOGIN_REFUSED: calls credentials() again, and connects once they are accepted", async () => {
    let calls = 0;
    const { c, errors } = client(() => ({ body: { userId: ++calls < 3 ? "bad\u0001" : "rita" } }));
    c.start();
    await reaches(c, "connected");
    expect(calls).toBe(3);
    expect(errors.map((e) => [e.code, e.status, e.retryable])).toEqual([["LOGIN_REFUSED", 401, true], ["LOGIN_REFUSED", 401, true]]);
  });

  it("429: waits for Retry-After before logging in again; 5xx: retried with backoff", async () => {
    const f = await front([{ status: 429, headers: { "retry-after": "1" } }, { status: 503 }]);
    const { c, errors } = client(() => ({ body: { userId: "patient" } }), f.url);
    c.start();
    await reaches(c, "connected");
    expect(f.times).toHaveLength(3);
    // the backoff alone would have retried within 20 ms; the server asked for a second
    expect(f.times[1]! - f.times[0]!).toBeGreaterThanOrEqual(950);
    expect(errors.map((e) => [e.code, e.retryable, e.retryAfterMs])).toEqual([["CANNED_429", true, 1000], ["CANNED_503", true, undefined]]);
  });

  it("decides by status and reads Retry-After in both forms (pure)", () => {
    expect([400, 401, 403, 404, 408, 413, 415, 429, 500, 502, 503].map(loginRetryable)).toEqual([false, true, false, false, true, false, false, true, true, true, true]);
    expect(retryAfterMs("3", 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});
