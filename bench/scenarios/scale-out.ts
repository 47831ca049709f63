// scale-out: cluster CPU time per delivered message at K = 1, 2, 4 for the same offered rate, and the CPU
// of idle nodes (the K = 4 cluster before its clients connect: no clients, no traffic).
import type { Options } from "../lib/options.js";
import { spread } from "../lib/stats.js";
import { sleep } from "../lib/proc.js";
import { Session } from "../lib/session.js";
import { log, prefixed, repeat, settingsOf, type ScenarioResult } from "./common.js";
import type { Row } from "../lib/report.js";

export const KS = [1, 2, 4];
/** --quick: two sizes are enough to see the scenario work. */
export const QUICK_KS = [1, 2];

export async function scaleOut(o: Options): Promise<ScenarioResult> {
  const settings: ScenarioResult["settings"] = {};
  const idleMs = o.quick ? 1000 : 10_000;
  const ks = o.quick ? QUICK_KS : KS;
  const idleK = ks.at(-1)!;
  const runs = await repeat(o, async (system) => {
    let m: Record<string, number> = {};
    for (const k of ks) {
      const s = await Session.start(system, { k, workers: o.workers, heraldDir: o.heraldDir, backlog: o.backlog, acks: o.acks, heraldEnv: o.heraldEnv });
      try {
        settingsOf(settings, system, s.cluster.settings);
        if (k === ks.at(-1)) {
          // the largest cluster, before any client: its idle cost (heartbeats, polling, blocking reads)
          await sleep(o.quick ? 300 : 1000);
          const idle = await s.idleCpu(idleMs);
          const nodes = Object.entries(idle).filter(([name]) => name.startsWith("cpu.node-")).map(([, v]) => v);
          m["idle.median"] = spread(nodes).median;
          m["idle.max"] = spread(nodes).max;
          m["idle.redis"] = idle["cpu.redis"]!;
        }
        await s.connect(0, o.clients, o.connectConcurrency);
        const t = await s.traffic({ path: "single", rate: o.rate, warmupMs: o.warmupMs, durationMs: o.durationMs, drainMs: 5000, users: o.clients });
        log(`  K=${k}: delivered ${t.deliveredPct!.toFixed(2)} %, ${t.cpuMsPerMsg!.toFixed(3)} server CPU ms/msg`);
        m = { ...m, ...prefixed(`k${k}`, t) };
      } finally {
        await s.stop();
      }
    }
    m.ratio = m[`k${ks.at(-1)}.cpuMsPerMsg`]! / m["k1.cpuMsPerMsg"]!;
    return m;
  });
  const rows: Row[] = [];
  for (const k of ks) rows.push({ key: `k${k}.cpuMsPerMsg`, label: `K=${k}: server CPU ms / delivered msg`, digits: 3 });
  rows.push({ key: "ratio", label: `K=${ks.at(-1)} / K=1 CPU per msg`, digits: 2 });
  for (const k of ks) rows.push({ key: `k${k}.cpuMsPerMsgWithRedis`, label: `K=${k}: server+redis CPU ms / msg`, digits: 3 });
  for (const k of ks) rows.push({ key: `k${k}.cpu.servers`, label: `K=${k}: CPU % servers together`, digits: 1 });
  for (const k of ks) rows.push({ key: `k${k}.deliveredPct`, label: `K=${k}: delivered %`, digits: 2 });
  for (const k of ks) rows.push({ key: `k${k}.p99`, label: `K=${k}: latency p99 ms`, digits: 1 });
  rows.push({ key: "idle.median", label: `idle node CPU % (median of ${idleK})`, digits: 2 }, { key: "idle.max", label: `idle node CPU % (max of ${idleK})`, digits: 2 }, { key: "idle.redis", label: "idle cluster: redis CPU %", digits: 2 });
  return {
    notes: [`C=${o.clients} clients, R=${o.rate} msg/s offered at every K, D=${o.durationMs / 1000} s after ${o.warmupMs / 1000} s warm-up; idle: the ${idleK}-node cluster before its clients connect, ${idleMs / 1000} s`],
    settings,
    sections: [{ title: "scale-out", rows, runs }],
  };
}
