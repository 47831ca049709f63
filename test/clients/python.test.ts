// docs/clients.md's Python example, run as written with Debian's python3-socketio against a real node:
// it logs in, connects, receives, acknowledges, comes back after the node closes its channel, and a
// restarted process resumes from its saved position.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, ROOT, type NodeProcess } from "../helpers/push-node.js";
import { postJson, publish } from "../helpers/client.js";
import { until } from "../helpers/ports.js";

const PYTHON = "/usr/bin/python3"; // Debian's, where python3-socketio is installed
let node: NodeProcess;
let dir: string;
let script: string;

beforeAll(async () => {
  const doc = readFileSync(`${ROOT}docs/clients.md`, "utf8");
  const code = /```python\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(code, "docs/clients.md has a python block").toBeTruthy();
  dir = mkdtempSync(join(tmpdir(), "herald-python-"));
  script = join(dir, "herald_client.py");
  writeFileSync(script, code!);
  node = await startNode({ HERALD_NODE_ID: "py-node", HERALD_TOKEN_SECRET: "python-test-token-secret-0123456789abcdef" });
});
afterAll(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function python(user: string, positionFile: string, stopAfter: number) {
  const proc = spawn(PYTHON, [script, node.url, user, positionFile], { env: { PATH: process.env.PATH ?? "", STOP_AFTER: String(stopAfter) }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.once("exit", r));
  return { proc, out: () => out, err: () => err, lines: () => out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)), exited };
}
const send = async (user: string, data: unknown) => expect((await publish(node.url, { to: [user], data }, "dev-publish-key")).status).toBe(202);

describe("the Python client of docs/clients.md", () => {
  it("receives, acknowledges, resumes after the node closes its channel, and after a restart", async () => {
    const positionFile = join(dir, "position.json");
    const p = python("py", positionFile, 3);
    try {
      await until(() => /connected to py-node/.test(p.err()), "python to connect");
      await send("py", { n: 1 });
      await until(() => p.lines().length === 1, "the first message");
      // the node closes the channel: the client logs in again and resumes from its position
      expect((await postJson(`${node.url}/v1/disconnect`, { users: ["py"] }, { authorization: "Bearer dev-publish-key" })).status).toBe(202);
      await send("py", { n: 2 });
      await until(() => (p.err().match(/connected to py-node/g) ?? []).length === 2, "python to reconnect");
      await send("py", { n: 3 });
      expect(await p.exited).toBe(0);
      expect(p.lines()).toEqual([1, 2, 3].map((n) => ({ event: "message", data: { n } })));
    } finally {
      p.proc.kill();
    }
    // while no client runs, two more messages; a restarted process gets exactly those
    await send("py", { n: 4 });
    await send("py", { n: 5 });
    const again = python("py", positionFile, 2);
    try {
      expect(await again.exited).toBe(0);
      expect(again.lines().map((m) => m.data.n)).toEqual([4, 5]);
    } finally {
      again.proc.kill();
    }
    expect(JSON.parse(readFileSync(positionFile, "utf8"))).toMatchObject({ epoch: expect.any(String), offset: expect.stringMatching(/^\d+-\d+$/) });
  });

  it("stops for good on a 400, with the server's code", async () => {
    // a ticket-mode node answers the example's {"userId"} body with 400 INVALID_LOGIN
    const ticketNode = await startNode({ HERALD_AUTH_MODE: "ticket", HERALD_TICKET_SECRET: "python-test-ticket-secret-0123456789abcdef" });
    let bad: ReturnType<typeof spawn> | null = null;
    try {
      bad = spawn(PYTHON, [script, ticketNode.url, "someone"], { stdio: ["ignore", "pipe", "pipe"] });
      let err = "";
      bad.stderr!.on("data", (d) => (err += d));
      const code = await new Promise<number | null>((r) => bad!.once("exit", r));
      expect(code).toBe(1);
      expect(err).toMatch(/login refused for good \(400 INVALID_LOGIN\)/);
    } finally {
      if (bad && bad.exitCode === null) bad.kill();
      await ticketNode.stop();
    }
  });
});
