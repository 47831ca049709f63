// One system under test with its load: a fresh cluster (redis + K nodes), W client worker processes holding
// the users' connections, and one publisher process. traffic() runs the publisher and measures the window.
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { cpuMsPer, cpuPercent, summarise } from "./stats.js";
import { TICKS_PER_SECOND, forkTracked, rssBytes, sampleCpu, sleep, stopProcess } from "./proc.js";
import { rpcTo, type Rpc } from "./rpc.js";
import { PUBLISH_KEY, TICKET_SECRET, startCluster, type Cluster, type ClusterOptions, type SystemName } from "./systems.js";
import type { Path, RunArgs } from "../publisher.js";

const BENCH_DIST = fileURLToPath(new URL("..", import.meta.url));
/** WebSocket source addresses: 127.0.0.2 … 127.0.0.33 (ephemeral ports run out at ~28k per source and destination). */
export const SOURCE_ADDRESSES = Array.from({ length: 32 }, (_, i) => `127.0.0.${i + 2}`);

export interface SessionOptions extends ClusterOptions {
  workers: number;
  /** Herald clients connect with a deviceId and ack every message. */
  acks?: boolean;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  codes: Record<string, number>;
  ms: number;
}

export type Metrics = Record<string, number>;

export interface TrafficOptions {
  path: Path;
  rate?: number;
  concurrency?: number;
  batchSize?: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait for the last answers and deliveries after the window. */
  drainMs: number;
  users: number;
  each?: boolean;
  maxSockets?: number;
}

export const users = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `u${from + i}`);

export class Session {
  private seq = 1;
  private constructor(
    readonly system: SystemName,
    readonly cluster: Cluster,
    readonly workers: Rpc[],
    readonly publisher: Rpc,
    private readonly heraldDir: string,
  ) {}

  static async start(system: SystemName, o: SessionOptions): Promise<Session> {
    // The load processes start while the cluster does.
    const workers = Array.from({ length: o.workers }, () => rpcTo(forkTracked(join(BENCH_DIST, "client-worker.js"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] })));
    const publisher = rpcTo(forkTracked(join(BENCH_DIST, "publisher.js"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] }));
    const load = [...workers, publisher];
    let cluster: Cluster;
    try {
      cluster = await startCluster(system, o);
    } catch (err) {
      await Promise.all(load.map((p) => stopProcess(p.proc)));
      throw err;
    }
    try {
      await Promise.all(
        workers.map((rpc, w) => {
          const addresses = SOURCE_ADDRESSES.map((_, i) => SOURCE_ADDRESSES[(i + w * 4) % SOURCE_ADDRESSES.length]!);
          return rpc.call("setup", { system, entries: cluster.nodes.map((n) => n.url), ticketSecret: TICKET_SECRET, addresses, acks: o.acks });
        }),
      );
    } catch (err) {
      await Promise.all(load.map((p) => stopProcess(p.proc)));
      await cluster.stop();
      throw err;
    }
    if (o.acks && system === "herald") cluster.settings["clients"] = "deviceId, ack every message";
    return new Session(system, cluster, workers, publisher, o.heraldDir);
  }

  private readonly extras: Rpc[] = [];

  /** Another client worker, outside the measured groups (e.g. one to pause). */
  async addWorker(): Promise<Rpc> {
    const rpc = rpcTo(forkTracked(join(BENCH_DIST, "client-worker.js"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] }));
    this.extras.push(rpc);
    await rpc.call("setup", { system: this.system, entries: this.cluster.nodes.map((n) => n.url), ticketSecret: TICKET_SECRET, addresses: SOURCE_ADDRESSES.slice().reverse() });
    return rpc;
  }

  /** Another publisher, outside the measured groups; run() it with publishArgs(). */
  addPublisher(): Rpc {
    const rpc = rpcTo(forkTracked(join(BENCH_DIST, "publisher.js"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] }));
    this.extras.push(rpc);
    return rpc;
  }

  publishArgs(o: TrafficOptions, extra: Partial<RunArgs> = {}): RunArgs {
    const seqStart = this.seq;
    this.seq += 10_000_000; // a range of its own
    return {
      system: this.system,
      path: o.path,
      entries: this.cluster.nodes.map((n) => n.url),
      publishKey: PUBLISH_KEY,
      users: o.users,
      each: o.each,
      rate: o.rate,
      concurrency: o.concurrency,
      batchSize: o.batchSize ?? 50,
      warmupMs: o.warmupMs,
      durationMs: o.durationMs,
      seqStart,
      drainMs: o.drainMs,
      redisUrl: this.cluster.redis.url,
      heraldDir: this.heraldDir,
      maxSockets: o.maxSockets ?? 32,
      ...extra,
    };
  }

  /** Users [from, to) log in and connect, spread evenly over the workers; `concurrency` in flight in total. */
  async connect(from: number, to: number, concurrency: number, cmd: "connect" | "login" = "connect"): Promise<ConnectResult> {
    const started = performance.now();
    const all = users(from, to);
    const per = Math.ceil(concurrency / this.workers.length);
    const parts = this.workers.map((w, i) => w.call<ConnectResult>(cmd, { users: all.filter((_, k) => k % this.workers.length === i), concurrency: per }));
    return merge(await Promise.all(parts), performance.now() - started);
  }

  /** Every worker opens all its prefetched connections at once. */
  async openAll(): Promise<ConnectResult> {
    const started = performance.now();
    return merge(await Promise.all(this.workers.map((w) => w.call<ConnectResult>("openAll"))), performance.now() - started);
  }

  /** The processes whose CPU is measured, with the group each belongs to. */
  processes(): { name: string; pid: number; group: "server" | "redis" | "clients" | "publisher" }[] {
    return [
      ...this.cluster.nodes.map((n) => ({ name: n.name, pid: n.pid, group: "server" as const })),
      { name: "redis", pid: this.cluster.redis.pid, group: "redis" as const },
      ...this.workers.map((w, i) => ({ name: `client-${i + 1}`, pid: w.pid, group: "clients" as const })),
      { name: "publisher", pid: this.publisher.pid, group: "publisher" as const },
    ];
  }

  serverRss(): number[] {
    return this.cluster.nodes.map((n) => rssBytes(n.pid));
  }

  /** CPU % of one core per process group over `ms` with no traffic. */
  async idleCpu(ms: number): Promise<Metrics> {
    const procs = this.processes();
    const a = sampleCpu(procs.map((p) => p.pid));
    const t = performance.now();
    await sleep(ms);
    const b = sampleCpu(procs.map((p) => p.pid));
    const s = (performance.now() - t) / 1000;
    const m: Metrics = {};
    for (const p of procs.filter((p) => p.group === "server" || p.group === "redis")) m[`cpu.${p.name}`] = cpuPercent(b.get(p.pid)! - a.get(p.pid)!, TICKS_PER_SECOND, s);
    return m;
  }

  /** Publishes for warm-up + duration, then measures the window (warm-up excluded). */
  async traffic(o: TrafficOptions): Promise<Metrics> {
    const procs = this.processes();
    const pids = procs.map((p) => p.pid);
    let cpu0: Map<number, number> | null = null;
    let cpu1: Map<number, number> | null = null;
    let t0 = 0;
    let t1 = 0;
    const onWindow = (e: any) => {
      if (e?.event !== "window") return;
      if (e.phase === "start") [cpu0, t0] = [sampleCpu(pids), performance.now()];
      else [cpu1, t1] = [sampleCpu(pids), performance.now()];
    };
    const unlisten = this.publisher.onEvent(onWindow);
    const args: RunArgs = { ...this.publishArgs(o), seqStart: this.seq };
    const r = await this.publisher.call("run", args).finally(unlisten);
    this.seq = Math.max(this.seq, r.nextSeq);
    // Deliveries still on their way: wait while the count grows, up to drainMs.
    const deadline = Date.now() + o.drainMs;
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const counts = await Promise.all(this.workers.map((w) => w.call("count", { from: r.from, to: r.to })));
      const got = counts.reduce((s, c) => s + c.received, 0);
      if (got >= r.acceptedInWindow || Date.now() > deadline) break;
      if (got !== last) [last, lastChange] = [got, Date.now()];
      else if (Date.now() - lastChange > 1000) break;
      await sleep(100);
    }
    const stats = await Promise.all(this.workers.map((w) => w.call("stats", { from: r.from, to: r.to, clear: true })));
    const latencies = stats.flatMap((s) => s.latencies as number[]);
    const received = stats.reduce((s, x) => s + x.received, 0);
    const seconds = (t1 - t0) / 1000;
    const m: Metrics = {
      offeredRate: r.offeredInWindow / (o.durationMs / 1000),
      acceptedRate: r.acceptedInWindow / (o.durationMs / 1000),
      deliveredRate: received / (o.durationMs / 1000),
      deliveredPct: r.offeredInWindow ? (received / r.offeredInWindow) * 100 : NaN,
      offered: r.offeredInWindow,
      received,
      dups: stats.reduce((s, x) => s + x.dups, 0),
      publishErrors: r.failed,
      unanswered: r.unanswered,
      disconnects: stats.reduce((s, x) => s + x.disconnects, 0),
      answerMs: r.answers ? r.answerMsTotal / r.answers : NaN,
      ...Object.fromEntries(Object.entries(summarise(latencies)).map(([k, v]) => [k, v])),
    };
    if (cpu0 && cpu1) {
      const d = (pid: number) => cpu1!.get(pid)! - cpu0!.get(pid)!;
      const group = (g: string) => procs.filter((p) => p.group === g).reduce((s, p) => s + d(p.pid), 0);
      for (const p of procs.filter((p) => p.group === "server")) m[`cpu.${p.name}`] = cpuPercent(d(p.pid), TICKS_PER_SECOND, seconds);
      m["cpu.servers"] = cpuPercent(group("server"), TICKS_PER_SECOND, seconds);
      m["cpu.redis"] = cpuPercent(group("redis"), TICKS_PER_SECOND, seconds);
      m["cpu.clients"] = cpuPercent(group("clients"), TICKS_PER_SECOND, seconds);
      m["cpu.publisher"] = cpuPercent(group("publisher"), TICKS_PER_SECOND, seconds);
      m.cpuMsPerMsg = cpuMsPer(group("server"), TICKS_PER_SECOND, received);
      m.cpuMsPerMsgWithRedis = cpuMsPer(group("server") + group("redis"), TICKS_PER_SECOND, received);
    }
    r.errors && Object.keys(r.errors).length && process.stderr.write(`  publish errors: ${JSON.stringify(r.errors)}\n`);
    return m;
  }

  async stop(): Promise<void> {
    for (const x of this.extras) x.proc.kill("SIGCONT"); // a paused worker must run to exit
    await Promise.all(this.workers.map((w) => w.call("close").catch(() => {})));
    await Promise.all([...this.workers, ...this.extras].map((w) => stopProcess(w.proc)).concat(stopProcess(this.publisher.proc)));
    await this.cluster.stop();
  }
}

function merge(parts: ConnectResult[], ms: number): ConnectResult {
  const codes: Record<string, number> = {};
  for (const p of parts) for (const [c, n] of Object.entries(p.codes)) codes[c] = (codes[c] ?? 0) + n;
  return { ok: parts.reduce((s, p) => s + p.ok, 0), failed: parts.reduce((s, p) => s + p.failed, 0), codes, ms };
}
