// End to end on the Kubernetes simulator: kubectl applies the CRD and a PushCluster; `herald operator`
// brings up real push-node pods; logins follow the affinity ConfigMap; messages flow; scaling drains;
// deleting the PushCluster clears its Redis keys and its objects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { startOperator, startWorld, pushClusterYaml, kubectl, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { connect, loginTicket, publish, type TestClient } from "../helpers/client.js";
import { until } from "../helpers/ports.js";

let world: HeraldWorld;
let operator: OperatorProcess;
const open: TestClient[] = [];

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const affinity = async () => JSON.parse((await getJson(["-n", "apps", "get", "configmap", "hc-affinity"])).data["affinity.json"]);
const serviceUrl = async (name: string) => `http://${(await getJson(["-n", "apps", "get", "service", name])).spec.clusterIP}`;

beforeAll(async () => {
  world = await startWorld();
  operator = await startOperator(world.kubeconfig);
  await world.kubectl(["apply", "-f", "-"], pushClusterYaml("hc", world.redis.url));
}, 120_000);

afterAll(async () => {
  for (const c of open) c.close();
  await operator?.stop();
  await world?.stop();
});

describe("the operator on the simulator", () => {
  it("brings up the push nodes, their Services and the affinity document, and reports Ready", async () => {
    await until(async () => {
      const pc = await getJson(["-n", "apps", "get", "pushcluster", "hc"]);
      return pc.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True";
    }, "PushCluster Ready", 60_000, 200);
    const pc = await getJson(["-n", "apps", "get", "pushcluster", "hc"]);
    expect(pc.metadata.finalizers).toContain("herald.dev/redis-cleanup");
    expect(pc.status).toMatchObject({ replicas: 3, readyReplicas: 3, selector: expect.stringContaining("app.kubernetes.io/instance=hc") });
    const doc = await affinity();
    expect(doc.nodes.map((n: any) => [n.id, n.state])).toEqual([["hc-0", "active"], ["hc-1", "active"], ["hc-2", "active"]]);
    for (const n of doc.nodes) expect(n.url).toBe(await serviceUrl(n.id));
    const table = await world.kubectl(["-n", "apps", "get", "pushclusters"]);
    expect(table).toMatch(/NAME\s+REPLICAS\s+READY\s+CONNECTIONS\s+AFFINITY\s+STATUS\s+AGE/);
    expect(table).toMatch(/hc\s+3\s+3\s+0\s+\d+\s+AllNodesReady/);
    for (const kind of ["statefulset/hc", "service/hc", "service/hc-nodes", "service/hc-internal", "service/hc-0", "serviceaccount/hc-node", "role/hc-node", "rolebinding/hc-node", "poddisruptionbudget/hc", "secret/hc-token"]) {
      const obj = await getJson(["-n", "apps", "get", kind]);
      expect(obj.metadata.ownerReferences?.[0]).toMatchObject({ kind: "PushCluster", name: "hc", controller: true });
    }
  });

  it("assigns logins as the ConfigMap says and delivers messages through the Services", async () => {
    const login = await serviceUrl("hc");
    const internal = `${await serviceUrl("hc-internal")}:8080`;
    const users = ["ann", "ben", "cid", "dee", "eve", "fay"];
    const doc = await affinity();
    const ids = new Set(doc.nodes.map((n: any) => n.id));
    const clients: TestClient[] = [];
    for (const u of users) {
      const l = await loginTicket(login, u);
      expect(ids.has(l.node.id)).toBe(true);
      expect(l.node.url).toBe(doc.nodes.find((n: any) => n.id === l.node.id).url);
      clients.push(await connect(l));
    }
    open.push(...clients);
    const r = await publish(internal, { to: users, data: "through kubernetes" });
    expect(r.status).toBe(202);
    for (const c of clients) expect((await c.waitFor(1))[0].data).toBe("through kubernetes");
    await until(async () => (await getJson(["-n", "apps", "get", "pushcluster", "hc"])).status.connections === users.length, "connections in status", 10_000, 200);
  });

  it("follows a pin set on the PushCluster", async () => {
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "hc", "--type=merge", "-p", '{"spec":{"pins":{"pinned-user":"hc-1"}}}']);
    const login = await serviceUrl("hc");
    await until(async () => (await loginTicket(login, "pinned-user")).node.id === "hc-1", "the pin to reach logins", 10_000, 100);
  });

  it("scales up with kubectl scale, then down by draining the highest nodes first", async () => {
    for (const c of open.splice(0)) c.close(); // earlier clients would keep their nodes busy for the whole grace period
    await world.kubectl(["-n", "apps", "scale", "pushcluster", "hc", "--replicas=5"]);
    await until(async () => (await affinity()).nodes.filter((n: any) => n.state === "active").length === 5, "five active nodes", 60_000, 200);
    // a client held by hc-2, which the scale-down to 2 will drain
    const login = await serviceUrl("hc");
    let held: TestClient | null = null;
    for (let i = 0; !held; i++) {
      const l = await loginTicket(login, `holder-${i}`);
      if (l.node.id === "hc-2") held = await connect(l);
    }
    const relogin = new Promise<any>((r) => held!.socket.once("relogin", r));
    await until(async () => (await getJson(["-n", "apps", "get", "pushcluster", "hc"])).status.connections === 1, "the operator to see the held connection", 10_000, 100);
    await world.kubectl(["-n", "apps", "scale", "pushcluster", "hc", "--replicas=2"]);
    expect((await relogin).reason).toBe("draining");
    const doc = await affinity();
    expect(doc.nodes.find((n: any) => n.id === "hc-2").state).toBe("draining");
    expect(doc.nodes.filter((n: any) => n.state === "active").map((n: any) => n.id)).toEqual(["hc-0", "hc-1"]);
    // the busy node stays until its client leaves
    expect((await getJson(["-n", "apps", "get", "statefulset", "hc"])).spec.replicas).toBe(3);
    for (let i = 0; i < 5; i++) expect(["hc-0", "hc-1"]).toContain((await loginTicket(login, `newcomer-${i}`)).node.id);
    held!.close();
    await until(async () => (await affinity()).nodes.length === 2, "two nodes left", 30_000, 100);
    await until(async () => (await getJson(["-n", "apps", "get", "statefulset", "hc"])).spec.replicas === 2, "the StatefulSet to shrink", 10_000, 100);
    await until(async () => (await kubectl(world.kubeconfig, ["-n", "apps", "get", "service", "hc-4"])).code !== 0, "the per-node Service of a removed node to go", 10_000, 200);
    const events = (await getJson(["-n", "apps", "get", "events", "--field-selector", "involvedObject.name=hc"])).items.map((e: any) => e.reason);
    expect(events).toEqual(expect.arrayContaining(["ScalingUp", "Draining", "ScalingDown", "TokenSecretCreated"]));
  });

  it("on deletion clears the cluster's Redis keys and no one else's, and its objects", async () => {
    const r = new Redis(world.redis.url);
    try {
      await r.set("someone-else:key", "keep me");
      await r.set("apps.hc2:key", "a cluster with a longer name: keep me");
      expect((await r.keys("apps.hc:*")).length).toBeGreaterThan(0);
      await world.kubectl(["-n", "apps", "delete", "pushcluster", "hc", "--wait=true", "--timeout=60s"]);
      expect(await r.keys("apps.hc:*")).toEqual([]);
      expect(await r.get("someone-else:key")).toBe("keep me");
      expect(await r.get("apps.hc2:key")).not.toBeNull();
      await until(async () => (await kubectl(world.kubeconfig, ["-n", "apps", "get", "statefulset", "hc"])).code !== 0, "the StatefulSet to be collected", 20_000, 200);
    } finally {
      r.disconnect();
    }
  });
});
