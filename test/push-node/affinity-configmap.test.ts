// A push node reading its affinity document from a Kubernetes ConfigMap it watches (through the API
// simulator, as in a cluster): a change reaches logins within 2 seconds, and a bad document is refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { clusterEnv, startNode, type NodeProcess } from "../helpers/push-node.js";
import { loginTicket } from "../helpers/client.js";
import { kubectlOk } from "../helpers/operator.js";
import { until } from "../helpers/ports.js";

let sim: Simulator;
let redis: RedisServer;
let node: NodeProcess;

const configMap = (doc: unknown) => JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "affinity", namespace: "default" }, data: { "affinity.json": JSON.stringify(doc) } });

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ kubelet: false });
  node = await startNode(clusterEnv(redis.url, { HERALD_NODE_ID: "cm-0", HERALD_AFFINITY_CONFIGMAP: "default/affinity", KUBECONFIG: sim.kubeconfigPath }), { expectReady: false });
});
afterAll(async () => {
  await node?.stop();
  await sim?.stop();
  await redis?.stop();
});

describe("affinity from a ConfigMap", () => {
  it("is not ready until the ConfigMap exists, then follows its changes within 2 seconds", async () => {
    await until(async () => (await fetch(`${node.url}/readyz`).catch(() => null))?.status === 503, "a node waiting for its document");
    const n = { id: "cm-0", url: node.url, path: "/socket.io" };
    await kubectlOk(sim.kubeconfigPath, ["apply", "-f", "-"], configMap({ version: 1, nodes: [n], pins: {} }));
    await until(async () => (await fetch(`${node.url}/readyz`)).status === 200, "ready once the document is there");
    expect((await loginTicket(node.url, "zoe")).node).toEqual(n);

    const other = { id: "cm-1", url: "http://127.0.0.1:1", path: "/n/cm-1/socket.io" };
    const t0 = Date.now();
    await kubectlOk(sim.kubeconfigPath, ["apply", "-f", "-"], configMap({ version: 2, nodes: [n, other], pins: { zoe: "cm-0" } }));
    await until(async () => (await (await fetch(`${node.url}/metrics`)).text()).includes("herald_affinity_version 2"), "version 2", 2000, 20);
    expect(Date.now() - t0).toBeLessThan(2000);
    // cm-1 is in the document but not alive (no heartbeat): logins still go to cm-0
    expect((await loginTicket(node.url, "zoe")).node.id).toBe("cm-0");

    await kubectlOk(sim.kubeconfigPath, ["apply", "-f", "-"], configMap({ version: 3, nodes: "not a list" }));
    await until(() => /rejected the affinity ConfigMap/.test(node.logs()), "the refusal in the log");
    expect((await (await fetch(`${node.url}/metrics`)).text())).toContain("herald_affinity_version 2");
  });

  it("keeps watching after the watch is cut", async () => {
    expect(sim.faults.cutWatches({ resource: "configmaps" })).toBeGreaterThan(0);
    const n = { id: "cm-0", url: node.url, path: "/socket.io" };
    await kubectlOk(sim.kubeconfigPath, ["apply", "-f", "-"], configMap({ version: 4, nodes: [n], pins: {} }));
    await until(async () => (await (await fetch(`${node.url}/metrics`)).text()).includes("herald_affinity_version 4"), "version 4 after the cut", 5000, 50);
  });
});
