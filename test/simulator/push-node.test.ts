// Two real `herald push-node` pods as a StatefulSet in the simulator: ready on their own pod IPs and
// reachable through a Service.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { fixture, kubectl } from "./helpers.js";

let sim: Simulator;

beforeAll(async () => {
  // The kubelet runs bin/herald.js, which loads the compiled dist/ (`npm run build`, as `npm test` does).
  expect(existsSync(new URL("../../dist/push-node/main.js", import.meta.url)), "run `npm run build` first").toBe(true);
  sim = await startSimulator();
});

afterAll(async () => {
  await sim?.stop();
});

describe("herald push-node in the simulator", () => {
  it("runs a StatefulSet of two push nodes, each ready on its own pod IP and reachable through the Service", async () => {
    const k = (args: string[]) => kubectl(sim.kubeconfigPath, args);
    expect((await k(["apply", "-f", fixture("push-nodes.yaml")])).code).toBe(0);
    const rollout = await k(["rollout", "status", "statefulset/push", "--timeout=60s"]);
    expect(rollout.code, rollout.stderr).toBe(0);

    const kc = new KubeConfig();
    kc.loadFromFile(sim.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const pods = (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=push" })).items;
    expect(pods.map((p) => p.metadata!.name).sort()).toEqual(["push-0", "push-1"]);
    const ips = pods.map((p) => p.status!.podIP!);
    expect(new Set(ips).size).toBe(2);
    for (const p of pods) {
      const ip = p.status!.podIP!;
      expect(ip.startsWith(`${sim.network.podPrefix}.`)).toBe(true);
      expect((await fetch(`http://${ip}:3000/readyz`)).status).toBe(200);
      expect((await fetch(`http://${ip}:3000/healthz`)).status).toBe(200);
      const logs = (await k(["logs", p.metadata!.name!])).stdout;
      expect(logs).toContain(`"host":"${ip}"`);
      expect(logs).toContain(`"node":"${p.metadata!.name}"`);
    }
    const svc = await core.readNamespacedService({ namespace: "default", name: "push" });
    const viaService = await fetch(`http://${svc.spec!.clusterIP}:80/readyz`);
    expect(viaService.status).toBe(200);
    const ep = await core.readNamespacedEndpoints({ namespace: "default", name: "push" });
    expect(ep.subsets![0]!.addresses!.map((a) => a.ip).sort()).toEqual([...ips].sort());
  });
});
