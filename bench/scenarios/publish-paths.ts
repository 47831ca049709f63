// publish-paths: sustained delivered rate per publishing path, closed loop (a fixed number of requests in
// flight): HTTP one message per request, HTTP batches of 50, Herald's publisher library.
import type { Options } from "../lib/options.js";
import { Session } from "../lib/session.js";
import type { Path } from "../publisher.js";
import type { Row } from "../lib/report.js";
import { log, prefixed, repeat, settingsOf, type ScenarioResult } from "./common.js";

export const PATHS: { path: Path; label: string; concurrency: number; quick: number; herald: boolean; plain: boolean }[] = [
  { path: "single", label: "HTTP, 1 msg per request", concurrency: 64, quick: 8, herald: true, plain: true },
  { path: "batch", label: "HTTP, 50 msgs per request", concurrency: 8, quick: 2, herald: true, plain: false },
  { path: "library", label: "publisher library", concurrency: 256, quick: 32, herald: true, plain: false },
];

export async function publishPaths(o: Options): Promise<ScenarioResult> {
  const settings: ScenarioResult["settings"] = {};
  const runs = await repeat(o, async (system) => {
    const s = await Session.start(system, { k: o.k, workers: o.workers, heraldDir: o.heraldDir, backlog: o.backlog, acks: o.acks, heraldEnv: o.heraldEnv });
    let m: Record<string, number> = {};
    try {
      settingsOf(settings, system, s.cluster.settings);
      await s.connect(0, o.clients, o.connectConcurrency);
      for (const p of PATHS.filter((p) => p[system])) {
        const t = await s.traffic({ path: p.path, concurrency: o.quick ? p.quick : p.concurrency, batchSize: 50, warmupMs: o.warmupMs, durationMs: o.durationMs, drainMs: 5000, users: o.clients });
        log(`  ${p.label}: ${t.deliveredRate!.toFixed(0)} delivered msg/s (${t.deliveredPct!.toFixed(2)} %), p99 ${t.p99!.toFixed(1)} ms`);
        m = { ...m, ...prefixed(p.path, t) };
      }
    } finally {
      await s.stop();
    }
    return m;
  });
  const rows: Row[] = PATHS.flatMap((p) => [
    { key: `${p.path}.deliveredRate`, label: `${p.label}: delivered msg/s`, digits: 0 },
    { key: `${p.path}.acceptedRate`, label: `${p.label}: accepted msg/s`, digits: 0 },
    { key: `${p.path}.deliveredPct`, label: `${p.label}: delivered %`, digits: 2 },
    { key: `${p.path}.p99`, label: `${p.label}: latency p99 ms`, digits: 1 },
    { key: `${p.path}.cpu.servers`, label: `${p.label}: CPU % servers`, digits: 1 },
    { key: `${p.path}.cpuMsPerMsg`, label: `${p.label}: server CPU ms / msg`, digits: 3 },
    { key: `${p.path}.cpu.publisher`, label: `${p.label}: CPU % publisher (the library publishes in it)`, digits: 1 },
  ]);
  return {
    notes: [
      `K=${o.k}, C=${o.clients}; closed loop: ${PATHS.map((p) => `${p.label} with ${o.quick ? p.quick : p.concurrency} requests in flight`).join(", ")}; D=${o.durationMs / 1000} s after ${o.warmupMs / 1000} s warm-up`,
      "the plain cluster has one path (one HTTP request per message): its row is the reference for Herald's batch and library rates",
    ],
    settings,
    sections: [{ title: "publish-paths", rows, runs }],
  };
}
