// Command-line options of `npm run bench -- <scenario> [options]` → one typed object (pure).
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import type { SystemName } from "./names.js";

export const SCENARIOS = ["steady", "sweep", "scale-out", "connections", "publish-paths", "burst", "abuse"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Options {
  scenario: Scenario;
  runs: number;
  quick: boolean;
  json: boolean;
  heraldDir: string;
  systems: SystemName[];
  k: number;
  clients: number;
  rate: number;
  durationMs: number;
  warmupMs: number;
  workers: number;
  /** sweep: time cap per search. */
  capMs: number;
  /** connections: the two sizes on one node, --big, the burst size (0 = no burst). */
  conns: [number, number];
  big: boolean;
  burst: number;
  backlog?: number;
  connectConcurrency: number;
  /** Herald clients connect with a deviceId and ack every message. */
  acks: boolean;
  /** --limits-off: Herald with the hardening limits off (what their defaults cost); printed as settings. */
  heraldEnv?: Record<string, string>;
}

/** Every limit of the hardening work turned off (or to its widest), for --limits-off. */
export const LIMITS_OFF: Record<string, string> = {
  HERALD_MAX_SOCKET_BUFFER_BYTES: String(1024 * 1024 * 1024),
  HERALD_MAX_SOCKETS_PER_USER: "0",
  HERALD_MAX_INBOUND_PER_SECOND: "0",
  HERALD_MAX_DATA_DEPTH: "1000",
  HERALD_LOGIN_PER_IP_PER_MINUTE: "0",
  HERALD_LOGIN_PER_USER_PER_MINUTE: "0",
  HERALD_PUBLISH_PER_KEY_PER_MINUTE: "0",
};

export const USAGE = `usage: npm run bench -- <scenario> [options]
scenarios: ${SCENARIOS.join(", ")}  (burst: only connections' burst, in its network namespace)
  --runs N            runs per system; each figure is their median (min–max)   [3]
  --quick             tiny sizes: a smoke run of seconds
  --json              print JSON instead of tables
  --herald-dir DIR    the Herald build to benchmark (a built checkout)          [the repo root]
  --systems LIST      plain,herald                                              [both]
  --k N               push nodes (steady, sweep, publish-paths)                 [2]
  --clients N         connected users                                           [2000]
  --rate N            messages/s offered (steady, scale-out)                    [2000; scale-out 1000]
  --duration S        measured seconds                                          [10]
  --warmup S          seconds of traffic before the measured window             [10]
  --workers N         client worker processes                                   [4, more for big sizes]
  --cap S             sweep: time limit of one search                           [60]
  --conns A,B         connections: sizes on one node                            [10000,19000]
  --big               connections: also 100,000 users across 6 nodes
  --burst N           connections: N connections opened at once in a network namespace (0 = none) [15000]
  --backlog N         listen backlog for both systems (HERALD_LISTEN_BACKLOG)   [Herald's default; plain 4096]
  --concurrency N     logins+handshakes in flight while connecting              [100]
  --acks              Herald clients connect with a deviceId and ack every message (what acks cost)
  --limits-off        Herald with the hardening limits off (what their defaults cost)`;

export class UsageError extends Error {}

export function parseOptions(argv: string[], repoRoot: string): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      runs: { type: "string" },
      quick: { type: "boolean" },
      json: { type: "boolean" },
      "herald-dir": { type: "string" },
      systems: { type: "string" },
      k: { type: "string" },
      clients: { type: "string" },
      rate: { type: "string" },
      duration: { type: "string" },
      warmup: { type: "string" },
      workers: { type: "string" },
      cap: { type: "string" },
      conns: { type: "string" },
      big: { type: "boolean" },
      burst: { type: "string" },
      backlog: { type: "string" },
      concurrency: { type: "string" },
      acks: { type: "boolean" },
      "limits-off": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) throw new UsageError(USAGE);
  const scenario = positionals[0] as Scenario;
  if (!SCENARIOS.includes(scenario)) throw new UsageError(`unknown scenario "${positionals[0] ?? ""}"\n${USAGE}`);
  const num = (name: string, v: string | undefined, dflt: number, min = 0): number => {
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number ≥ ${min}, got "${v}"`);
    return n;
  };
  const quick = !!values.quick;
  const systems = (values.systems ?? "plain,herald").split(",").map((s) => s.trim()) as SystemName[];
  for (const s of systems) if (s !== "plain" && s !== "herald") throw new UsageError(`--systems takes plain and/or herald, got "${s}"`);
  const conns = (values.conns ?? (quick ? "100,150" : "10000,19000")).split(",").map((x) => num("conns", x, 0, 1));
  if (conns.length !== 2 || conns[0]! >= conns[1]!) throw new UsageError("--conns takes two increasing sizes, e.g. 10000,19000");
  const clients = num("clients", values.clients, quick ? 100 : 2000, 1);
  return {
    scenario,
    runs: num("runs", values.runs, 3, 1),
    quick,
    json: !!values.json,
    heraldDir: resolve(values["herald-dir"] ?? repoRoot),
    systems,
    k: num("k", values.k, 2, 1),
    clients,
    rate: num("rate", values.rate, quick ? 100 : scenario === "scale-out" ? 1000 : 2000, 1),
    durationMs: num("duration", values.duration, quick ? 1 : 10, 0.5) * 1000,
    warmupMs: num("warmup", values.warmup, quick ? 0.5 : 10, 0) * 1000,
    workers: num("workers", values.workers, quick ? 2 : 4, 1),
    capMs: num("cap", values.cap, quick ? 6 : 60, 1) * 1000,
    conns: [conns[0]!, conns[1]!],
    big: !!values.big,
    burst: num("burst", values.burst, quick ? (scenario === "burst" ? 100 : 0) : 15_000, 0),
    backlog: values.backlog === undefined ? undefined : num("backlog", values.backlog, 0, 1),
    connectConcurrency: num("concurrency", values.concurrency, quick ? 50 : 100, 1),
    acks: !!values.acks,
    heraldEnv: values["limits-off"] ? LIMITS_OFF : undefined,
  };
}
