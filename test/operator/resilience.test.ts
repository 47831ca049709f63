// Two operator replicas: only the leader writes (the simulator's audit log says who did what); killing the
// leader in the middle of a reconcile hands over within the lease time and the standby converges; injected
// API errors are retried until the cluster converges.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, startWorld, pushClusterYaml, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { until } from "../helpers/ports.js";

let world: HeraldWorld;
const operators: OperatorProcess[] = [];
const WRITES = new Set(["create", "update", "patch", "delete", "deletecollection"]);
const writesBy = (user: string) => world.sim.audit.find({ user }).filter((e) => WRITES.has(e.verb));

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const isReady = async (name: string) => {
  const pc = await getJson(["-n", "apps", "get", "pushcluster", name]);
  return pc.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True" && pc.status.observedGeneration === pc.metadata.generation;
};

beforeAll(async () => {
  world = await startWorld();
}, 120_000);

afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop()));
  await world?.stop();
});

describe("operator replicas and faults", () => {
  it("lets only the leader write, and hands over within the lease time when the leader dies mid-reconcile", async () => {
    const kcA = world.sim.writeKubeconfig({ user: "operator-a", groups: ["system:masters"] });
    const kcB = world.sim.writeKubeconfig({ user: "operator-b", groups: ["system:masters"] });
    const a = await startOperator(kcA, { HERALD_OPERATOR_ID: "operator-a" });
    operators.push(a);
    await until(() => world.sim.audit.find({ user: "operator-a", resource: "leases", verb: "create" }).length > 0, "operator-a to take the lease", 10_000);
    const b = await startOperator(kcB, { HERALD_OPERATOR_ID: "operator-b" });
    operators.push(b);
    await until(() => world.sim.audit.find({ user: "operator-b", resource: "leases", verb: "get" }).length > 0, "operator-b to look at the lease", 10_000);

    await world.kubectl(["apply", "-f", "-"], pushClusterYaml("rc", world.redis.url).replace("replicas: 3", "replicas: 2"));
    await until(() => isReady("rc"), "rc Ready", 60_000, 200);
    expect(writesBy("operator-a").length).toBeGreaterThan(5);
    expect(writesBy("operator-b")).toEqual([]);

    // The leader is stuck creating the next cluster's StatefulSet when it is killed.
    world.sim.faults.add({ user: "operator-a", verb: "create", resource: "statefulsets", delayMs: 60_000, count: 1 });
    await world.kubectl(["apply", "-f", "-"], pushClusterYaml("rc2", world.redis.url).replace("replicas: 3", "replicas: 1"));
    // (a create names no object in its URL: look for the object itself)
    await until(() => world.sim.cluster.store.get("/services", "apps", "rc2-internal"), "operator-a mid-reconcile of rc2", 20_000);
    await until(() => world.sim.audit.find({ user: "operator-a", verb: "create", resource: "statefulsets", namespace: "apps" }).length > 0 || world.sim.faults.pending().length === 0, "operator-a to be stuck creating the StatefulSet", 20_000);
    expect(world.sim.cluster.store.get("apps/statefulsets", "apps", "rc2")).toBeFalsy();
    const killedAt = Date.now();
    await a.kill9();

    await until(() => writesBy("operator-b").some((e) => e.resource === "leases"), "operator-b to take the lease", 25_000, 100);
    const handover = Date.now() - killedAt;
    expect(handover).toBeLessThan(15_000 + 2_000 + 3_000); // lease duration + retry period + scheduling slack
    await until(() => isReady("rc2"), "rc2 Ready under the new leader", 60_000, 200);
    expect(await isReady("rc")).toBe(true);
    // No split brain: once operator-b leads, operator-a has written nothing. (Between the kill and the
    // takeover the server may still finish requests operator-a had sent before it died.)
    const takeover = Math.min(...writesBy("operator-b").filter((e) => e.resource === "leases").map((e) => Date.parse(e.time)));
    expect(takeover).toBeGreaterThan(killedAt);
    expect(writesBy("operator-a").filter((e) => Date.parse(e.time) >= takeover)).toEqual([]);
  });

  it("retries injected API errors until the cluster converges", async () => {
    const leader = operators[1]!;
    world.sim.faults.add({ user: "operator-b", verb: "patch", resource: "pushclusters", count: 3, status: 500, message: "injected" });
    world.sim.faults.add({ user: "operator-b", verb: "patch", resource: "statefulsets", count: 2, status: 409, reason: "Conflict", message: "injected conflict" });
    // (the operator reads from its cache: the throttling hits a write, the affinity document's update)
    world.sim.faults.add({ user: "operator-b", verb: "update", resource: "configmaps", count: 2, status: 429, message: "slow down", retryAfterSeconds: 1 });
    await world.kubectl(["-n", "apps", "scale", "pushcluster", "rc2", "--replicas=2"]);
    await until(async () => (await isReady("rc2")) && (await getJson(["-n", "apps", "get", "statefulset", "rc2"])).spec.replicas === 2, "rc2 at two ready nodes", 60_000, 200);
    expect(world.sim.faults.pending().filter((r) => r.user === "operator-b")).toEqual([]);
    const metrics = await (await fetch(leader.metricsUrl)).text();
    expect(Number(/herald_operator_reconcile_errors_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(metrics).toMatch(/herald_operator_leader 1/);
  });
});
