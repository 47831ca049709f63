// `npm run sim` (node dist/dev/cli.js sim): the documented command starts the simulator, prints the kubeconfig path, serves kubectl,
// and stops every pod process on SIGTERM.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { alive, kubectl, waitFor } from "./helpers.js";

const devCli = fileURLToPath(new URL("../../dist/dev/cli.js", import.meta.url));

describe("npm run sim", () => {
  it("prints the kubeconfig path, serves kubectl, and stops its pods when terminated", async () => {
    expect(existsSync(new URL("../../dist/dev/simulator/main.js", import.meta.url)), "run `npm run build` first").toBe(true);
    const proc = spawn(process.execPath, [devCli, "sim"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    try {
      const kubeconfig = await waitFor("the kubeconfig line", () => /^kubeconfig: (\S+)$/m.exec(out)?.[1]);
      expect(out).toMatch(/^Kubernetes API simulator listening on https:\/\/127\.0\.0\.1:\d+$/m);
      expect((await kubectl(kubeconfig, ["get", "namespaces", "-o", "name"])).stdout).toBe(
        "namespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\n",
      );
      const podYaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: sleeper}\nspec:\n  containers: [{name: c, image: busybox, command: [sleep, '300']}]\n";
      expect((await kubectl(kubeconfig, ["apply", "-f", "-"], podYaml)).code).toBe(0);
      const pid = await waitFor("the pod's process", async () => {
        const id = (await kubectl(kubeconfig, ["get", "pod", "sleeper", "-o", "jsonpath={.status.containerStatuses[0].containerID}"])).stdout;
        return id.startsWith("sim://") && Number(id.slice(6));
      });
      expect(alive(pid)).toBe(true);
      proc.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(alive(pid)).toBe(false);
      expect(existsSync(kubeconfig)).toBe(false);
    } finally {
      if (proc.exitCode === null) proc.kill("SIGKILL");
    }
  });
});

describe("npm run cluster", () => {
  it("exits on Ctrl-C even when its operator child already died", async () => {
    // its own process group, so that a failure here can still stop everything it started
    const proc = spawn(process.execPath, [devCli, "cluster"], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "warn" }, detached: true });
    const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
    let out = "";
    proc.stdout!.on("data", (d) => (out += d));
    proc.stderr!.on("data", (d) => (out += d));
    try {
      await waitFor("Herald is running", () => out.includes("Herald is running"), 150_000, 200);
      // the operator is the child running `herald.js operator`
      const children = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
      const operatorPid = children.find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("operator");
        } catch {
          return false;
        }
      });
      expect(operatorPid).toBeGreaterThan(0);
      process.kill(operatorPid!, "SIGKILL");
      await waitFor("the operator to die", () => !alive(operatorPid!), 10_000);
      proc.kill("SIGINT");
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r("still running"), 30_000))])).toBe(0);
    } finally {
      if (proc.exitCode === null) {
        try {
          process.kill(-proc.pid!, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }
  }, 200_000);
});
