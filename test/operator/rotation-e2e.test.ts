// Rotation and restarts end to end on the simulator: a rotated publish Secret rolls the push nodes (one
// drained node at a time) so that the new key works; `kubectl rollout restart` on the StatefulSet becomes
// the same drained roll; spec.paused holds every change until it is unset; a new drain grace period rolls nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, startWorld, pushClusterYaml, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { until } from "../helpers/ports.js";

let world: HeraldWorld;
let operator: OperatorProcess;

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const pods = async () => (await getJson(["-n", "apps", "get", "pods", "-l", "app.kubernetes.io/instance=ro"])).items;
const isReady = async () => (await getJson(["-n", "apps", "get", "pushcluster", "ro"])).status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True";
const reasons = async () => (await getJson(["-n", "apps", "get", "events", "--field-selector", "involvedObject.name=ro"])).items.map((e: any) => e.reason);
/** Resolves once every pod is new (none of `before`'s uids), on one template, ready, and the cluster Ready. */
async function rolled(before: Set<string>, what: string): Promise<void> {
  await until(async () => {
    const ps = await pods();
    return ps.length === 2 && ps.every((p: any) => !before.has(p.metadata.uid) && p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")) && (await isReady());
  }, what, 120_000, 250);
}
const publishWith = async (key: string) => {
  const ip = (await getJson(["-n", "apps", "get", "service", "ro-internal"])).spec.clusterIP;
  const r = await fetch(`http://${ip}:8080/v1/publish`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}` }, body: JSON.stringify({ to: ["someone"], data: "x" }) });
  await r.arrayBuffer();
  return r.status;
};

beforeAll(async () => {
  world = await startWorld();
  operator = await startOperator(world.kubeconfig);
  await world.kubectl(["apply", "-f", "-"], pushClusterYaml("ro", world.redis.url).replace("replicas: 3", "replicas: 2").replace("drainGracePeriodSeconds: 20", "drainGracePeriodSeconds: 5"));
  await until(isReady, "ro Ready", 90_000, 200);
}, 150_000);

afterAll(async () => {
  await operator?.stop();
  await world?.stop();
});

describe("rotation and restarts", () => {
  it("rolls the nodes, drained, when the publish Secret is rotated, and the new key works", async () => {
    const before = new Set<string>((await pods()).map((p: any) => p.metadata.uid));
    const rotated = await world.kubectl(["-n", "apps", "create", "secret", "generic", "herald-publish", "--from-literal=keys=rotated-key", "--dry-run=client", "-o", "yaml"]);
    await world.kubectl(["apply", "-f", "-"], rotated);
    await rolled(before, "both nodes replaced after the rotation");
    expect(await publishWith("rotated-key")).toBe(202);
    expect(await publishWith("the-old-key-is-gone")).toBe(401);
    expect(await reasons()).toEqual(expect.arrayContaining(["TemplateChanged", "Draining", "Replacing", "Rolled"]));
  }, 150_000);

  it("turns kubectl rollout restart into a drained roll", async () => {
    const before = new Set<string>((await pods()).map((p: any) => p.metadata.uid));
    await world.kubectl(["-n", "apps", "rollout", "restart", "statefulset", "ro"]);
    await rolled(before, "both nodes replaced after rollout restart");
    const sts = await getJson(["-n", "apps", "get", "statefulset", "ro"]);
    expect(sts.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]).toBeDefined();
  }, 150_000);

  it("changes nothing while paused, and rolls once unpaused", async () => {
    const before = new Set<string>((await pods()).map((p: any) => p.metadata.uid));
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "ro", "--type=merge", "-p", '{"spec":{"paused":true,"image":"ghcr.io/herald-push/herald:0.1.1"}}']);
    await until(async () => (await getJson(["-n", "apps", "get", "pushcluster", "ro"])).status.conditions.find((c: any) => c.type === "Progressing").reason === "Paused", "Progressing=False Paused", 20_000, 200);
    const pc = await getJson(["-n", "apps", "get", "pushcluster", "ro"]);
    expect(pc.status.observedGeneration).toBeLessThan(pc.metadata.generation);
    expect((await getJson(["-n", "apps", "get", "statefulset", "ro"])).spec.template.spec.containers[0].image).not.toBe("ghcr.io/herald-push/herald:0.1.1");
    expect((await pods()).every((p: any) => before.has(p.metadata.uid))).toBe(true);
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "ro", "--type=merge", "-p", '{"spec":{"paused":false}}']);
    await rolled(before, "both nodes on the new image once unpaused");
    expect((await getJson(["-n", "apps", "get", "statefulset", "ro"])).spec.template.spec.containers[0].image).toBe("ghcr.io/herald-push/herald:0.1.1");
  }, 150_000);

  it("takes a new drain grace period without a roll", async () => {
    const before = (await pods()).map((p: any) => p.metadata.uid).sort();
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "ro", "--type=merge", "-p", '{"spec":{"drainGracePeriodSeconds":45}}']);
    await until(async () => (await getJson(["-n", "apps", "get", "statefulset", "ro"])).spec.template.spec.terminationGracePeriodSeconds === 55, "the StatefulSet to carry the new grace", 20_000, 200);
    const pc = await getJson(["-n", "apps", "get", "pushcluster", "ro"]);
    await until(async () => (await getJson(["-n", "apps", "get", "pushcluster", "ro"])).status.observedGeneration === pc.metadata.generation, "the generation applied", 20_000, 200);
    expect(await isReady()).toBe(true);
    expect((await pods()).map((p: any) => p.metadata.uid).sort()).toEqual(before);
  }, 60_000);
});
