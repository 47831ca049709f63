// The demo and status page end to end in Debian's chromium: two browser users on a Redis-backed cluster,
// a message published from one tab reaches the other live through the SDK's browser build, and the
// cluster view changes by itself when a node joins. Screenshots: see IMG.
import { mkdirSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, PUBLISH_KEY, ROOT, type NodeProcess } from "../helpers/push-node.js";
import { ticketFor } from "../helpers/client.js";
import { launchChromium } from "../helpers/browser.js";

// Every run saves its screenshots under .tmp/screenshots; HERALD_UPDATE_SCREENSHOTS=1 writes them to
// docs/img (the README's picture) instead, so that an ordinary run leaves the checkout unchanged.
const IMG = process.env.HERALD_UPDATE_SCREENSHOTS === "1" ? `${ROOT}docs/img` : `${ROOT}.tmp/screenshots`;
let redis: RedisServer;
let browser: Browser;
const nodes: NodeProcess[] = [];

beforeAll(async () => {
  mkdirSync(IMG, { recursive: true });
  redis = await startRedis();
  nodes.push(await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: "push-a", HERALD_DEMO_PAGE: "true" })));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  for (const n of nodes) await n.stop();
  await redis?.stop();
});

async function logIn(page: Page, user: string): Promise<void> {
  await page.goto(nodes[0]!.url);
  await page.fill("#who", await ticketFor(user));
  await page.click("#login button");
  await page.waitForFunction(() => document.getElementById("state")?.textContent === "connected");
}

describe("demo page", () => {
  it("is off on a Redis-backed node unless HERALD_DEMO_PAGE is set, on by default in embedded mode", async () => {
    const plain = await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: "plain" }));
    try {
      expect((await fetch(`${plain.url}/`)).status).toBe(404);
    } finally {
      await plain.stop();
    }
    const embedded = await startNode({});
    try {
      const r = await fetch(`${embedded.url}/`);
      expect([r.status, r.headers.get("content-type")]).toEqual([200, "text/html; charset=utf-8"]);
      expect((await fetch(`${embedded.url}/herald-client.browser.js`)).status).toBe(200);
    } finally {
      await embedded.stop();
    }
  });

  it("two users in two tabs: a message published from one reaches the other live; the cluster view follows a node joining", async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const alice = await context.newPage();
    const bob = await context.newPage();
    const pageErrors: string[] = [];
    for (const p of [alice, bob]) p.on("pageerror", (e) => pageErrors.push(e.message));
    await logIn(alice, "alice");
    await logIn(bob, "bob");
    expect(await alice.textContent("#me")).toBe("alice");
    expect(await bob.textContent("#node")).toContain("push-a");

    // the page holds no key: it asks for one
    const html = await (await fetch(`${nodes[0]!.url}/`)).text();
    const js = await (await fetch(`${nodes[0]!.url}/demo.js`)).text();
    expect(html + js).not.toContain(PUBLISH_KEY);

    await alice.fill("#key", PUBLISH_KEY);
    await alice.fill("#to", "bob");
    await alice.fill("#data", '{"hi": "from alice"}');
    await alice.click("#publish button");
    await alice.waitForFunction(() => /^published /.test(document.getElementById("publish-result")?.textContent ?? ""));
    await bob.waitForFunction(() => document.getElementById("messages")?.textContent?.includes('message: {"hi":"from alice"}'));
    expect(await alice.locator("#messages li").count()).toBe(0);

    // a wrong key is refused, and the page says why
    await alice.fill("#key", "not-the-key");
    await alice.click("#publish button");
    await alice.waitForFunction(() => /refused \(401\) UNAUTHORIZED/.test(document.getElementById("publish-result")?.textContent ?? ""));

    await alice.waitForFunction(() => document.querySelectorAll("#cluster tbody tr").length === 1 && /2 sockets/.test(document.getElementById("cluster-summary")?.textContent ?? ""));
    await bob.screenshot({ path: `${IMG}/demo.png`, fullPage: true });

    nodes.push(await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: "push-b" })));
    await alice.waitForFunction(() => {
      const rows = [...document.querySelectorAll("#cluster tbody tr")].map((r) => (r as HTMLElement).dataset.node);
      return rows.join(",") === "push-a,push-b" && /2\/2 nodes alive/.test(document.getElementById("cluster-summary")?.textContent ?? "");
    });
    await alice.screenshot({ path: `${IMG}/demo-cluster.png`, fullPage: true });
    expect(pageErrors).toEqual([]);
    await context.close();
  });
});
