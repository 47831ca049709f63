// Login verification modes against a real business backend (an HTTP server in this test process).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { TICKET_SECRET, startNode, type NodeProcess } from "../helpers/push-node.js";
import { connect, postJson } from "../helpers/client.js";

let backend: Server;
let backendUrl = "";
let jwks: unknown = { keys: [] };
const seen: Array<{ body: unknown; authorization?: string }> = [];
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  backend = createServer((req, res) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      if (req.url === "/jwks.json") return void res.end(JSON.stringify(jwks));
      const body = text ? JSON.parse(text) : {};
      seen.push({ body, authorization: req.headers.authorization });
      if (req.url === "/slow") return; // never answers: the node must time out
      if (req.url === "/redirect") return void res.writeHead(302, { location: "/login" }).end();
      if (req.url === "/broken") return void res.writeHead(500).end("oops");
      if (body.password === "right") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ userId: body.user }));
      res.writeHead(403).end();
    });
  });
  await new Promise<void>((r) => backend.listen(0, "127.0.0.1", () => r()));
  backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  backend.closeAllConnections();
  await new Promise((r) => backend.close(r));
});

async function node(env: Record<string, string>) {
  const n = await startNode(env);
  nodes.push(n);
  return n;
}

describe("webhook login", () => {
  it("forwards the body to the business backend and logs in the user it names", async () => {
    // a timeout a loaded machine cannot trip (the short one is for the next test's slow backend)
    const n = await node({ HERALD_AUTH_MODE: "webhook", HERALD_WEBHOOK_URL: `${backendUrl}/login`, HERALD_WEBHOOK_TIMEOUT_MS: "10000" });
    const ok = await postJson(`${n.url}/v1/login`, { user: "wendy", password: "right" }, { authorization: "Bearer app-session" });
    expect(ok.status).toBe(200);
    expect(ok.body.userId).toBe("wendy");
    expect(seen.at(-1)).toEqual({ body: { user: "wendy", password: "right" }, authorization: "Bearer app-session" });
    const c = await connect(ok.body);
    c.close();
    const refused = await postJson(`${n.url}/v1/login`, { user: "wendy", password: "wrong" });
    expect([refused.status, refused.body.error.code]).toEqual([401, "LOGIN_REFUSED"]);
  });

  it("answers 502 when the backend times out, redirects or fails", async () => {
    for (const path of ["/slow", "/redirect", "/broken"]) {
      const n = await node({ HERALD_AUTH_MODE: "webhook", HERALD_WEBHOOK_URL: `${backendUrl}${path}`, HERALD_WEBHOOK_TIMEOUT_MS: "300" });
      const r = await postJson(`${n.url}/v1/login`, { user: "x", password: "right" });
      expect({ path, status: r.status, code: r.body.error.code }).toEqual({ path, status: 502, code: "LOGIN_BACKEND_UNAVAILABLE" });
    }
  });
});

describe("ticket login", () => {
  it("accepts an RS256 ticket verified through a JWKS URL and refuses a forged one", async () => {
    const { publicKey, privateKey } = await generateKeyPair("RS256");
    const other = await generateKeyPair("RS256");
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" }] };
    const n = await node({ HERALD_AUTH_MODE: "ticket", HERALD_TICKET_JWKS_URL: `${backendUrl}/jwks.json`, HERALD_TICKET_ISSUER: "shop" });
    const ticket = (key: CryptoKey, iss = "shop") => new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).setSubject("rita").setIssuer(iss).setExpirationTime("1m").sign(key);
    const ok = await postJson(`${n.url}/v1/login`, { ticket: await ticket(privateKey) });
    expect([ok.status, ok.body.userId]).toEqual([200, "rita"]);
    const forged = await postJson(`${n.url}/v1/login`, { ticket: await ticket(other.privateKey) });
    expect([forged.status, forged.body.error.code]).toEqual([401, "LOGIN_REFUSED"]);
    const wrongIssuer = await postJson(`${n.url}/v1/login`, { ticket: await ticket(privateKey, "elsewhere") });
    expect(wrongIssuer.status).toBe(401);
    const missing = await postJson(`${n.url}/v1/login`, { userId: "rita" });
    expect([missing.status, missing.body.error.code]).toEqual([400, "INVALID_LOGIN"]);
  });
});

describe("ticket lifetime", () => {
  const key = new TextEncoder().encode(TICKET_SECRET);
  const now = () => Math.floor(Date.now() / 1000);
  const sign = (claims: { iat?: number; exp?: number }) => {
    let t = new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("tess");
    if (claims.iat !== undefined) t = t.setIssuedAt(claims.iat);
    if (claims.exp !== undefined) t = t.setExpirationTime(claims.exp);
    return t.sign(key);
  };
  const tryLogin = async (n: NodeProcess, claims: { iat?: number; exp?: number }) => {
    const r = await postJson(`${n.url}/v1/login`, { ticket: await sign(claims) });
    return r.status === 200 ? "ok" : `${r.status} ${r.body.error.code}: ${r.body.error.message}`;
  };

  it("requires exp and refuses tickets living longer than HERALD_TICKET_MAX_LIFETIME_SECONDS (default 300)", async () => {
    const n = await node({ HERALD_AUTH_MODE: "ticket", HERALD_TICKET_SECRET: TICKET_SECRET });
    expect(await tryLogin(n, { iat: now(), exp: now() + 300 })).toBe("ok");
    expect(await tryLogin(n, { exp: now() + 60 })).toBe("ok");
    expect(await tryLogin(n, { iat: now() })).toMatch(/^401 LOGIN_REFUSED: .*exp/);
    expect(await tryLogin(n, { iat: Date.UTC(2000, 0, 1) / 1000 })).toMatch(/^401 LOGIN_REFUSED/);
    expect(await tryLogin(n, {})).toMatch(/^401 LOGIN_REFUSED/);
    expect(await tryLogin(n, { iat: now(), exp: now() + 301 })).toMatch(/^401 LOGIN_REFUSED: .*limit is 300 s/);
    expect(await tryLogin(n, { exp: now() + 24 * 3600 })).toMatch(/^401 LOGIN_REFUSED: .*limit is 300 s/);
    // iat set ahead cannot stretch the bound, and a far-future iat is refused outright
    expect(await tryLogin(n, { iat: now() + 3600, exp: now() + 3700 })).toMatch(/^401 LOGIN_REFUSED/);
    // the clock-skew allowance (30 s): just expired or issued slightly ahead still passes
    expect(await tryLogin(n, { iat: now() - 310, exp: now() - 10 })).toBe("ok");
    expect(await tryLogin(n, { iat: now() + 10, exp: now() + 200 })).toBe("ok");
    expect(await tryLogin(n, { iat: now() - 400, exp: now() - 100 })).toMatch(/^401 LOGIN_REFUSED/);
  });

  it("takes a longer bound from HERALD_TICKET_MAX_LIFETIME_SECONDS", async () => {
    const n = await node({ HERALD_AUTH_MODE: "ticket", HERALD_TICKET_SECRET: TICKET_SECRET, HERALD_TICKET_MAX_LIFETIME_SECONDS: "3600", HERALD_TICKET_CLOCK_SKEW_SECONDS: "0" });
    expect(await tryLogin(n, { iat: now(), exp: now() + 3600 })).toBe("ok");
    expect(await tryLogin(n, { iat: now(), exp: now() + 3601 })).toMatch(/^401 LOGIN_REFUSED/);
    expect(await tryLogin(n, { iat: now() - 700, exp: now() - 5 })).toMatch(/^401 LOGIN_REFUSED/);
  });
});

describe("bad configuration", () => {
  it("exits with a readable message naming the variable", async () => {
    const n = await startNode({ PORT: "not-a-port", HERALD_AUTH_MODE: "ticket" }, { expectReady: false });
    expect(await n.exited).toBe(78);
    expect(n.logs()).toMatch(/PORT="not-a-port"/);
    const m = await startNode({ REDIS_URL: "redis://127.0.0.1:1", HERALD_AUTH_MODE: "dev" }, { expectReady: false });
    expect(await m.exited).toBe(78);
    expect(m.logs()).toMatch(/HERALD_AUTH_MODE: dev accepts any user/);
  });
});
