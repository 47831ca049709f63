// The real `herald` CLI against a real embedded push node: help, exit codes, and each command's work.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jwtVerify } from "jose";
import { startNode, type NodeProcess } from "../helpers/push-node.js";
import { cli, startCli } from "../helpers/cli.js";
import { until } from "../helpers/ports.js";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const DEV_CLI = fileURLToPath(new URL("../../dist/dev/cli.js", import.meta.url));

const SECRET = "cli-test-token-secret-0123456789abcdef0123";
let node: NodeProcess;
const env = () => ({ HERALD_URL: node.url });

beforeAll(async () => {
  node = await startNode({ HERALD_NODE_ID: "cli-node", HERALD_TOKEN_SECRET: SECRET, HERALD_HEARTBEAT_MS: "200" });
});
afterAll(async () => {
  await node?.stop();
});

describe("herald --help", () => {
  it("lists every command, points at the development tools, and gives the exit codes", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["push-node", "operator", "login", "listen", "publish", "status", "ticket", "check-config"]) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, "m"));
    expect(r.stdout).not.toMatch(/^  (cluster|sim)\b/m);
    expect(r.stdout).toMatch(/Development tools \(not in the image\): npm run cluster, npm run sim/);
    expect(r.stdout).toMatch(/Exit codes: 0 ok, 64 usage/);
  });

  it("the development entry point lists cluster and sim and answers --help on each without running it", async () => {
    const dev = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(process.execPath, [DEV_CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      p.stdout!.on("data", (d) => (out += d));
      p.once("close", (code) => resolve({ code, out }));
    });
    const all = await dev(["--help"]);
    expect(all.code).toBe(0);
    expect(all.out).toMatch(/^  cluster\b/m);
    expect(all.out).toMatch(/^  sim\b/m);
    for (const c of ["cluster", "sim"]) {
      const r = await dev([c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^${c}: `));
    }
    expect((await dev(["nope"])).code).toBe(2);
  });

  it.each(["push-node", "operator", "login", "listen", "publish", "status", "ticket", "check-config"])("answers `%s --help` without running it", async (c) => {
    const r = await cli([c, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: herald ${c}`));
  });

  it("exits 64 for an unknown command, a missing argument, or no command", async () => {
    const unknown = await cli(["bogus"]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/unknown command 'bogus'/);
    expect((await cli(["ticket"])).code).toBe(64);
    const bare = await cli([]);
    expect(bare.code).toBe(64);
    expect(bare.stderr).toMatch(/Usage: herald/);
  });
});

describe("herald login, publish, listen", () => {
  it("login prints the token and the node; --json for scripts", async () => {
    const text = await cli(["login", "alice"], { env: env() });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^token: ey[\w-]+\.[\w-]+\.[\w-]+$/m);
    expect(text.stdout).toContain(`node: cli-node ${node.url} (path /socket.io)`);
    const json = await cli(["login", "alice", "--json", "--url", node.url]);
    const a = JSON.parse(json.stdout);
    expect(a.userId).toBe("alice");
    expect(a.node).toEqual({ id: "cli-node", url: node.url, path: "/socket.io" });
    const { payload } = await jwtVerify(a.token, new TextEncoder().encode(SECRET));
    expect(payload.sub).toBe("alice");
  });

  it("listen prints messages as they arrive and acknowledges them: the same device later gets only newer ones", async () => {
    const l = startCli(["listen", "lena", "--json", "--count", "2", "--device", "laptop"], { env: env() });
    await until(() => /listening as lena on node cli-node/.test(l.stderr()), "the listener to connect");
    const p1 = await cli(["publish", "lena", "--data", '{"n":1}', "--event", "greet"], { env: env() });
    expect(p1.code).toBe(0);
    expect(p1.stdout).toMatch(/^published [0-9a-f-]{36}$/m);
    expect((await cli(["publish", "lena", "--text", "two", "--json"], { env: env() })).code).toBe(0);
    const r = await l.done;
    expect(r.code).toBe(0);
    const got = r.stdout.trim().split("\n").map((x) => JSON.parse(x));
    expect(got.map((m) => [m.event, m.data])).toEqual([["greet", { n: 1 }], ["message", "two"]]);

    await cli(["publish", "lena", "--text", "three"], { env: env() });
    const again = await cli(["listen", "lena", "--json", "--count", "1", "--device", "laptop"], { env: env() });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).data).toBe("three");
  });

  it("publish reads NDJSON from stdin in batches, reports each refused line, shows progress and exits 65", async () => {
    const lines = [];
    for (let i = 0; i < 25; i++) lines.push(JSON.stringify({ to: ["batchy"], data: { i } }));
    lines.splice(3, 0, "{not json");
    lines.splice(7, 0, JSON.stringify({ to: [], data: 1 }));
    const r = await cli(["publish", "--batch", "10", "--progress", "--json"], { env: env(), input: lines.join("\n") + "\n" });
    expect(r.code).toBe(65);
    const out = JSON.parse(r.stdout);
    expect(out.accepted).toBe(25);
    expect(out.rejected).toBe(2);
    expect(out.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([[4, "INVALID_JSON"], [8, "INVALID_MESSAGE"]]);
    expect(r.stderr).toMatch(/27 messages/);
    const all = await cli(["publish"], { env: env(), input: JSON.stringify({ to: ["batchy"], data: "x" }) + "\n" });
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/published 1 messages, 0 rejected/);
  });

  it("exit codes: 77 for a refused key, 69 for an unreachable node, 64 for bad options", async () => {
    const denied = await cli(["publish", "x", "--text", "t", "--key", "wrong"], { env: env() });
    expect(denied.code).toBe(77);
    expect(denied.stderr).toMatch(/UNAUTHORIZED/);
    const down = await cli(["status", "--url", "http://127.0.0.1:1"]);
    expect(down.code).toBe(69);
    expect(down.stderr).toMatch(/cannot reach/);
    expect((await cli(["publish", "x", "--data", "{bad"], { env: env() })).code).toBe(64);
  });
});

describe("herald ticket, check-config, status", () => {
  it("ticket signs an HS256 ticket the nodes accept", async () => {
    const secret = "t".repeat(40);
    const r = await cli(["ticket", "tom", "--ttl", "60", "--issuer", "shop"], { env: { HERALD_TICKET_SECRET: secret } });
    expect(r.code).toBe(0);
    const { payload } = await jwtVerify(r.stdout.trim(), new TextEncoder().encode(secret), { issuer: "shop" });
    expect(payload.sub).toBe("tom");
    expect(payload.exp! - payload.iat!).toBe(60);
    const none = await cli(["ticket", "tom"]);
    expect(none.code).toBe(64);
    expect(none.stderr).toMatch(/HERALD_TICKET_SECRET/);
  });

  it("check-config lists every problem at once, cross-field rules included, and exits 78", async () => {
    const r = await cli(["check-config", "--json"], {
      env: { PORT: "seventy", REDIS_URL: "redis://x", HERALD_AUTH_MODE: "ticket", HERALD_AFFINITY_FILE: "/a", HERALD_AFFINITY_CONFIGMAP: "cm", LOG_LEVEL: "loud" },
    });
    expect(r.code).toBe(78);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.problems.map((p: { variable: string }) => p.variable).sort()).toEqual(
      ["HERALD_AFFINITY_CONFIGMAP", "HERALD_PUBLISH_KEYS", "HERALD_TICKET_SECRET", "HERALD_TOKEN_SECRET", "LOG_LEVEL", "PORT", "POD_NAMESPACE"].sort(),
    );
    const text = await cli(["check-config"], { env: { PORT: "x", HERALD_AUTH_MODE: "webhook" } });
    expect(text.code).toBe(78);
    expect(text.stdout).toMatch(/^2 problems:$/m);
    const ok = await cli(["check-config"], { env: { PORT: "4000" } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/configuration is valid/);
    expect(ok.stdout).toMatch(/mode: embedded/);
  });

  it("status shows the node, its sockets and users, and the affinity version", async () => {
    const l = startCli(["listen", "sam", "--count", "1"], { env: env() });
    await until(() => /listening as sam/.test(l.stderr()), "the listener to connect");
    const s = await until(async () => {
      const r = await cli(["status", "--json"], { env: env() });
      const j = JSON.parse(r.stdout);
      return j.totals.sockets >= 1 ? j : null;
    }, "status to count the listener");
    expect(s.node).toBe("cli-node");
    expect(s.affinityVersion).toBeGreaterThanOrEqual(1);
    expect(s.nodes[0]).toMatchObject({ id: "cli-node", state: "active", alive: true, url: node.url });
    expect(JSON.stringify(s)).not.toContain("sam");
    const text = await cli(["status"], { env: env() });
    expect(text.stdout).toMatch(/^NODE\s+STATE\s+SOCKETS\s+USERS/);
    expect(text.stdout).toMatch(/^cli-node\s+active\s+\d+\s+\d+/m);
    await cli(["publish", "sam", "--text", "bye"], { env: env() });
    expect((await l.done).code).toBe(0);
  });
});
