// burst (run by `connections` inside a network namespace it creates with `unshare -n`): N users log in
// first over keep-alive, then every worker opens all its connections at once, so the burst is handshakes.
// Loopback is brought up and net.core.somaxconn raised inside the namespace only.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import type { Options } from "../lib/options.js";
import { Session } from "../lib/session.js";
import { log, repeat, settingsOf, type ScenarioResult } from "./common.js";

export const SOMAXCONN = 65535;

export async function burst(o: Options): Promise<ScenarioResult> {
  const host = readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim();
  execFileSync("ip", ["link", "set", "lo", "up"]);
  writeFileSync("/proc/sys/net/core/somaxconn", String(SOMAXCONN));
  const somaxconn = readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim();
  const n = o.burst;
  const settings: ScenarioResult["settings"] = {};
  const failures: string[] = [];
  const runs = await repeat(o, async (system, run) => {
    const s = await Session.start(system, { k: 1, workers: Math.max(o.workers, 4, Math.ceil(n / 4500)), heraldDir: o.heraldDir, backlog: o.backlog, acks: o.acks, heraldEnv: o.heraldEnv });
    try {
      settingsOf(settings, system, s.cluster.settings);
      const l = await s.connect(0, n, o.connectConcurrency, "login");
      const b = await s.openAll();
      if (b.failed) failures.push(`${system} run ${run} failed connects: ${JSON.stringify(b.codes)}`);
      log(`  ${b.ok} of ${n} connected at once in ${(b.ms / 1000).toFixed(1)} s, ${b.failed} failed`);
      return { ok: b.ok, failed: b.failed, seconds: b.ms / 1000, rate: (b.ok / b.ms) * 1000, loginFailed: l.failed };
    } finally {
      await s.stop();
    }
  });
  return {
    notes: [
      `burst: ${n} connections opened at once against one node, tokens fetched beforehand over keep-alive, inside a network namespace: net.core.somaxconn=${somaxconn} there (the host has ${host}); the listen backlog is min(the server's backlog, somaxconn): ${o.backlog ? `${o.backlog} for both systems` : "plain 4096; Herald its HERALD_LISTEN_BACKLOG default (4096; Node's 511 in builds before that setting)"}`,
      ...failures,
    ],
    settings,
    sections: [
      {
        title: `burst of ${n}`,
        rows: [
          { key: "ok", label: "connected", digits: 0 },
          { key: "failed", label: "failed connects (resets, timeouts)", digits: 0 },
          { key: "seconds", label: "time until all settled (s)", digits: 2 },
          { key: "rate", label: "handshakes/s", digits: 0 },
          { key: "loginFailed", label: "failed logins before the burst", digits: 0 },
        ],
        runs,
      },
    ],
  };
}
