// Keeps the benchmark working: each scenario runs with tiny sizes (--quick --runs 1 --json) and both
// systems must show up with deliveries and sane fields. No speed thresholds: numbers belong to bench/.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = `${ROOT}dist/bench/main.js`;
let running: ChildProcess | null = null;

type Metrics = Record<string, number | null>;
interface Section {
  title: string;
  runs: { plain?: Metrics[]; herald?: Metrics[] };
}
interface Report {
  scenario: string;
  notes: string[];
  settings: Record<string, Record<string, string>>;
  sections: Section[];
}

/** Runs the bench and parses its JSON; fails with its stderr when it exits non-zero. */
function bench(...args: string[]): Promise<Report> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, ...args, "--quick", "--runs", "1", "--json"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    running = p;
    let out = "";
    let err = "";
    p.stdout!.on("data", (d) => (out += d));
    p.stderr!.on("data", (d) => (err += d));
    p.once("exit", (code) => {
      running = null;
      if (code === 0) resolve(JSON.parse(out) as Report);
      else reject(new Error(`bench ${args.join(" ")} exited ${code}:\n${err}`));
    });
  });
}

/** The one run of each system in a section. */
function both(section: Section | undefined): { plain: Metrics; herald: Metrics } {
  expect(section).toBeDefined();
  expect(section!.runs.plain).toHaveLength(1);
  expect(section!.runs.herald).toHaveLength(1);
  return { plain: section!.runs.plain![0]!, herald: section!.runs.herald![0]! };
}

function expectTraffic(m: Metrics, prefix = ""): void {
  const v = (k: string) => m[prefix + k] as number;
  expect(v("received")).toBeGreaterThan(0);
  expect(v("deliveredPct")).toBeGreaterThan(0);
  expect(v("deliveredPct")).toBeLessThanOrEqual(100);
  expect(v("dups")).toBeGreaterThanOrEqual(0);
  expect(v("p50")).toBeGreaterThanOrEqual(0);
  expect(v("p50")).toBeLessThanOrEqual(v("p90"));
  expect(v("p90")).toBeLessThanOrEqual(v("p99"));
  expect(v("p99")).toBeLessThanOrEqual(v("max"));
  for (const k of ["cpu.servers", "cpu.redis", "cpu.clients", "cpu.publisher"]) expect(v(k)).toBeGreaterThanOrEqual(0);
  expect(v("cpuMsPerMsg")).toBeGreaterThanOrEqual(0);
}

beforeAll(() => {
  execFileSync(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, "-p", `${ROOT}bench/tsconfig.json`], { cwd: ROOT, stdio: "inherit" });
});

afterEach(() => {
  // a timed-out run: SIGINT makes the bench stop every process it started
  if (running && running.exitCode === null) running.kill("SIGINT");
});

describe("npm run bench (smoke, tiny sizes)", () => {
  it("steady: both systems deliver, with latency percentiles in order and CPU per process", async () => {
    const r = await bench("steady");
    const { plain, herald } = both(r.sections[0]);
    expectTraffic(plain);
    expectTraffic(herald);
    expect(herald["cpu.node-2"]).toBeGreaterThanOrEqual(0);
    expect(r.settings.herald!.HERALD_AUTH_MODE).toBe("ticket");
    expect(r.notes.join("\n")).toMatch(/appendonly yes, appendfsync everysec/);
  }, 120_000);

  it("sweep: both systems get a searched ceiling", async () => {
    const r = await bench("sweep");
    const { plain, herald } = both(r.sections[0]);
    for (const m of [plain, herald]) {
      expect(m.probes).toBeGreaterThanOrEqual(1);
      expect(m.ceiling).toBeGreaterThanOrEqual(0);
      if (m.failedAt !== null) expect(m.failedAt).toBeGreaterThan(m.ceiling!);
    }
    expect(r.notes.join("\n")).toMatch(/~10,000 msg\/s on a quiet machine/);
  }, 120_000);

  it("scale-out: CPU per delivered message at each K and the idle nodes' CPU", async () => {
    const r = await bench("scale-out");
    const { plain, herald } = both(r.sections[0]);
    for (const m of [plain, herald]) {
      expectTraffic(m, "k1.");
      expectTraffic(m, "k2.");
      expect(m.ratio).toBeGreaterThan(0);
      expect(m["idle.median"]).toBeGreaterThanOrEqual(0);
    }
  }, 150_000);

  it("connections: every client connects, with a rate, memory per connection, and a burst in a network namespace", async () => {
    const r = await bench("connections", "--burst", "100");
    const { plain, herald } = both(r.sections.find((s) => s.title === "connections, one node"));
    for (const m of [plain, herald]) {
      expect(m.connected).toBe(150);
      expect(m.rate).toBeGreaterThan(0);
      expect(Number.isFinite(m.kb2)).toBe(true);
    }
    const burst = both(r.sections.find((s) => s.title === "burst of 100"));
    for (const m of [burst.plain, burst.herald]) expect(m.ok! + m.failed!).toBe(100);
    expect(r.notes.join("\n")).toMatch(/net\.core\.somaxconn=65535 there/);
  }, 150_000);

  it("publish-paths: Herald delivers by HTTP, HTTP batches and the publisher library; the plain cluster by HTTP", async () => {
    // closed loop: without a warm-up, each lane's first request falls inside the measured window
    const r = await bench("publish-paths", "--warmup", "0");
    const { plain, herald } = both(r.sections[0]);
    expectTraffic(plain, "single.");
    for (const path of ["single.", "batch.", "library."]) expectTraffic(herald, path);
    expect(plain["batch.deliveredRate"]).toBeUndefined();
  }, 120_000);

  it("abuse: with a stalled and a greedy client, the node keeps running and the others get their messages", async () => {
    const r = await bench("abuse");
    const { plain, herald } = both(r.sections[0]);
    for (const m of [plain, herald]) {
      expect(m.nodeAlive).toBe(1);
      expect(m.slowConnected).toBe(1);
      expect(m.greedyConnected! + m.greedyRefused!).toBe(20);
      expect(Number.isFinite(m.rssGrowth)).toBe(true);
      expect(m.received).toBeGreaterThan(0);
    }
    expect(r.notes.join("\n")).toMatch(/bound: node RSS growth ≤/);
  }, 120_000);
});
