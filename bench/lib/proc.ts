// Child processes of the bench and what /proc says about them (CPU ticks, resident memory).
import { execFileSync, fork, spawn, type ChildProcess, type ForkOptions } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Clock ticks per second of /proc/<pid>/stat times (CLK_TCK). */
export const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process in clock ticks, or NaN when it is gone. */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // fields after "(comm)": state is field 3, utime field 14, stime field 15
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes (VmRSS), or NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

export function sampleCpu(pids: number[]): Map<number, number> {
  return new Map(pids.map((p) => [p, cpuTicks(p)]));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Every process the bench starts, so that an interrupted run leaves none behind (stopped by PID only).
const started = new Set<ChildProcess>();
function track(p: ChildProcess): ChildProcess {
  started.add(p);
  p.once("exit", () => started.delete(p));
  return p;
}
// Temporary directories, removed with their contents when the bench is interrupted.
const dirs = new Set<string>();
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

export function killAllStarted(): void {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  for (const d of dirs) removeDir(d);
}
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    killAllStarted();
    process.exit(130);
  });
process.once("exit", killAllStarted);

export function spawnTracked(cmd: string, args: string[], opts: Parameters<typeof spawn>[2]): ChildProcess {
  return track(spawn(cmd, args, opts));
}
export function forkTracked(module: string, args: string[], opts: ForkOptions): ChildProcess {
  return track(fork(module, args, opts));
}

export function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => p.once("exit", () => r()));
}

/** SIGTERM, then SIGKILL after graceMs. */
export async function stopProcess(p: ChildProcess, graceMs = 3000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), graceMs);
  await exited(p);
  clearTimeout(t);
}
