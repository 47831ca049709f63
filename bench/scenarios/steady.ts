// steady: K nodes, C clients, R msg/s to random single users for D seconds after a warm-up.
import type { Options } from "../lib/options.js";
import { Session } from "../lib/session.js";
import { log, repeat, settingsOf, trafficRows, type ScenarioResult } from "./common.js";

export async function steady(o: Options): Promise<ScenarioResult> {
  const settings: ScenarioResult["settings"] = {};
  const runs = await repeat(o, async (system) => {
    const s = await Session.start(system, { k: o.k, workers: o.workers, heraldDir: o.heraldDir, backlog: o.backlog, acks: o.acks, heraldEnv: o.heraldEnv });
    try {
      settingsOf(settings, system, s.cluster.settings);
      log(`  started ${o.k} nodes, connecting ${o.clients} clients`);
      const c = await s.connect(0, o.clients, o.connectConcurrency);
      if (c.failed) log(`  ${c.failed} of ${o.clients} clients failed to connect: ${JSON.stringify(c.codes)}`);
      log(`  connected in ${(c.ms / 1000).toFixed(1)} s; publishing`);
      const m = await s.traffic({ path: "single", rate: o.rate, warmupMs: o.warmupMs, durationMs: o.durationMs, drainMs: 5000, users: o.clients });
      log(`  delivered ${m.deliveredPct!.toFixed(2)} %, p99 ${m.p99!.toFixed(1)} ms, servers ${m["cpu.servers"]?.toFixed(0)} % CPU`);
      return { ...m, connectFailed: c.failed };
    } finally {
      await s.stop();
    }
  });
  return {
    notes: [`K=${o.k} nodes, C=${o.clients} clients, R=${o.rate} msg/s to random single users (one HTTP POST each), D=${o.durationMs / 1000} s after ${o.warmupMs / 1000} s of warm-up, ${o.workers} client workers`],
    settings,
    sections: [{ title: "steady", rows: [...trafficRows("", "", o.k), { key: "connectFailed", label: "failed connects", digits: 0 }], runs }],
  };
}
