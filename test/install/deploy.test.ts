// The install path without Helm, for real: `kubectl apply -k deploy/` on the Kubernetes simulator with
// RBAC enforced; the simulator's kubelet runs `herald operator` from that Deployment under its service
// account; the operator turns a PushCluster into push nodes that deliver a message; then scaling,
// rolling, repair of drifted objects and deletion exercise the rest of its paths; and the audit log
// shows the service account used only what deploy/rbac.yaml grants, and every grant but the
// documented ones (Ingresses and HTTPRoutes: no PushCluster here exposes itself through them; the
// expose tests in test/operator/expose-e2e.test.ts do).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { startSimulator, type AuditEntry, type Simulator } from "../../dev/simulator/index.js";
import { kubectl, kubectlOk } from "../helpers/operator.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { ROOT, PUBLISH_KEY, TICKET_SECRET } from "../helpers/push-node.js";
import { connect, loginTicket, publish, type TestClient } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { grantsOf, allowedBy } from "./rbac-rules.js";

const SA_USER = "system:serviceaccount:herald-system:herald-operator";
/** Grants kept for paths this test does not take. */
// Ingresses and HTTPRoutes: no PushCluster here sets spec.expose (test/operator/expose-e2e.test.ts does). Services get: the operator lists its Services (one request) rather
// than getting each, but `get` stays granted beside list and watch, as tools reading one Service expect.
// configmaps get: the operator reads from its cache, but the push nodes' Role grants get on their
// ConfigMap, and a Role can only grant what its creator holds. secrets patch: a token secret rotation
// (test/operator/rotation-e2e.test.ts). Ingresses and HTTPRoutes: spec.expose (test/operator/expose-e2e.test.ts).
const KEPT_UNEXERCISED = ["networking.k8s.io/ingresses create", "networking.k8s.io/ingresses patch", "networking.k8s.io/ingresses delete", "gateway.networking.k8s.io/httproutes list", "gateway.networking.k8s.io/httproutes create", "gateway.networking.k8s.io/httproutes patch", "gateway.networking.k8s.io/httproutes delete", "services get", "configmaps get", "secrets patch"];

let sim: Simulator;
let nodeRoleRules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }> = [];
let redis: RedisServer;
const open: TestClient[] = [];
const k = (args: string[], stdin?: string) => kubectlOk(sim.kubeconfigPath, args, stdin);
const getJson = async (args: string[]) => JSON.parse(await k([...args, "-o", "json"]));
const pcStatus = async () => (await getJson(["-n", "apps", "get", "pushcluster", "hc"])).status ?? {};
const readyCondition = async () => (await pcStatus()).conditions?.find((c: any) => c.type === "Ready")?.status === "True";
const affinity = async () => JSON.parse((await getJson(["-n", "apps", "get", "configmap", "hc-affinity"])).data["affinity.json"]);
const clusterIp = async (name: string) => (await getJson(["-n", "apps", "get", "service", name])).spec.clusterIP as string;

const pushCluster = (replicas: number, extraEnv = "", interval = "15s") => `apiVersion: herald.dev/v1alpha1
kind: PushCluster
metadata: {name: hc, namespace: apps}
spec:
  replicas: ${replicas}
  redis:
    urlSecretRef: {name: herald-redis}
  auth:
    mode: ticket
    ticketSecretRef: {name: herald-ticket}
  publishKeysSecretRef: {name: herald-publish}
  drainGracePeriodSeconds: 5
  monitoring:
    serviceMonitor: {enabled: true, interval: ${interval}}
  env:
    - {name: HERALD_HEARTBEAT_MS, value: "250"}
${extraEnv}`;

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ rbac: true });
}, 60_000);

afterAll(async () => {
  for (const c of open) c.close();
  await sim?.stop();
  await redis?.stop();
});

describe("kubectl apply -k deploy/ on the simulator, RBAC enforced", () => {
  it("installs the CRD, the RBAC objects and the operator, which runs from its Deployment and takes the Lease", async () => {
    const r = await kubectl(sim.kubeconfigPath, ["apply", "-k", join(ROOT, "deploy")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const line of [
      "namespace/herald-system created",
      "customresourcedefinition.apiextensions.k8s.io/pushclusters.herald.dev created",
      "serviceaccount/herald-operator created",
      "role.rbac.authorization.k8s.io/herald-operator-leader-election created",
      "clusterrole.rbac.authorization.k8s.io/herald-operator created",
      "clusterrole.rbac.authorization.k8s.io/herald-operator-crds created",
      "rolebinding.rbac.authorization.k8s.io/herald-operator-leader-election created",
      "clusterrolebinding.rbac.authorization.k8s.io/herald-operator created",
      "clusterrolebinding.rbac.authorization.k8s.io/herald-operator-crds created",
      "service/herald-operator-metrics created",
      "deployment.apps/herald-operator created",
    ])
      expect(r.stdout).toContain(line);

    const pod = await until(async () => {
      const pods = (await getJson(["-n", "herald-system", "get", "pods", "-l", "app.kubernetes.io/component=operator"])).items;
      const p = pods.find((x: any) => x.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"));
      return p ?? null;
    }, "the operator pod to be ready", 30_000, 200);
    expect(pod.spec.serviceAccountName).toBe("herald-operator");
    const lease = await until(async () => {
      const l = await kubectl(sim.kubeconfigPath, ["-n", "herald-system", "get", "lease", "herald-operator", "-o", "json"]);
      return l.code === 0 ? JSON.parse(l.stdout) : null;
    }, "the operator's Lease", 20_000, 200);
    expect(lease.spec.holderIdentity).toBe(pod.metadata.name);
    // its metrics Service answers (the process listens on its pod address)
    const metricsIp = (await getJson(["-n", "herald-system", "get", "service", "herald-operator-metrics"])).spec.clusterIP;
    const text = await until(async () => {
      const res = await fetch(`http://${metricsIp}:8081/metrics`);
      return res.ok ? res.text() : null;
    }, "operator metrics through its Service", 15_000, 200);
    expect(text).toMatch(/^herald_operator_leader 1$/m);
  });

  it("reconciles a PushCluster into ready push nodes that deliver a message", async () => {
    await k(["apply", "-f", join(ROOT, "test/fixtures/simulator/monitoring-crds.yaml")]);
    await k(["create", "namespace", "apps"]);
    await k(["-n", "apps", "create", "secret", "generic", "herald-redis", `--from-literal=url=${redis.url}`]);
    await k(["-n", "apps", "create", "secret", "generic", "herald-ticket", `--from-literal=secret=${TICKET_SECRET}`]);
    await k(["-n", "apps", "create", "secret", "generic", "herald-publish", `--from-literal=keys=${PUBLISH_KEY}`]);
    await k(["apply", "-f", "-"], pushCluster(2));
    await until(readyCondition, "PushCluster hc Ready", 60_000, 200);
    expect(await pcStatus()).toMatchObject({ replicas: 2, readyReplicas: 2 });
    expect((await getJson(["-n", "apps", "get", "servicemonitor", "hc"])).spec.endpoints[0].interval).toBe("15s");
    nodeRoleRules = (await getJson(["-n", "apps", "get", "role", "hc-node"])).rules;

    const loginUrl = `http://${await clusterIp("hc")}`;
    const internalUrl = `http://${await clusterIp("hc-internal")}:8080`;
    const l = await loginTicket(loginUrl, "ops-user");
    expect(["hc-0", "hc-1"]).toContain(l.node.id);
    // with a device id: a plain channel is live-only from the moment the node records the user, which
    // comes just after the client's connect event (docs/protocol.md); the device's replay covers that gap
    const c = await connect(l, { deviceId: "ops-phone" });
    open.push(c);
    const sent = await publish(internalUrl, { to: ["ops-user"], data: { installed: "with kubectl apply -k" } });
    expect(sent.status).toBe(202);
    expect((await c.waitFor(1))[0].data).toEqual({ installed: "with kubectl apply -k" });
    c.close();
  });

  it("runs two operator replicas safely: exactly one leads, and another takes over when the leader's pod goes", async () => {
    const readyPods = async () =>
      (await getJson(["-n", "herald-system", "get", "pods", "-l", "app.kubernetes.io/component=operator"])).items.filter(
        (p: any) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True"),
      );
    const holder = async () => (await getJson(["-n", "herald-system", "get", "lease", "herald-operator"])).spec.holderIdentity as string;
    /** Pod name → its herald_operator_leader gauge. */
    const leaderGauges = async (pods: any[]) => {
      const out: Record<string, string> = {};
      for (const p of pods) out[p.metadata.name] = /^herald_operator_leader (\d)$/m.exec(await (await fetch(`http://${p.status.podIP}:8081/metrics`)).text())?.[1] ?? "?";
      return out;
    };
    await k(["-n", "herald-system", "scale", "deployment", "herald-operator", "--replicas=2"]);
    const pods = await until(async () => ((await readyPods()).length === 2 ? readyPods() : null), "two operator pods ready", 30_000, 200);
    const leader = await holder();
    expect(await leaderGauges(pods)).toEqual(Object.fromEntries(pods.map((p: any) => [p.metadata.name, p.metadata.name === leader ? "1" : "0"])));
    await k(["-n", "herald-system", "delete", "pod", leader, "--wait=false"]);
    // the standby or the Deployment's replacement pod, whichever asks first once the leader releases the Lease
    const next = await until(async () => {
      const h = await holder();
      const now = await readyPods();
      return h && h !== leader && now.length === 2 && now.some((p: any) => p.metadata.name === h) ? { h, now } : null;
    }, "another operator pod to take the Lease", 30_000, 200);
    await until(async () => {
      const g = await leaderGauges(next!.now);
      return Object.values(g).sort().join() === "0,1" && g[next!.h] === "1";
    }, "exactly one pod to report itself the leader", 15_000, 200);
    // the new leader keeps the cluster reconciled
    await until(readyCondition, "PushCluster still Ready under the new leader", 30_000, 200);
  });

  it("scales up and down (StatefulSet patches, affinity updates, per-node Services created and deleted)", async () => {
    await k(["-n", "apps", "scale", "pushcluster", "hc", "--replicas=3"]);
    await until(async () => (await affinity()).nodes.filter((n: any) => n.state === "active").length === 3, "three active nodes", 60_000, 200);
    await k(["-n", "apps", "scale", "pushcluster", "hc", "--replicas=1"]);
    await until(async () => (await affinity()).nodes.length === 1, "one node left", 60_000, 200);
    await until(async () => (await kubectl(sim.kubeconfigPath, ["-n", "apps", "get", "service", "hc-2"])).code !== 0, "the per-node Service hc-2 to be deleted", 20_000, 200);
    await until(readyCondition, "Ready after the scale-down", 30_000, 200);
  });

  it("repairs drifted objects and rolls a template change (object patches, a pod deleted)", async () => {
    const before = (await getJson(["-n", "apps", "get", "pod", "hc-0"])).metadata.uid;
    // A label the operator owns, removed by hand, is put back (a patch of each kind it owns).
    const owned = ["serviceaccount/hc-node", "role/hc-node", "rolebinding/hc-node", "poddisruptionbudget/hc", "service/hc"];
    for (const obj of owned) await k(["-n", "apps", "label", obj, "app.kubernetes.io/part-of-"]);
    await k(["apply", "-f", "-"], pushCluster(1, '    - {name: HERALD_MAX_RECIPIENTS, value: "500"}\n', "30s"));
    await until(async () => {
      const p = await getJson(["-n", "apps", "get", "pod", "hc-0"]).catch(() => null);
      return p && p.metadata.uid !== before && p.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True");
    }, "hc-0 replaced with the new template and ready", 60_000, 200);
    const sts = await getJson(["-n", "apps", "get", "statefulset", "hc"]);
    expect(sts.spec.template.spec.containers[0].env).toContainEqual({ name: "HERALD_MAX_RECIPIENTS", value: "500" });
    expect((await getJson(["-n", "apps", "get", "servicemonitor", "hc"])).spec.endpoints[0].interval).toBe("30s");
    for (const obj of owned) await until(async () => (await getJson(["-n", "apps", "get", obj])).metadata.labels?.["app.kubernetes.io/part-of"] === "herald", `${obj} patched back`, 20_000, 200);
    await until(readyCondition, "Ready after rolling", 30_000, 200);
  });

  it("deletes the PushCluster through its finalizer", async () => {
    await k(["-n", "apps", "delete", "pushcluster", "hc", "--wait=true", "--timeout=60s"]);
    expect((await kubectl(sim.kubeconfigPath, ["-n", "apps", "get", "pushcluster", "hc"])).code).not.toBe(0);
  });

  it("the operator used nothing deploy/rbac.yaml does not grant, and every grant but the documented ones", () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, "deploy/rbac.yaml"), "utf8")).map((d) => d.toJS());
    const grants = grantsOf(docs, { kind: "ServiceAccount", namespace: "herald-system", name: "herald-operator" });
    const mine = sim.audit.find({ user: SA_USER });
    expect(mine.length).toBeGreaterThan(100);
    // Nothing refused, and everything it did is covered by a rule (the simulator enforced the same).
    expect(mine.filter((e) => e.code === 403).map(describeEntry)).toEqual([]);
    expect(mine.filter((e) => !allowedBy(grants, e)).map(describeEntry)).toEqual([]);
    // Every granted (group, resource, verb) was used, except what is kept for unexercised paths.
    const unused = grants.filter((g) => !mine.some((e) => allowedBy([g], e))).map((g) => `${g.group ? `${g.group}/` : ""}${g.resource} ${g.verb}`);
    expect([...new Set(unused)].sort()).toEqual([...KEPT_UNEXERCISED].sort());
    // Escalation rule: the Role it gives the push nodes grants nothing it does not hold itself.
    expect(nodeRoleRules.length).toBeGreaterThan(0);
    for (const rule of nodeRoleRules)
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs)
            for (const name of rule.resourceNames ?? [undefined])
              expect(allowedBy(grants, { verb, group, resource, namespace: "apps", name }), `${verb} ${resource} ${name}`).toBe(true);
  });
});

describe("upgrading and uninstalling with kubectl", () => {
  it("applying deploy/ again changes only what was changed by hand (the replica count)", async () => {
    const r = await kubectl(sim.kubeconfigPath, ["apply", "-k", join(ROOT, "deploy")]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.filter((l) => !l.endsWith(" unchanged"))).toEqual(["deployment.apps/herald-operator configured"]);
    expect((await getJson(["-n", "herald-system", "get", "deployment", "herald-operator"])).spec.replicas).toBe(1);
  });

  it("kubectl delete -k deploy/ removes everything it installed, and the operator's processes stop", async () => {
    // the Namespace goes first and takes its contents with it, hence --ignore-not-found for those
    const r = await kubectl(sim.kubeconfigPath, ["delete", "-k", join(ROOT, "deploy"), "--ignore-not-found", "--wait=true", "--timeout=60s"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('namespace "herald-system" deleted');
    expect(r.stdout).toContain('customresourcedefinition.apiextensions.k8s.io "pushclusters.herald.dev" deleted');
    await until(async () => (await kubectl(sim.kubeconfigPath, ["get", "namespace", "herald-system"])).code !== 0, "the namespace to go", 60_000, 200);
    for (const kind of ["clusterrole/herald-operator", "clusterrole/herald-operator-crds", "clusterrolebinding/herald-operator", "clusterrolebinding/herald-operator-crds", "crd/pushclusters.herald.dev"])
      expect((await kubectl(sim.kubeconfigPath, ["get", kind])).code, kind).not.toBe(0);
    await until(() => sim.kubelet!.pids().length === 0, "no pod process left", 30_000, 100);
  });
});

function describeEntry(e: AuditEntry): string {
  return `${e.verb} ${e.group}/${e.resource}${e.subresource ? `/${e.subresource}` : ""} ns=${e.namespace ?? "-"} name=${e.name ?? "-"} → ${e.code}`;
}
