// What every scenario shares: running each system N times, and the rows of a traffic measurement.
import type { Options } from "../lib/options.js";
import type { Row, Section } from "../lib/report.js";
import type { Metrics } from "../lib/session.js";
import { LABEL, type SystemName } from "../lib/systems.js";

export interface ScenarioResult {
  notes: string[];
  settings: Partial<Record<SystemName, Record<string, string>>>;
  sections: Section[];
}

const began = performance.now();
export const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);

/** Runs `once` for run 1 of every system, then run 2 …, so that both see the same drift of the machine. */
export async function repeat(o: Options, once: (system: SystemName, run: number) => Promise<Metrics>): Promise<Partial<Record<SystemName, Metrics[]>>> {
  const runs: Partial<Record<SystemName, Metrics[]>> = {};
  for (let r = 1; r <= o.runs; r++)
    for (const system of o.systems) {
      log(`${LABEL[system]}: run ${r} of ${o.runs}`);
      (runs[system] ??= []).push(await once(system, r));
    }
  return runs;
}

/** Rows of a traffic window, optionally for keys prefixed `prefix.`. */
export function trafficRows(prefix = "", label = "", nodes = 0): Row[] {
  const k = (key: string) => (prefix ? `${prefix}.${key}` : key);
  const l = (text: string) => (label ? `${label}: ${text}` : text);
  return [
    { key: k("deliveredPct"), label: l("delivered %"), digits: 2 },
    { key: k("offeredRate"), label: l("offered msg/s"), digits: 0 },
    { key: k("acceptedRate"), label: l("accepted msg/s"), digits: 0 },
    { key: k("deliveredRate"), label: l("delivered msg/s"), digits: 0 },
    { key: k("p50"), label: l("latency p50 ms"), digits: 1 },
    { key: k("p90"), label: l("latency p90 ms"), digits: 1 },
    { key: k("p99"), label: l("latency p99 ms"), digits: 1 },
    { key: k("max"), label: l("latency max ms"), digits: 1 },
    { key: k("answerMs"), label: l("publish request ms (mean, sent → answer)"), digits: 1 },
    { key: k("dups"), label: l("duplicates"), digits: 0 },
    { key: k("publishErrors"), label: l("publish errors"), digits: 0 },
    { key: k("disconnects"), label: l("clients dropped"), digits: 0 },
    ...Array.from({ length: nodes }, (_, i) => ({ key: k(`cpu.node-${i + 1}`), label: l(`CPU % node-${i + 1}`), digits: 1 })),
    { key: k("cpu.servers"), label: l("CPU % servers together"), digits: 1 },
    { key: k("cpu.redis"), label: l("CPU % redis"), digits: 1 },
    { key: k("cpu.clients"), label: l("CPU % client workers"), digits: 1 },
    { key: k("cpu.publisher"), label: l("CPU % publisher"), digits: 1 },
    { key: k("cpuMsPerMsg"), label: l("server CPU ms / delivered msg"), digits: 3 },
    { key: k("cpuMsPerMsgWithRedis"), label: l("server+redis CPU ms / delivered msg"), digits: 3 },
  ];
}

export function prefixed(prefix: string, m: Metrics): Metrics {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}.${k}`, v]));
}

export function settingsOf(settings: Partial<Record<SystemName, Record<string, string>>>, system: SystemName, s: Record<string, string>): void {
  settings[system] ??= s;
}
