// Drift repair end to end on the simulator: hand edits with kubectl to fields the operator owns (the
// StatefulSet's replicas, the login Service's selector, the Role's verbs) are put back, with an event;
// what it does not own (another controller's annotation) stays.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, startWorld, pushClusterYaml, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { until } from "../helpers/ports.js";

// The pod template section, as a cluster might require it (checked by the CRD's schema on apply).
const POD = `  pod:
    tolerations: [{ key: dedicated, operator: Equal, value: push, effect: NoSchedule }]
    nodeSelector: { kubernetes.io/os: linux }
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { app.kubernetes.io/instance: dr } } }]
    priorityClassName: push-high
    imagePullSecrets: [{ name: registry }]
    labels: { team: push }
`;

let world: HeraldWorld;
let operator: OperatorProcess;

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const get = (kind: string) => getJson(["-n", "apps", "get", kind]);
const isReady = async () => (await get("pushcluster/dr")).status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True";
const driftEvents = async () => (await getJson(["-n", "apps", "get", "events", "--field-selector", "involvedObject.name=dr"])).items.filter((e: any) => e.reason === "DriftRepaired").map((e: any) => e.message);

beforeAll(async () => {
  world = await startWorld();
  operator = await startOperator(world.kubeconfig);
  await world.kubectl(["apply", "-f", "-"], pushClusterYaml("dr", world.redis.url, POD).replace("replicas: 3", "replicas: 2"));
  await until(isReady, "dr Ready", 90_000, 200);
}, 150_000);

afterAll(async () => {
  await operator?.stop();
  await world?.stop();
});

describe("the pod template section", () => {
  it("reaches the StatefulSet and its pods, with the restricted-compliant security default", async () => {
    const t = (await get("statefulset/dr")).spec.template;
    expect(t.spec.tolerations).toEqual([{ key: "dedicated", operator: "Equal", value: "push", effect: "NoSchedule" }]);
    expect(t.spec.nodeSelector).toEqual({ "kubernetes.io/os": "linux" });
    expect(t.spec.topologySpreadConstraints[0]).toMatchObject({ maxSkew: 1, topologyKey: "kubernetes.io/hostname" });
    expect(t.spec.priorityClassName).toBe("push-high");
    expect(t.spec.imagePullSecrets).toEqual([{ name: "registry" }]);
    expect(t.metadata.labels.team).toBe("push");
    expect(t.spec.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    const pod = await get("pod/dr-0");
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.spec.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(pod.spec.tolerations).toEqual(t.spec.tolerations);
  });

  it("is written by the field manager herald-operator (kubectl --show-managed-fields)", async () => {
    const sts = JSON.parse(await world.kubectl(["-n", "apps", "get", "statefulset/dr", "-o", "json", "--show-managed-fields"]));
    const managers = sts.metadata.managedFields.map((f: any) => f.manager);
    expect(managers).toContain("herald-operator");
    const own = sts.metadata.managedFields.find((f: any) => f.manager === "herald-operator" && !f.subresource);
    expect(own.fieldsV1["f:spec"]["f:template"]).toBeDefined();
  });

  it("is refused by the schema when malformed", async () => {
    const bad = pushClusterYaml("bad", world.redis.url, "  pod:\n    imagePullSecrets: [{ secret: registry }]\n");
    await expect(world.kubectl(["apply", "-f", "-"], bad)).rejects.toThrow(/spec\.pod\.imagePullSecrets\[0\]/);
    const wrongType = pushClusterYaml("bad", world.redis.url, "  pod:\n    tolerations: none\n");
    await expect(world.kubectl(["apply", "-f", "-"], wrongType)).rejects.toThrow(/spec\.pod\.tolerations/);
  });
});

describe("drift repair", () => {
  it("puts back hand edits to owned fields and leaves fields others own", async () => {
    const selector = (await get("service/dr")).spec.selector;
    const verbs = (await get("role/dr-node")).rules[0].verbs;
    await world.kubectl(["-n", "apps", "annotate", "service", "dr-internal", "other.example.com/seen=yes"]);
    await world.kubectl(["-n", "apps", "annotate", "statefulset", "dr", "other.example.com/revision=7"]);

    await world.kubectl(["-n", "apps", "scale", "statefulset", "dr", "--replicas=4"]);
    await world.kubectl(["-n", "apps", "patch", "service", "dr", "-p", '{"spec":{"selector":{"app.kubernetes.io/component":"hijacked","extra":"x"}}}']);
    await world.kubectl(["-n", "apps", "patch", "role", "dr-node", "--type=json", "-p", '[{"op":"add","path":"/rules/0/verbs/-","value":"delete"}]']);

    await until(async () => (await get("statefulset/dr")).spec.replicas === 2, "StatefulSet replicas back to 2", 30_000, 200);
    await until(async () => JSON.stringify((await get("service/dr")).spec.selector) === JSON.stringify(selector), "login Service selector back", 30_000, 200);
    await until(async () => JSON.stringify((await get("role/dr-node")).rules[0].verbs) === JSON.stringify(verbs), "Role verbs back", 30_000, 200);
    await until(async () => (await driftEvents()).length >= 3, "three DriftRepaired events", 10_000, 200);
    const messages = await driftEvents();
    expect(messages).toEqual(
      expect.arrayContaining([
        "Put back spec.replicas of StatefulSet apps/dr, changed outside the operator",
        "Put back spec.selector of Service apps/dr, changed outside the operator",
        "Put back rules of Role apps/dr-node, changed outside the operator",
      ]),
    );
    // the other controllers' annotations survived the repairs, and the cluster never left its two nodes
    expect((await get("service/dr-internal")).metadata.annotations["other.example.com/seen"]).toBe("yes");
    expect((await get("statefulset/dr")).metadata.annotations["other.example.com/revision"]).toBe("7");
    await until(isReady, "dr Ready again", 60_000, 200);
    const pc = await get("pushcluster/dr");
    expect(pc.status.replicas).toBe(2);
    expect(JSON.parse((await get("configmap/dr-affinity")).data["affinity.json"]).nodes.map((n: any) => n.id)).toEqual(["dr-0", "dr-1"]);
  }, 150_000);
});
