// The application restarts (kill -9, mid-stream) and its SDK resumes from the stored position: every
// message exactly once across both runs, in order, without help from server-side acks.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { ticketFor } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { steadyPublisher } from "../helpers/sdk.js";

let redis: RedisServer;
let node: NodeProcess;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  node = await startNode(clusterEnv(redis.url));
  dir = mkdtempSync(join(tmpdir(), "herald-sdk-app-"));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await node?.stop();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function runApp(env: Record<string, string>): { proc: ChildProcess; out: () => string; exited: Promise<void> } {
  const proc = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "sdk-app.mjs")], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  children.push(proc);
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  return { proc, out: () => out, exited };
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);

describe("an application restarted mid-stream", () => {
  it("resumes from its stored position: nothing lost, nothing repeated", async () => {
    const user = "restart-user";
    const LOG = join(dir, "processed.jsonl");
    const GAPS = join(dir, "gaps.jsonl");
    const env = { HERALD_URL: node.url, TICKET: await ticketFor(user), LOG, GAPS, DEVICE: "laptop" };
    const pub = steadyPublisher(() => [node.url], [user], { intervalMs: 2 });

    const first = runApp(env);
    await until(() => lines(LOG).length >= 80, "the first run to process 80 messages");
    first.proc.kill("SIGKILL");
    await first.exited;
    const beforeRestart = lines(LOG).length;
    await pub.advance(100); // more arrive while the application is down
    const second = runApp(env);
    await until(() => second.out().includes("connected"), "the second run to connect");
    const accepted = await pub.stop();
    const last = accepted.at(-1)!;
    await until(() => lines(LOG).some((l) => l.seq === last), `the second run to process seq ${last}`);
    second.proc.kill("SIGTERM");
    await second.exited;

    const seqs = lines(LOG).map((l) => l.seq as number);
    expect(seqs).toEqual(accepted);
    expect(lines(GAPS)).toEqual([]);
    // the second run gave the node its stored position (not the server's ack, which never came)
    const hello = JSON.parse(second.out().split("\n").find((l) => l.includes("connected"))!);
    expect(hello.since?.offset).toBe(lines(LOG)[beforeRestart - 1].offset);
  });
});
