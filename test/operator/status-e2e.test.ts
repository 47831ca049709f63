// The status tells the truth, end to end on the simulator: a missing Secret, a write the API server
// refuses and a roll whose new pods crash each show in the PushCluster's conditions (with a reason and a
// message naming the object), in a Warning event and in the operator's per-PushCluster metric; each
// clears once fixed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, startWorld, pushClusterYaml, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { until } from "../helpers/ports.js";

let world: HeraldWorld;
let operator: OperatorProcess;

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const pushCluster = () => getJson(["-n", "apps", "get", "pushcluster", "sc"]);
const condition = async (type: string) => (await pushCluster()).status?.conditions?.find((c: any) => c.type === type);
const eventsOf = async () => (await getJson(["-n", "apps", "get", "events", "--field-selector", "involvedObject.name=sc"])).items.map((e: any) => ({ type: e.type, reason: e.reason, message: e.message }));
/** Events are recorded after the status is written: wait for one rather than expect it at once. */
const eventSeen = (want: Record<string, unknown>) => until(async () => (await eventsOf()).some((e: any) => Object.entries(want).every(([k, v]) => e[k] === v)), `event ${JSON.stringify(want)}`, 10_000, 200);
const metric = async (name: string) => (await (await fetch(operator.metricsUrl)).text()).split("\n").filter((l) => l.startsWith(`${name}{`) && l.includes('pushcluster="sc"'));

beforeAll(async () => {
  world = await startWorld();
  operator = await startOperator(world.kubeconfig);
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await world?.stop();
});

describe("a status that tells the truth", () => {
  it("reports a missing Secret by name, warns, and recovers once it is created", async () => {
    const spec = pushClusterYaml("sc", world.redis.url, "  progressDeadlineSeconds: 10\n").replace("replicas: 3", "replicas: 2").replace("{ name: herald-publish }", "{ name: sc-publish }");
    await world.kubectl(["apply", "-f", "-"], spec);
    await until(async () => (await condition("Degraded"))?.reason === "SecretMissing", "Degraded SecretMissing", 30_000, 200);
    const degraded = await condition("Degraded");
    expect(degraded.status).toBe("True");
    expect(degraded.message).toContain("Secret apps/sc-publish (spec.publishKeysSecretRef) does not exist");
    expect(await condition("Ready")).toMatchObject({ status: "False", reason: "SecretMissing" });
    expect((await pushCluster()).status.observedGeneration).toBeUndefined();
    await eventSeen({ type: "Warning", reason: "SecretMissing", message: degraded.message });
    await until(async () => (await metric("herald_operator_pushcluster_degraded")).some((l) => l.includes('reason="SecretMissing"') && l.endsWith(" 1")), "the degraded metric", 10_000, 200);

    await world.kubectl(["-n", "apps", "create", "secret", "generic", "sc-publish", "--from-literal=keys=k"]);
    await until(async () => (await condition("Ready"))?.status === "True", "Ready once the Secret exists", 90_000, 200);
    const pc = await pushCluster();
    expect(pc.status.observedGeneration).toBe(pc.metadata.generation);
    expect((await condition("Degraded")).status).toBe("False");
    await eventSeen({ type: "Normal", reason: "Recovered" });
    await until(async () => (await metric("herald_operator_pushcluster_ready")).some((l) => l.endsWith(" 1")), "the ready metric", 10_000, 200);
    expect(await metric("herald_operator_pushcluster_degraded")).toEqual(['herald_operator_pushcluster_degraded{pushcluster_namespace="apps",pushcluster="sc",reason=""} 0']);
  }, 150_000);

  it("reports a StatefulSet write the API server refuses as ApplyFailed, and keeps observedGeneration behind", async () => {
    const unfault = world.sim.faults.add({ verb: "patch", resource: "statefulsets", namespace: "apps", name: "sc", status: 422, reason: "Invalid", message: 'StatefulSet.apps "sc" is invalid: spec.template: refused for the test', count: 1_000_000 });
    try {
      await world.kubectl(["-n", "apps", "patch", "pushcluster", "sc", "--type=merge", "-p", '{"spec":{"image":"ghcr.io/herald-push/herald:0.1.1"}}']);
      await until(async () => (await condition("Degraded"))?.reason === "ApplyFailed", "Degraded ApplyFailed", 30_000, 200);
      const pc = await pushCluster();
      expect(pc.status.observedGeneration).toBeLessThan(pc.metadata.generation);
      expect((await condition("Degraded")).message).toBe('The API server refused StatefulSet apps/sc (422 Invalid): StatefulSet.apps "sc" is invalid: spec.template: refused for the test');
      expect(await condition("Ready")).toMatchObject({ status: "False", reason: "ApplyFailed" });
      await eventSeen({ type: "Warning", reason: "ApplyFailed" });
    } finally {
      unfault();
    }
    await until(async () => {
      const pc = await pushCluster();
      return pc.status.observedGeneration === pc.metadata.generation && pc.status.conditions.find((c: any) => c.type === "Ready").status === "True";
    }, "the new image rolled out and Ready", 120_000, 250);
  }, 180_000);

  it("reports a roll whose new pods crash as RolloutStalled after the progress deadline, naming the pod", async () => {
    // HERALD_INBOX_TTL_SECONDS=soon stops the push node at start (exit code 78): the replaced node never becomes ready
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "sc", "--type=json", "-p", '[{"op":"add","path":"/spec/env/-","value":{"name":"HERALD_INBOX_TTL_SECONDS","value":"soon"}}]']);
    await until(async () => (await condition("Degraded"))?.reason === "RolloutStalled", "Degraded RolloutStalled", 90_000, 250);
    const degraded = await condition("Degraded");
    expect(degraded.message).toMatch(/No progress for more than 10s \(spec\.progressDeadlineSeconds\) while rolling/);
    expect(degraded.message).toMatch(/sc-1: .*exit code 78/);
    expect(await condition("Progressing")).toMatchObject({ status: "False", reason: "RolloutStalled" });
    expect(await condition("Ready")).toMatchObject({ status: "False", reason: "RolloutStalled" });
    const pc = await pushCluster();
    expect(pc.status.observedGeneration).toBe(pc.metadata.generation); // applied; it is the pods that fail
    expect(pc.status.readyReplicas).toBe(1);
    await eventSeen({ type: "Warning", reason: "RolloutStalled" });
    await until(async () => (await metric("herald_operator_pushcluster_degraded")).some((l) => l.includes('reason="RolloutStalled"') && l.endsWith(" 1")), "the degraded metric", 10_000, 200);

    // undoing the change rolls the crashing node back
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "sc", "--type=json", "-p", '[{"op":"remove","path":"/spec/env/1"}]']);
    await until(async () => (await condition("Ready"))?.status === "True", "Ready after the fix", 120_000, 250);
    expect((await condition("Degraded")).status).toBe("False");
  }, 240_000);
});
