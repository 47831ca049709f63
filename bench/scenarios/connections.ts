// connections: memory per idle connection and the connection + login rate on one node; with --big,
// 100,000 users across 6 nodes each receiving one targeted message; and a burst of connections opened at
// once, run inside a network namespace the bench creates (see burst.ts).
import { fileURLToPath } from "node:url";
import type { Options } from "../lib/options.js";
import { Session } from "../lib/session.js";
import { sleep, spawnTracked, exited } from "../lib/proc.js";
import { spread } from "../lib/stats.js";
import type { Section } from "../lib/report.js";
import { log, repeat, settingsOf, type ScenarioResult } from "./common.js";

/** Sockets per client worker process at most (each process may hold 20,000 open files). */
const PER_WORKER = 4500;

export async function connections(o: Options): Promise<ScenarioResult> {
  const [n1, n2] = o.conns;
  const settleMs = o.quick ? 500 : 3000;
  const settings: ScenarioResult["settings"] = {};
  const notes = [`one node: ${n1} then ${n2} idle connections (login + handshake, ${o.connectConcurrency} in flight); RSS of the node process measured ${settleMs / 1000} s after each step`];
  const runs = await repeat(o, async (system) => {
    const s = await Session.start(system, { k: 1, workers: Math.max(o.workers, Math.ceil(n2 / PER_WORKER)), heraldDir: o.heraldDir, backlog: o.backlog, acks: o.acks, heraldEnv: o.heraldEnv });
    try {
      settingsOf(settings, system, s.cluster.settings);
      await sleep(settleMs);
      const rss0 = s.serverRss()[0]!;
      const a = await s.connect(0, n1, o.connectConcurrency);
      await sleep(settleMs);
      const rss1 = s.serverRss()[0]!;
      const b = await s.connect(n1, n2, o.connectConcurrency);
      await sleep(settleMs);
      const rss2 = s.serverRss()[0]!;
      if (a.failed + b.failed) log(`  failed connects: ${JSON.stringify({ ...a.codes, ...b.codes })}`);
      const m = { connected: a.ok + b.ok, rate: (a.ok / a.ms) * 1000, failed: a.failed + b.failed, rss0: rss0 / 2 ** 20, kb1: (rss1 - rss0) / a.ok / 1024, kb2: (rss2 - rss0) / (a.ok + b.ok) / 1024 };
      log(`  ${m.rate.toFixed(0)} conns/s; ${m.kb1.toFixed(1)} KB/conn at ${n1}, ${m.kb2.toFixed(1)} KB/conn at ${n2}`);
      return m;
    } finally {
      await s.stop();
    }
  });
  const sections: Section[] = [
    {
      title: "connections, one node",
      rows: [
        { key: "connected", label: "connected", digits: 0 },
        { key: "rate", label: `connection + login rate, first ${n1} (conns/s)`, digits: 0 },
        { key: "kb1", label: `RSS per idle connection at ${n1} (KB)`, digits: 1 },
        { key: "kb2", label: `RSS per idle connection at ${n2} (KB)`, digits: 1 },
        { key: "rss0", label: "node RSS before any connection (MB)", digits: 1 },
        { key: "failed", label: "failed connects", digits: 0 },
      ],
      runs,
    },
  ];

  if (o.big) {
    const users = o.quick ? 600 : 100_000;
    const k = 6;
    // A rate this machine's 6 nodes sustain beside 100,000 idle sockets (at 5,000 msg/s both systems fell
    // behind and most messages were still queued when the window closed): this checks delivery to every
    // user, not the ceiling, which sweep measures.
    const rate = o.quick ? 300 : 1000;
    notes.push(`big: ${users} users across ${k} nodes, then one message to each user (one HTTP POST each, ${rate} msg/s)`);
    const big = await repeat(o, async (system) => {
      const s = await Session.start(system, { k, workers: Math.max(8, Math.ceil(users / 12_500)), heraldDir: o.heraldDir, backlog: o.backlog, acks: o.acks, heraldEnv: o.heraldEnv });
      try {
        const c = await s.connect(0, users, o.connectConcurrency * 2);
        log(`  ${c.ok} of ${users} connected in ${(c.ms / 1000).toFixed(1)} s${c.failed ? `; failures ${JSON.stringify(c.codes)}` : ""}`);
        const t = await s.traffic({ path: "single", rate, each: true, warmupMs: 0, durationMs: (users / rate) * 1000, drainMs: 30_000, users });
        log(`  delivered ${t.deliveredPct!.toFixed(3)} %`);
        const rss = s.serverRss();
        return { connected: c.ok, rate: (c.ok / c.ms) * 1000, deliveredPct: t.deliveredPct!, p99: t.p99!, publishErrors: t.publishErrors ?? 0, disconnects: t.disconnects ?? 0, rssPerConn: rss.reduce((a, b) => a + b, 0) / c.ok / 1024, maxNodeRss: spread(rss).max / 2 ** 20 };
      } finally {
        await s.stop();
      }
    });
    sections.push({
      title: `${users} users, ${k} nodes`,
      rows: [
        { key: "connected", label: "connected", digits: 0 },
        { key: "rate", label: "connection + login rate (conns/s)", digits: 0 },
        { key: "deliveredPct", label: "one message each: delivered %", digits: 3 },
        { key: "p99", label: "latency p99 ms", digits: 1 },
        { key: "publishErrors", label: "publish errors", digits: 0 },
        { key: "disconnects", label: "clients dropped", digits: 0 },
        { key: "rssPerConn", label: "node RSS per connection (KB, whole process)", digits: 1 },
        { key: "maxNodeRss", label: "largest node RSS (MB)", digits: 0 },
      ],
      runs: big,
    });
  }

  if (o.burst > 0) {
    const inner = await runBurstInNamespace(o);
    notes.push(...inner.notes);
    sections.push(...inner.sections);
  }
  return { notes, settings, sections };
}

/** Runs `main.js burst` under `unshare -n` (root): its own loopback, where somaxconn can be raised. */
export async function runBurstInNamespace(o: Options): Promise<Pick<ScenarioResult, "notes" | "sections">> {
  const main = fileURLToPath(new URL("../main.js", import.meta.url));
  const args = ["-n", "--", process.execPath, main, "burst", "--json", "--burst", String(o.burst), "--runs", String(o.runs), "--herald-dir", o.heraldDir, "--systems", o.systems.join(","), "--concurrency", String(o.connectConcurrency), "--workers", String(o.workers)];
  if (o.backlog !== undefined) args.push("--backlog", String(o.backlog));
  if (o.quick) args.push("--quick");
  log(`burst of ${o.burst}: unshare ${args.join(" ")}`);
  const child = spawnTracked("unshare", args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, HERALD_BENCH_NETNS: "1" } });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  await exited(child);
  if (child.exitCode !== 0) return { notes: [`burst skipped: \`unshare -n\` failed (exit ${child.exitCode ?? child.signalCode}); it needs root`], sections: [] };
  const r = JSON.parse(out);
  return { notes: (r.notes as string[]).filter((n) => !n.startsWith("redis:")), sections: r.sections.map((s: Section) => ({ title: s.title, rows: s.rows, runs: s.runs })) };
}
