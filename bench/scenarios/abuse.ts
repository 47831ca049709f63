// abuse (for the hardening issue): while steady traffic flows to well-behaved clients on one node, one
// client stops reading (its worker process is SIGSTOPped) and a greedy client holds 20 sockets on one
// token, also stopped, while large messages go to both. Reports the node's RSS growth against a bound
// printed before the run, and the well-behaved clients' latency.
import type { Options } from "../lib/options.js";
import { Session } from "../lib/session.js";
import { sleep } from "../lib/proc.js";
import type { Row } from "../lib/report.js";
import { log, repeat, settingsOf, trafficRows, type ScenarioResult } from "./common.js";

export const GREEDY_SOCKETS = 20;
/** HERALD_MAX_SOCKET_BUFFER_BYTES's default in the hardening work: what one stalled socket may hold. */
export const SOCKET_BUFFER_LIMIT = 1024 * 1024;
export const SLACK_BYTES = 50 * 2 ** 20;
const PAD_BYTES = 16 * 1024;

export async function abuse(o: Options): Promise<ScenarioResult> {
  const settings: ScenarioResult["settings"] = {};
  const slowSockets = 1 + GREEDY_SOCKETS;
  const boundMb = (SOCKET_BUFFER_LIMIT * slowSockets + SLACK_BYTES) / 2 ** 20;
  const abuseRate = o.quick ? 50 : 325; // the 5,000 + 1,500 messages of 16 KB over 20 s
  const durationMs = o.quick ? o.durationMs : Math.max(o.durationMs, 20_000);
  const bound = `bound: node RSS growth ≤ ${SOCKET_BUFFER_LIMIT / 2 ** 20} MiB per stalled socket × ${slowSockets} + ${SLACK_BYTES / 2 ** 20} MiB = ${boundMb.toFixed(0)} MiB`;
  log(bound);
  const runs = await repeat(o, async (system) => {
    const s = await Session.start(system, { k: 1, workers: o.workers, heraldDir: o.heraldDir, backlog: o.backlog, acks: o.acks, heraldEnv: o.heraldEnv });
    try {
      settingsOf(settings, system, s.cluster.settings);
      await s.connect(0, o.clients, o.connectConcurrency);
      const slow = await s.addWorker();
      const greedy = await s.addWorker();
      const a = await slow.call("connectSame", { user: "slow-0", sockets: 1 });
      const g = await greedy.call("connectSame", { user: "greedy-0", sockets: GREEDY_SOCKETS });
      if (g.failed) log(`  greedy client: ${g.ok} sockets open, ${g.failed} refused ${JSON.stringify(g.codes)}`);
      slow.proc.kill("SIGSTOP");
      greedy.proc.kill("SIGSTOP");
      await sleep(500);
      const node = s.cluster.nodes[0]!;
      const before = s.serverRss()[0]!;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, s.serverRss()[0]!)), 250);
      const big = s.addPublisher();
      const traffic = { warmupMs: o.warmupMs, durationMs, drainMs: 5000 };
      const flood = big.call("run", s.publishArgs({ path: "single", rate: abuseRate, ...traffic, users: 1 }, { targets: ["slow-0", "greedy-0"], padBytes: PAD_BYTES }));
      const m = await s.traffic({ path: "single", rate: o.rate, ...traffic, users: o.clients });
      const f = await flood;
      clearInterval(sampler);
      const growth = (peak - before) / 2 ** 20;
      log(`  RSS ${(before / 2 ** 20).toFixed(0)} → peak ${(peak / 2 ** 20).toFixed(0)} MiB (growth ${growth.toFixed(0)} MiB, bound ${boundMb.toFixed(0)}); others' p99 ${m.p99!.toFixed(1)} ms`);
      return {
        ...m,
        rssBefore: before / 2 ** 20,
        rssGrowth: growth,
        withinBound: growth <= boundMb ? 1 : 0,
        slowConnected: a.ok,
        greedyConnected: g.ok,
        greedyRefused: g.failed,
        floodAccepted: f.accepted,
        nodeAlive: node.proc.exitCode === null && node.proc.signalCode === null ? 1 : 0,
      };
    } finally {
      await s.stop();
    }
  });
  const rows: Row[] = [
    { key: "rssBefore", label: "node RSS before (MiB)", digits: 0 },
    { key: "rssGrowth", label: "node RSS growth, peak (MiB)", digits: 0 },
    { key: "withinBound", label: `within the bound of ${boundMb.toFixed(0)} MiB (1 = yes)`, digits: 0 },
    { key: "nodeAlive", label: "node still running (1 = yes)", digits: 0 },
    { key: "slowConnected", label: "stalled client's sockets", digits: 0 },
    { key: "greedyConnected", label: `greedy client's sockets (of ${GREEDY_SOCKETS} on one token)`, digits: 0 },
    { key: "floodAccepted", label: "16 KB messages accepted for the stalled clients", digits: 0 },
    ...trafficRows("", "others").filter((r) => /delivered %|p50|p99|max|dropped|CPU % servers/.test(r.label)),
  ];
  return {
    notes: [
      `one node, C=${o.clients} well-behaved clients with R=${o.rate} msg/s; a stalled client (1 socket) and a greedy one (${GREEDY_SOCKETS} sockets on one token), both SIGSTOPped, receive ${abuseRate} messages/s of ${PAD_BYTES / 1024} KB for ${durationMs / 1000} s after ${o.warmupMs / 1000} s warm-up`,
      bound,
    ],
    settings,
    sections: [{ title: "abuse", rows, runs }],
  };
}
