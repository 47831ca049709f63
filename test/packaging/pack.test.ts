// Both packages as a user gets them: `npm pack` the server (herald) and the SDK (@herald-push/client)
// from a clean copy of the sources (prepack builds them), install the tarballs into an empty project
// offline (from the tarballs and npm's cache, which `npm ci` filled: no registry), start the installed
// `herald push-node`, and receive a message through the installed SDK in Node and, as is, in Chromium.
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ROOT } from "../helpers/push-node.js";
import { launchChromium } from "../helpers/browser.js";
import { freePort, until } from "../helpers/ports.js";
import { startRedis } from "../helpers/redis.js";
import { Redis } from "ioredis";

const run = promisify(execFile);
const SOURCES = ["package.json", "package-lock.json", "tsconfig.json", "README.md", "cli.ts", "cli", "bin", "crds", "demo", "protocol", "common", "push-node", "operator", "client", "dev"];
let work: string;
let tarballs: { server: string; client: string };
let app: string;
let installedUrl: string;
const stops: Array<() => Promise<unknown>> = [];

async function pack(dir: string, dest: string): Promise<string> {
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dest], { cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf("[")));
  return join(dest, info.filename);
}
async function list(tgz: string): Promise<string[]> {
  return (await run("tar", ["tzf", tgz], { maxBuffer: 16 * 1024 * 1024 })).stdout.trim().split("\n");
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "herald-pack-"));
  const src = join(work, "src");
  for (const s of SOURCES) cpSync(join(ROOT, s), join(src, s), { recursive: true, filter: (p) => !/\/(dist|node_modules)(\/|$)/.test(p.slice(ROOT.length)) });
  symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"));
  const dest = join(work, "tarballs");
  cpSync(join(ROOT, "crds"), join(dest, ".keep"), { recursive: true }); // creates the folder
  tarballs = { server: await pack(src, dest), client: await pack(join(src, "client"), dest) };

  // An empty project that depends on the two tarballs; its lockfile pins every other package to what the
  // repository's lockfile holds, so npm takes them from its cache (--offline: never the registry).
  app = join(work, "app");
  cpSync(join(ROOT, "crds"), join(app, ".keep"), { recursive: true });
  const deps = { herald: `file:${tarballs.server}`, "@herald-push/client": `file:${tarballs.client}` };
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const packages: Record<string, unknown> = { "": { name: "app", version: "1.0.0", dependencies: deps } };
  for (const [k, v] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) if (k.startsWith("node_modules/") && !v.dev) packages[k] = v;
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module", dependencies: deps }));
  writeFileSync(join(app, "package-lock.json"), JSON.stringify({ name: "app", version: "1.0.0", lockfileVersion: 3, requires: true, packages }));
  await run("npm", ["install", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
}, 240_000);

afterAll(async () => {
  for (const stop of stops) await stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packages", () => {
  it("the server tarball holds the build (dist, bin, crds) and no sources or tests", async () => {
    const files = await list(tarballs.server);
    for (const f of ["package/bin/herald.js", "package/dist/cli.js", "package/dist/push-node/index.js", "package/dist/push-node/index.d.ts", "package/dist/client/index.js", "package/crds/pushcluster.yaml"]) expect(files).toContain(f);
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("package/test/") || f.startsWith("package/dist/dev/") || f.startsWith("package/dist/bench/"))).toEqual([]);
    expect(files).toContain("package/dist/protocol/positions.js");
    for (const script of ["append", "attach", "detach", "ack"]) expect(files).toContain(`package/dist/push-node/adapters/redis/lua/${script}.lua`); // copied by the build
  });

  it("installed: the publisher library (herald's main entry) appends through its Lua scripts on a real redis-server", { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    writeFileSync(
      join(app, "publish.mjs"),
      `import { createPublisher } from "herald";
const publisher = await createPublisher({ redisUrl: ${JSON.stringify(redis.url)} });
const r = await publisher.publish({ to: ["packed"], data: { via: "library" } });
console.log(JSON.stringify(r));
await publisher.close();
`,
    );
    const { stdout } = await run(process.execPath, ["publish.mjs"], { cwd: app });
    const result = JSON.parse(stdout.trim().split("\n").pop()!);
    expect(result).toMatchObject({ duplicate: false, id: expect.any(String) });
    const client = new Redis(redis.port, "127.0.0.1");
    try {
      expect(await client.xlen("herald:{u:packed}:inbox")).toBe(1);
    } finally {
      client.disconnect();
    }
  });

  it("the SDK tarball: ESM, types, a browser build, and only socket.io-client at run time", async () => {
    const files = await list(tarballs.client);
    for (const f of ["package/dist/client/index.js", "package/dist/client/index.d.ts", "package/dist/client/position.js", "package/dist/protocol/positions.js", "package/dist/herald-client.browser.js", "package/dist/herald-client.browser.iife.js"]) expect(files).toContain(f);
    const pkg = JSON.parse(readFileSync(join(app, "node_modules/@herald-push/client/package.json"), "utf8"));
    expect(pkg.type).toBe("module");
    expect(Object.keys(pkg.dependencies)).toEqual(["socket.io-client"]);
    const browser = readFileSync(join(app, "node_modules/@herald-push/client/dist/herald-client.browser.js"), "utf8");
    expect(browser).not.toMatch(/from\s*["'](socket\.io-client|engine\.io-client|node:[a-z]+)["']/); // self-contained
    expect(existsSync(join(app, "node_modules/ioredis"))).toBe(true); // the server's dependencies, for the server
    expect(readdirSync(join(app, "node_modules/@herald-push/client"))).not.toContain("node_modules");
  });

  it("installed: `herald push-node` runs, and the SDK (and herald/client) in Node receives a message", { timeout: 90_000 }, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    installedUrl = url;
    const nodeProc = spawn(process.execPath, [join(app, "node_modules/herald/bin/herald.js"), "push-node"], {
      cwd: app,
      env: { PATH: process.env.PATH ?? "", PORT: String(port), HOST: "127.0.0.1", HERALD_PUBLIC_URL: url, LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const nodeExit = new Promise((r) => nodeProc.once("exit", r));
    stops.push(async () => (nodeProc.exitCode === null ? (nodeProc.kill("SIGTERM"), nodeExit) : null));
    await until(async () => (await fetch(`${url}/readyz`)).status === 200, "the installed node to be ready", 20_000);

    writeFileSync(
      join(app, "receive.mjs"),
      `import { createClient } from "@herald-push/client";
import * as legacy from "herald/client";
if (typeof legacy.createClient !== "function") throw new Error("herald/client lacks createClient");
const client = createClient({ url: ${JSON.stringify(url)}, credentials: () => ({ body: { userId: "packed" } }) });
client.on("connected", (c) => console.log("connected " + c.node.id));
client.on("message", (m) => { console.log("got " + JSON.stringify(m.data)); void client.close(); });
client.start();
`,
    );
    const recv = spawn(process.execPath, ["receive.mjs"], { cwd: app, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    recv.stdout!.on("data", (d) => (out += d));
    recv.stderr!.on("data", (d) => (out += d));
    const recvExit = new Promise<number | null>((r) => recv.once("exit", r));
    stops.push(async () => (recv.exitCode === null ? (recv.kill("SIGTERM"), recvExit) : null));
    let exited = false;
    void recvExit.then(() => (exited = true));
    await until(() => {
      if (exited) throw new Error(`receive.mjs exited: ${out}`);
      return out.includes("connected node-1");
    }, "the packed SDK to connect");
    const r = await fetch(`${url}/v1/publish`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer dev-publish-key" }, body: JSON.stringify({ to: ["packed"], data: { from: "tarball" } }) });
    expect(r.status).toBe(202);
    expect(await recvExit).toBe(0); // close() leaves nothing running
    expect(out).toContain('got {"from":"tarball"}');
  });

  it("installed: the SDK's browser build, loaded as is in Chromium, receives a message", async () => {
    expect(installedUrl, "the previous test starts the installed node").toBeTruthy();
    const bundle = readFileSync(join(app, "node_modules/@herald-push/client/dist/herald-client.browser.js"));
    const page = `<!doctype html><script type="module">
import { createClient } from "/sdk.js";
const client = createClient({ url: ${JSON.stringify(installedUrl)}, credentials: () => ({ body: { userId: "browser" } }) });
client.on("connected", () => (document.body.dataset.state = "connected"));
client.on("message", (m) => (document.body.dataset.got = JSON.stringify(m.data)));
client.start();
</script>`;
    const site = createServer((req, res) => {
      if (req.url === "/sdk.js") res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
      else res.writeHead(200, { "content-type": "text/html" }).end(page);
    });
    await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on("pageerror", (e) => errors.push(e.message));
      await tab.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      await tab.waitForFunction(() => document.body.dataset.state === "connected");
      const r = await fetch(`${installedUrl}/v1/publish`, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer dev-publish-key" }, body: JSON.stringify({ to: ["browser"], data: { via: "browser build" } }) });
      expect(r.status).toBe(202);
      await tab.waitForFunction(() => document.body.dataset.got !== undefined);
      expect(await tab.evaluate(() => document.body.dataset.got)).toBe('{"via":"browser build"}');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      site.close();
    }
  });
});
