// The SDK's own duties against a real node: a failing handler gets the message again (and the
// application still sees each message once), expired or misdirected tokens lead to a new login, the
// token is renewed before it expires without dropping the channel, and close() leaves nothing running.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, TOKEN_SECRET, PUBLISH_KEY, type NodeProcess } from "../helpers/push-node.js";
import { publish, ticketFor } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { sdkApp, type SdkApp } from "../helpers/sdk.js";

let redis: RedisServer;
let node: NodeProcess;
const apps: SdkApp[] = [];
const start = (...a: Parameters<typeof sdkApp>) => {
  const app = sdkApp(...a);
  apps.push(app);
  return app;
};
async function send(user: string, seqs: number[]) {
  for (const seq of seqs) expect((await publish(node.url, { to: [user], data: { seq } }, PUBLISH_KEY)).status).toBe(202);
}
/** An access token as a node would issue, but expired, or for another node. */
function forgedToken(user: string, nodeId: string, expiredSecondsAgo: number): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) - expiredSecondsAgo;
  return new SignJWT({ node: nodeId }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setSubject(user).setIssuer("herald").setAudience("herald-channel")
    .setIssuedAt(exp - 600).setExpirationTime(exp).sign(new TextEncoder().encode(TOKEN_SECRET));
}
/** fetch that answers the first login with `first` (a forged token for this node's address), then the real thing. */
function firstLoginReturns(token: () => Promise<string>): { fetch: typeof fetch; logins: () => number } {
  let n = 0;
  return {
    logins: () => n,
    fetch: async (input, init) => {
      if (n++ > 0) return fetch(input, init);
      const body = { token: await token(), expiresAt: new Date(Date.now() + 600_000).toISOString(), userId: "x", node: { id: node.id, url: node.url, path: "/socket.io" } };
      return new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    },
  };
}

beforeAll(async () => {
  redis = await startRedis();
  node = await startNode(clusterEnv(redis.url, { HERALD_TOKEN_TTL_SECONDS: "10" }));
});
afterAll(async () => {
  await Promise.all(apps.map((x) => x.close()));
  await node?.stop();
  await redis?.stop();
});

describe("SDK duties", () => {
  it("a handler that throws gets the message again; the application sees each message once, in order", async () => {
    let failures = 0;
    const processed: number[] = [];
    const app = start(node.url, "flaky", {
      onMessage: (m) => {
        if (m.data.seq === 3 && failures < 2) {
          failures++;
          throw new Error("database busy");
        }
        processed.push(m.data.seq);
      },
    });
    await app.until(() => app.client.state === "connected", "connected");
    await send("flaky", [1, 2, 3, 4, 5]);
    await app.until(() => app.seqs.length === 5, "5 messages");
    expect(processed).toEqual([1, 2, 3, 4, 5]);
    expect(app.seqs).toEqual([1, 2, 3, 4, 5]);
    expect(app.errors.filter((e) => e.code === "HANDLER_FAILED")).toHaveLength(2);
    expect(app.client.stats.connections).toBeGreaterThanOrEqual(3);
  });

  it("TOKEN_EXPIRED: logs in again with fresh credentials and connects", async () => {
    const f = firstLoginReturns(() => forgedToken("late", node.id, 5));
    const reasons: string[] = [];
    const app = start(node.url, "late", { fetch: f.fetch });
    app.client.on("disconnected", (d) => reasons.push(d.reason));
    await app.until(() => app.client.state === "connected", "connected");
    await send("late", [1]);
    await app.until(() => app.seqs.length === 1, "seq 1");
    expect(reasons[0]).toBe("TOKEN_EXPIRED");
    expect(f.logins()).toBe(2);
  });

  it("WRONG_NODE: logs in again and goes where the login says", async () => {
    const f = firstLoginReturns(() => forgedToken("lost", "some-other-node", -600));
    const reasons: string[] = [];
    const app = start(node.url, "lost", { fetch: f.fetch });
    app.client.on("disconnected", (d) => reasons.push(d.reason));
    await app.until(() => app.client.state === "connected", "connected");
    await send("lost", [1]);
    await app.until(() => app.seqs.length === 1, "seq 1");
    expect(reasons[0]).toBe("WRONG_NODE");
    expect(f.logins()).toBe(2);
  });

  it("renews the token before it expires, through the credentials callback, keeping the channel", async () => {
    let asked = 0;
    const withCount = start(node.url, "long-lived-2", {
      credentials: async () => {
        asked++;
        return { body: { ticket: await ticketFor("long-lived-2") } };
      },
    });
    // tokens live 10 s here: renewed at 8 s
    await withCount.until(() => withCount.client.stats.logins >= 2, "a renewal", 15_000);
    expect(asked).toBe(2);
    expect(withCount.client.stats.connections).toBe(1);
    await send("long-lived-2", [1]);
    await withCount.until(() => withCount.seqs.length === 1, "delivery after the renewal");
  });

  it("close() leaves no timer, socket or loop running: the process ends by itself", async () => {
    const proc = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "sdk-close.mjs")], {
      env: { PATH: process.env.PATH ?? "", HERALD_URL: node.url, TICKET: await ticketFor("closer") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    try {
      await until(() => out.includes("connected"), "the SDK process to connect");
      await send("closer", [1]);
      // a pending ack timer (60 s) or token renewal (8 s) would keep it alive past this wait
      const code = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 5000))]);
      expect(code, out).toBe(0);
      expect(out).toContain("closed");
    } finally {
      proc.kill("SIGKILL");
    }
  });
});
