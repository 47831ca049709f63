// The two systems under test, each on its own fresh redis-server: K plain Socket.IO nodes, or K Herald
// push nodes started through Herald's real entry point (`node <heraldDir>/bin/herald.js push-node`).
import type { ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { freePort, until } from "./ports.js";
import { removeDir, spawnTracked, stopProcess, tempDir } from "./proc.js";
import { keepAliveAgent, postJson } from "./http.js";
import { mintTicket } from "./ticket.js";

import type { SystemName } from "./names.js";
export { LABEL, SYSTEMS, type SystemName } from "./names.js";

/** How long a system under test may take to start (a loaded machine is slow). */
const START_TIMEOUT_MS = 30_000;

export const TICKET_SECRET = "bench-ticket-secret-0123456789abcdef0123456789";
export const TOKEN_SECRET = "bench-token-secret-0123456789abcdef01234567890";
export const PUBLISH_KEY = "bench-publish-key";
/** Redis persistence, the same for both systems. */
export const REDIS_PERSISTENCE = ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""];
export const REDIS_PERSISTENCE_TEXT = "appendonly yes, appendfsync everysec, no RDB snapshots";

const BENCH_DIST = fileURLToPath(new URL("..", import.meta.url));

export interface Proc {
  name: string;
  pid: number;
  proc: ChildProcess;
}

export interface RedisProc extends Proc {
  url: string;
}

export async function startRedis(dir: string): Promise<RedisProc> {
  const port = await freePort();
  const nice = redisNice();
  const proc = spawnTracked(nice ? "nice" : "redis-server", [...(nice ? ["-n", nice, "redis-server"] : []), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, ...REDIS_PERSISTENCE, "--daemonize", "no", "--logfile", join(dir, "redis.log")], { stdio: "ignore" });
  await until(async () => {
    const c = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => {});
    try {
      await c.connect();
      return (await c.ping()) === "PONG";
    } finally {
      c.disconnect();
    }
  }, `redis-server on ${port}`, START_TIMEOUT_MS, 50);
  return { name: "redis", pid: proc.pid!, proc, url: `redis://127.0.0.1:${port}` };
}

export interface Cluster {
  system: SystemName;
  redis: RedisProc;
  nodes: (Proc & { url: string })[];
  /** Settings that differ from the system's defaults (secrets elided). */
  settings: Record<string, string>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  k: number;
  heraldDir: string;
  /** Listen backlog: HERALD_LISTEN_BACKLOG for Herald when set (else its default), the same for the plain nodes. */
  backlog?: number;
  /** Extra Herald environment (printed as non-default settings). */
  heraldEnv?: Record<string, string>;
}

/**
 * BENCH_REDIS_NICE: run both systems' redis-server at this nice level (e.g. -10, as root): what Redis would
 * answer with a core of its own, as in production, instead of queueing behind seven busy processes on two cores.
 */
export const redisNice = () => process.env.BENCH_REDIS_NICE?.trim() || undefined;

/** BENCH_NODE_ARGS: extra node flags for the server processes of both systems (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). */
const nodeArgs = () => process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];

export async function startCluster(system: SystemName, o: ClusterOptions): Promise<Cluster> {
  if (system === "herald" && !existsSync(join(o.heraldDir, "dist/cli.js"))) throw new Error(`${o.heraldDir} is not a built Herald checkout: run \`npm ci && npm run build\` there`);
  const dir = tempDir(`herald-bench-${system}-`);
  const redis = await startRedis(dir);
  const ports: number[] = [];
  for (let i = 0; i < o.k; i++) ports.push(await freePort());
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const nodes: Cluster["nodes"] = [];
  const settings: Record<string, string> = {};
  const stop = async () => {
    await Promise.all(nodes.map((n) => stopProcess(n.proc)));
    await stopProcess(redis.proc, 1000);
    removeDir(dir);
  };
  try {
    if (system === "plain") {
      const backlog = String(o.backlog ?? 4096);
      settings["listen backlog"] = backlog;
      for (let i = 0; i < o.k; i++) {
        const log = openSync(join(dir, `node-${i}.log`), "a");
        const proc = spawnTracked(process.execPath, [...nodeArgs(), join(BENCH_DIST, "plain/node.js")], {
          env: { PATH: process.env.PATH ?? "", PORT: String(ports[i]), REDIS_URL: redis.url, PLAIN_NODES: urls.join(","), PLAIN_BACKLOG: backlog },
          stdio: ["ignore", log, log], // the log goes straight to the file, not through the bench
        });
        closeSync(log);
        nodes.push({ name: `node-${i + 1}`, pid: proc.pid!, proc, url: urls[i]! });
      }
      for (const n of nodes) await until(async () => (await fetch(`${n.url}/healthz`)).ok, `plain ${n.name}`, START_TIMEOUT_MS, 50);
    } else {
      const entry = join(o.heraldDir, "bin/herald.js");
      const common: Record<string, string> = {
        REDIS_URL: redis.url,
        HERALD_AUTH_MODE: "ticket",
        HERALD_TICKET_SECRET: TICKET_SECRET,
        HERALD_TOKEN_SECRET: TOKEN_SECRET,
        HERALD_PUBLISH_KEYS: PUBLISH_KEY,
        HOST: "127.0.0.1",
        ...(o.backlog !== undefined ? { HERALD_LISTEN_BACKLOG: String(o.backlog) } : {}),
        ...o.heraldEnv,
      };
      for (const [k, v] of Object.entries(common)) settings[k] = /SECRET|KEYS/.test(k) ? "(bench value)" : v;
      settings.PORT = "(a free port per node)";
      settings.HERALD_NODE_ID = "push-1 … push-K";
      settings.HERALD_PUBLIC_URL = "http://127.0.0.1:<port>";
      for (let i = 0; i < o.k; i++) {
        const log = openSync(join(dir, `push-${i + 1}.log`), "a");
        const proc = spawnTracked(process.execPath, [...nodeArgs(), entry, "push-node"], {
          env: { PATH: process.env.PATH ?? "", ...common, PORT: String(ports[i]), HERALD_NODE_ID: `push-${i + 1}`, HERALD_PUBLIC_URL: urls[i]! },
          stdio: ["ignore", log, log], // the log goes straight to the file, not through the bench
        });
        closeSync(log);
        nodes.push({ name: `node-${i + 1}`, pid: proc.pid!, proc, url: urls[i]! });
      }
      for (const n of nodes) {
        await until(async () => {
          if (n.proc.exitCode !== null) throw new Error(`${n.name} exited (${n.proc.exitCode})`);
          return (await fetch(`${n.url}/readyz`)).status === 200;
        }, `Herald ${n.name} ready`, START_TIMEOUT_MS, 50);
      }
      await untilEveryNodeAssignsToAll(urls);
    }
  } catch (err) {
    const logs = readdirSync(dir).filter((f) => f.endsWith(".log")).map((f) => `--- ${f}\n${readFileSync(join(dir, f), "utf8").slice(-2000)}`);
    await stop();
    throw new Error(`${(err as Error).message}\n${logs.join("\n")}`);
  }
  return { system, redis, nodes, settings, stop };
}

/**
 * Each node's logins spread users over all K nodes (each has seen every other's heartbeat). Probe logins use
 * fresh user ids and several source addresses, so per-user and per-address login limits are not reached.
 */
async function untilEveryNodeAssignsToAll(urls: string[]): Promise<void> {
  const key = Buffer.from(TICKET_SECRET);
  const agents = Array.from({ length: 16 }, (_, i) => keepAliveAgent(1, `127.2.0.${i + 1}`));
  let round = 0;
  try {
    for (const url of urls)
      await until(async () => {
        const seen = new Set<string>();
        round++;
        for (let i = 0; i < 12 * urls.length && seen.size < urls.length; i++) {
          const ticket = mintTicket(`probe-${round}-${i}`, key);
          seen.add((await postJson(`${url}/v1/login`, { ticket }, agents[i % agents.length]!)).body?.node?.id);
        }
        return seen.size === urls.length;
      }, `${url} to assign users to all ${urls.length} nodes`, 30_000, 200);
  } finally {
    for (const a of agents) a.destroy();
  }
}
