// `npm run bench -- <scenario> [options]`: Herald and a plain Socket.IO cluster, one after the other on
// this machine, each on a fresh redis-server; results side by side as a table, or JSON with --json.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseOptions, UsageError, type Options } from "./lib/options.js";
import { renderJson, renderTable, type Report } from "./lib/report.js";
import { REDIS_PERSISTENCE_TEXT, redisNice } from "./lib/systems.js";
import { killAllStarted } from "./lib/proc.js";
import type { ScenarioResult } from "./scenarios/common.js";
import { steady } from "./scenarios/steady.js";
import { sweep } from "./scenarios/sweep.js";
import { scaleOut } from "./scenarios/scale-out.js";
import { connections, runBurstInNamespace } from "./scenarios/connections.js";
import { publishPaths } from "./scenarios/publish-paths.js";
import { burst } from "./scenarios/burst.js";
import { abuse } from "./scenarios/abuse.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

function commitOf(dir: string): string {
  try {
    const head = execFileSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["-C", dir, "status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return "unknown";
  }
}

async function runScenario(o: Options): Promise<ScenarioResult> {
  switch (o.scenario) {
    case "steady":
      return steady(o);
    case "sweep":
      return sweep(o);
    case "scale-out":
      return scaleOut(o);
    case "connections":
      return connections(o);
    case "publish-paths":
      return publishPaths(o);
    case "burst":
      if (process.env.HERALD_BENCH_NETNS) return burst(o);
      return { settings: {}, ...(await runBurstInNamespace(o)) };
    case "abuse":
      return abuse(o);
  }
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2), REPO);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const result = await runScenario(o);
  const report: Report = {
    scenario: o.scenario,
    date: new Date().toISOString(),
    commit: commitOf(REPO),
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`,
    heraldDir: o.heraldDir,
    heraldCommit: commitOf(o.heraldDir),
    notes: [`redis: a fresh redis-server per system and run, ${REDIS_PERSISTENCE_TEXT}${redisNice() ? `, at nice ${redisNice()} (BENCH_REDIS_NICE)` : ""}; each figure the median of ${o.runs} run(s)${o.runs > 1 ? " (min–max)" : ""}`, ...result.notes],
    settings: result.settings,
    sections: result.sections,
  };
  process.stdout.write((o.json ? renderJson(report) : renderTable(report)) + "\n");
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    killAllStarted();
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
