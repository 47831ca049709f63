// Real `herald push-node` processes for tests.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort, until } from "./ports.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const HERALD = `${ROOT}bin/herald.js`;
export const TOKEN_SECRET = "test-token-secret-0123456789abcdef0123456789";
export const TICKET_SECRET = "test-ticket-secret-0123456789abcdef012345678";
export const PUBLISH_KEY = "test-publish-key";

export interface NodeProcess {
  id: string;
  url: string;
  port: number;
  env: Record<string, string>;
  proc: ChildProcess;
  logs(): string;
  /** SIGTERM, then waits for the exit; returns the exit code. */
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

/** Environment for a node of a Redis-backed cluster (ticket logins with TICKET_SECRET). */
export function clusterEnv(redisUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    HERALD_AUTH_MODE: "ticket",
    HERALD_TICKET_SECRET: TICKET_SECRET,
    HERALD_TOKEN_SECRET: TOKEN_SECRET,
    HERALD_PUBLISH_KEYS: PUBLISH_KEY,
    HERALD_HEARTBEAT_MS: "200",
    ...extra,
  };
}

/** Starts a node and waits until /readyz answers 200 (or until it exits, when `expectReady` is false). */
export async function startNode(env: Record<string, string>, opts: { expectReady?: boolean; port?: number } = {}): Promise<NodeProcess> {
  const port = opts.port ?? (await freePort());
  const id = env.HERALD_NODE_ID ?? `node-${port}`;
  const fullEnv: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    PORT: String(port),
    HOST: "127.0.0.1",
    HERALD_NODE_ID: id,
    HERALD_PUBLIC_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: "info",
    HERALD_SHUTDOWN_GRACE_MS: "3000",
    ...env,
  };
  const proc = spawn(process.execPath, [HERALD, "push-node"], { env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const node: NodeProcess = {
    id,
    url,
    port,
    env: fullEnv,
    proc,
    logs: () => out,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      return exited;
    },
    async kill9() {
      proc.kill("SIGKILL");
      await exited;
    },
  };
  if (opts.expectReady === false) return node;
  let dead = false;
  void exited.then(() => (dead = true));
  await until(async () => {
    if (dead) throw new Error(`node exited: ${out}`);
    const r = await fetch(`${url}/readyz`);
    return r.status === 200;
  }, `node ${id} ready`, 20_000);
  return node;
}
