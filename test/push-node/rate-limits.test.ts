// Login and publish rate limits on a real node: 429 with Retry-After and a JSON body, per IP (through
// trusted proxies only), per user, per publish key.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { postJson, publish } from "../helpers/client.js";

let node: NodeProcess;
beforeAll(async () => {
  node = await startNode({
    HERALD_LOGIN_PER_IP_PER_MINUTE: "4",
    HERALD_LOGIN_PER_USER_PER_MINUTE: "2",
    HERALD_PUBLISH_PER_KEY_PER_MINUTE: "5",
    HERALD_TRUSTED_PROXIES: "127.0.0.1",
  });
});
afterAll(async () => {
  await node?.stop();
});

const loginFrom = (ip: string, userId: string) => postJson(`${node.url}/v1/login`, { userId }, { "x-forwarded-for": ip });

function expect429(r: { status: number; body: any }, limit: string) {
  expect(r.status).toBe(429);
  expect(r.body.error).toMatchObject({ code: "RATE_LIMITED", limit });
  expect(r.body.error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
}

describe("rate limits", () => {
  it("limits logins per user", async () => {
    expect((await loginFrom("192.0.2.1", "ursula")).status).toBe(200);
    expect((await loginFrom("192.0.2.2", "ursula")).status).toBe(200);
    expect429(await loginFrom("192.0.2.3", "ursula"), "login_user");
    expect((await loginFrom("192.0.2.3", "victor")).status).toBe(200);
  });

  it("limits logins per client IP, read from X-Forwarded-For of a trusted proxy, with Retry-After", async () => {
    for (let i = 0; i < 4; i++) expect((await loginFrom("198.51.100.7", `ip-user-${i}`)).status).toBe(200);
    const res = await fetch(`${node.url}/v1/login`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": "198.51.100.7" }, body: JSON.stringify({ userId: "ip-user-9" }) });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect429({ status: res.status, body: await res.json() }, "login_ip");
    // another client behind the same proxy has its own bucket
    expect((await loginFrom("198.51.100.8", "ip-user-9")).status).toBe(200);
  });

  it("limits publishing per key, a batch counting each message", async () => {
    expect((await publish(node.url, { messages: [1, 2, 3].map((n) => ({ to: ["p"], data: n })) }, "dev-publish-key")).status).toBe(202);
    expect((await publish(node.url, { to: ["p"], data: 4 }, "dev-publish-key")).status).toBe(202);
    expect((await publish(node.url, { to: ["p"], data: 5 }, "dev-publish-key")).status).toBe(202);
    expect429(await publish(node.url, { to: ["p"], data: 6 }, "dev-publish-key"), "publish_key");
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    for (const limit of ["login_ip", "login_user", "publish_key"]) expect(metrics).toMatch(new RegExp(`herald_limit_refusals_total\\{limit="${limit}"\\} [1-9]`));
  });
});
