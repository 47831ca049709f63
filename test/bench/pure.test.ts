// The bench's pure parts: percentiles and medians, the sweep's search, option parsing, the side-by-side table.
import { describe, expect, it } from "vitest";
import { cpuMsPer, cpuPercent, percentile, spread, summarise } from "../../bench/lib/stats.js";
import { searchCeiling } from "../../bench/lib/search.js";
import { parseOptions, UsageError } from "../../bench/lib/options.js";
import { renderJson, renderTable, type Report } from "../../bench/lib/report.js";

describe("stats", () => {
  it("takes nearest-rank percentiles and a summary of latencies", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
    expect(summarise([5, 1, 3, 2, 4])).toEqual({ p50: 3, p90: 5, p99: 5, max: 5 });
  });

  it("gives the median with its spread, leaving out runs without a figure", () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
    expect(spread([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
    expect(spread([NaN, 7])).toEqual({ median: 7, min: 7, max: 7 });
    expect(spread([NaN]).median).toBeNaN();
  });

  it("turns clock ticks into % of a core and CPU ms per message", () => {
    expect(cpuPercent(50, 100, 1)).toBe(50);
    expect(cpuPercent(300, 100, 10)).toBe(30);
    expect(cpuMsPer(100, 100, 2000)).toBe(0.5);
    expect(cpuMsPer(100, 100, 0)).toBeNaN();
  });
});

describe("the sweep's search", () => {
  it("doubles until a probe fails, then bisects to the resolution", async () => {
    const tried: number[] = [];
    const r = await searchCeiling(async (rate) => (tried.push(rate), rate <= 5000), { start: 1000, max: 100_000, capMs: 60_000, resolution: 0.1, minStep: 50 });
    expect(tried.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    expect(r.ceiling).toBeLessThanOrEqual(5000);
    expect(r.failedAt).toBeGreaterThan(5000);
    expect(r.failedAt - r.ceiling).toBeLessThanOrEqual(Math.max(50, r.ceiling * 0.1));
    expect(r.cappedByTime).toBe(false);
  });

  it("goes below the start when the first probe fails, down to the minimum step", async () => {
    const r = await searchCeiling(async (rate) => rate <= 300, { start: 1000, max: 100_000, capMs: 60_000, resolution: 0.1, minStep: 50 });
    expect(r.ceiling).toBeLessThanOrEqual(300);
    expect(r.ceiling).toBeGreaterThan(200);
    expect(r.probes[0]).toEqual({ rate: 1000, pass: false });
  });

  it("stops at the time cap and says so", async () => {
    let t = 0;
    const r = await searchCeiling(async () => ((t += 10), true), { start: 1, max: 1e9, capMs: 25, resolution: 0.1, minStep: 1, now: () => t });
    expect(r.probes).toHaveLength(3);
    expect(r.cappedByTime).toBe(true);
    expect(r.failedAt).toBe(Infinity);
  });
});

describe("options", () => {
  it("has the issue's defaults and tiny ones with --quick", () => {
    const o = parseOptions(["steady"], "/repo");
    expect(o).toMatchObject({ scenario: "steady", runs: 3, k: 2, clients: 2000, rate: 2000, durationMs: 10_000, warmupMs: 10_000, heraldDir: "/repo", systems: ["plain", "herald"], burst: 15_000 });
    expect(parseOptions(["scale-out"], "/repo").rate).toBe(1000);
    const q = parseOptions(["connections", "--quick", "--runs", "1", "--herald-dir", "/old"], "/repo");
    expect(q).toMatchObject({ runs: 1, quick: true, heraldDir: "/old", burst: 0, conns: [100, 150] });
  });

  it("refuses an unknown scenario or a bad value with a usage message", () => {
    expect(() => parseOptions(["fast"], "/repo")).toThrow(UsageError);
    expect(() => parseOptions(["steady", "--rate", "lots"], "/repo")).toThrow(/--rate must be a number/);
    expect(() => parseOptions(["steady", "--systems", "nats"], "/repo")).toThrow(/--systems/);
    expect(() => parseOptions(["connections", "--conns", "5000,100"], "/repo")).toThrow(/two increasing sizes/);
  });
});

describe("report", () => {
  const report: Report = {
    scenario: "steady",
    date: "2026-12-01T00:00:00.000Z",
    commit: "abc1234",
    command: "npm run bench -- steady",
    heraldDir: "/repo",
    heraldCommit: "abc1234",
    notes: ["a note"],
    settings: { herald: { HERALD_AUTH_MODE: "ticket" } },
    sections: [{ title: "steady", rows: [{ key: "p99", label: "latency p99 ms", digits: 1 }], runs: { plain: [{ p99: 30 }, { p99: 10 }, { p99: 20 }], herald: [{ p99: NaN }] } }],
  };

  it("prints both systems side by side, the median with min–max", () => {
    const text = renderTable(report);
    expect(text).toMatch(/steady\s+plain Socket\.IO\s+Herald/);
    expect(text).toMatch(/latency p99 ms\s+20\.0 \(10\.0–30\.0\)\s+—/);
    expect(text).toContain("Herald settings (every non-default): HERALD_AUTH_MODE=ticket");
    expect(text).toContain("command: npm run bench -- steady");
  });

  it("prints JSON with every run and the summary, a missing figure as null", () => {
    const j = JSON.parse(renderJson(report));
    expect(j.sections[0].summary.p99.plain).toEqual({ median: 20, min: 10, max: 30, runs: [30, 10, 20] });
    expect(j.sections[0].summary.p99.herald.median).toBeNull();
  });
});
