// Rotation and restarts end to end on the simulator: a rotated publish Secret rolls the push nodes (one
// drained node at a time) so that the new key works; `kubectl rollout restart` on the StatefulSet becomes
// the same drained roll; spec.paused holds every change until it is unset; a new drain grace period rolls nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, startWorld, pushClusterYaml, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { until } from "../helpers/ports.js";
import { connect, loginTicket } from "../helpers/client.js";

let world: HeraldWorld;
let operator: OperatorProcess;

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const pods = async () => (await getJson(["-n", "apps", "get", "pods", "-l", "app.kubernetes.io/instance=ro"])).items;
const isReady = async () => (await getJson(["-n", "apps", "get", "pushcluster", "ro"])).status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True";
const reasons = async () => (await getJson(["-n", "apps", "get", "events", "--field-selector", "involvedObject.name=ro"])).items.map((e: any) => e.reason);
/** Resolves once every pod is new (none of `before`'s uids), on one template, ready, and the cluster Ready. */
async function rolled(before: Set<string>, what: string, count = 2): Promise<void> {
  await until(async () => {
    const ps = await pods();
    return ps.length === count && ps.every((p: any) => !before.has(p.metadata.uid) && p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")) && (await isReady());
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

  it("rolls a rotated token Secret without a refused token: old and new nodes accept each other's tokens until the roll is done", async () => {
    // three nodes: while the middle one drains, one old and one new node take logins and connections
    await world.kubectl(["-n", "apps", "scale", "pushcluster", "ro", "--replicas=3"]);
    await until(async () => (await pods()).length === 3 && (await isReady()), "three nodes Ready", 90_000, 250);
    const before = new Set<string>((await pods()).map((p: any) => p.metadata.uid));
    const loginUrl = `http://${(await getJson(["-n", "apps", "get", "service", "ro"])).spec.clusterIP}`;
    const state = async () => (await getJson(["-n", "apps", "get", "secret", "ro-token-previous"])).data ?? {};
    const oldValue = (await getJson(["-n", "apps", "get", "secret", "ro-token"])).data.secret;
    expect((await state()).current).toBe(oldValue);
    const outcomes = { connected: 0, tokenRefused: 0, other: 0 };
    let rolling = true;
    // fresh users log in through the login Service (any node) and connect to the node assigned, all through the roll
    const loop = async (w: number) => {
      for (let i = 0; rolling; i++) {
        try {
          // a node stopping mid-handshake may never answer: give up on that attempt after 10 s
          const attempt = connect(await loginTicket(loginUrl, `rot-${w}-${i}`));
          let late = false;
          attempt.then((c) => late && c.close(), () => {});
          const client = await Promise.race([attempt, new Promise<never>((_, reject) => setTimeout(() => ((late = true), reject(new Error("no answer"))), 10_000))]);
          outcomes.connected++;
          client.close();
        } catch (err) {
          const code = (err as { message?: string; data?: { code?: string } }).data?.code ?? (err as Error).message;
          if (code === "TOKEN_INVALID") outcomes.tokenRefused++;
          else outcomes.other++; // a draining or restarting node (503, NODE_UNAVAILABLE, refused connection): the client logs in again
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const traffic = Promise.all([0, 1, 2, 3].map(loop));
    const rotated = await world.kubectl(["-n", "apps", "create", "secret", "generic", "ro-token", `--from-literal=secret=${"r".repeat(40)}`, "--dry-run=client", "-o", "yaml"]);
    await world.kubectl(["apply", "-f", "-"], rotated);
    await until(async () => (await state()).previous === oldValue, "the old token secret kept as previous", 20_000, 200);
    const env = (await getJson(["-n", "apps", "get", "statefulset", "ro"])).spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "HERALD_TOKEN_SECRET_PREVIOUS", valueFrom: { secretKeyRef: { name: "ro-token-previous", key: "previous", optional: true } } });
    await rolled(before, "every node replaced after the token rotation", 3);
    await until(async () => (await state()).previous === undefined, "the previous secret dropped once the roll is done", 20_000, 200);
    rolling = false;
    await traffic;
    expect(outcomes.tokenRefused, JSON.stringify(outcomes)).toBe(0);
    expect(outcomes.connected).toBeGreaterThan(20);
    expect((await getJson(["-n", "apps", "get", "statefulset", "ro"])).spec.template.spec.containers[0].env.map((e: any) => e.name)).not.toContain("HERALD_TOKEN_SECRET_PREVIOUS");
    expect((await pods()).map((p: any) => p.metadata.uid).every((u: string) => !before.has(u))).toBe(true);
  }, 180_000);
});
