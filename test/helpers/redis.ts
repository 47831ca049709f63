// Real redis-server processes for tests: a standalone server or a Redis Cluster, on free ports.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort, until } from "./ports.js";

const run = promisify(execFile);

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  pid(): number;
  /** kill -9: no shutdown, no final AOF flush. */
  kill9(): Promise<void>;
  /** Starts it again on the same port and directory (so persisted data comes back). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisOptions {
  appendfsync?: "always" | "everysec" | "no";
  args?: string[];
  dir?: string;
}

async function ping(port: number): Promise<boolean> {
  const c = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on("error", () => {}); // not up yet: the caller polls again
  try {
    await c.connect();
    const info = await c.info("persistence");
    return (await c.ping()) === "PONG" && !/loading:1/.test(info);
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

function spawnRedis(port: number, dir: string, opts: RedisOptions): ChildProcess {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", "--logfile", join(dir, "redis.log")];
  if (opts.appendfsync) args.push("--appendonly", "yes", "--appendfsync", opts.appendfsync);
  else args.push("--appendonly", "no");
  args.push(...(opts.args ?? []));
  const proc = spawn("redis-server", args, { stdio: "ignore" });
  return proc;
}

function waitExit(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once("exit", () => r()));
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "herald-redis-"));
  let proc = spawnRedis(port, dir, opts);
  await until(() => ping(port), `redis-server on ${port}`);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: () => proc.pid!,
    async kill9() {
      proc.kill("SIGKILL");
      await waitExit(proc);
    },
    async restart() {
      proc = spawnRedis(port, dir, opts);
      await until(() => ping(port), `redis-server restart on ${port}`);
    },
    async stop() {
      proc.kill("SIGKILL");
      await waitExit(proc);
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  ports: number[];
  /** Comma-separated seed URLs, as REDIS_URL takes them with REDIS_MODE=cluster. */
  url: string;
  stop(): Promise<void>;
}

/** A Redis Cluster of `masters` redis-server processes (no replicas), all slots assigned. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "herald-cluster-"));
  const ports: number[] = [];
  const procs: ChildProcess[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freePort();
    ports.push(port);
    procs.push(spawnRedis(port, dir, { args: ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--logfile", join(dir, `redis-${port}.log`)] }));
  }
  for (const port of ports) await until(() => ping(port), `cluster member ${port}`);
  await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
  await until(async () => {
    for (const port of ports) {
      const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"]);
      if (!stdout.includes("cluster_state:ok")) return false;
    }
    return true;
  }, "cluster_state:ok");
  return {
    ports,
    url: ports.map((p) => `redis://127.0.0.1:${p}`).join(","),
    async stop() {
      for (const p of procs) p.kill("SIGKILL");
      await Promise.all(procs.map(waitExit));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
