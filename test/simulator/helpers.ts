// Shared helpers for the simulator tests: run real kubectl against a simulator, poll for conditions.
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/simulator/${name}`, import.meta.url));

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs kubectl (1.32 from PATH) with the given kubeconfig; never throws on a non-zero exit. Its HOME and
 * discovery cache live next to the kubeconfig, in the simulator's directory (removed by stop()).
 */
export function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<KubectlResult> {
  const cacheDir = join(dirname(kubeconfig), "kubectl-home");
  return new Promise((resolve) => {
    const child = execFile(
      "kubectl",
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args],
      { timeout: 30_000, env: { PATH: process.env.PATH ?? "/usr/bin", HOME: cacheDir } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** Polls `check` until it returns a truthy value (returned) or the timeout passes (throws with the last value). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Whether a process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
