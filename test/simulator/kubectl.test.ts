// Real kubectl 1.32 against the simulator: apply with default (server-side) validation, printer
// columns, scale, patch, schema rejections and deletion with dependents.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { fixture, kubectl, waitFor } from "./helpers.js";

let sim: Simulator;
const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);

beforeAll(async () => {
  sim = await startSimulator({ kubelet: false });
  const crd = await k(["apply", "-f", fixture("widget-crd.yaml")]);
  expect(crd.stderr).toBe("");
  expect(crd.stdout).toContain("customresourcedefinition.apiextensions.k8s.io/widgets.sim.herald.dev created");
});

afterAll(async () => {
  await sim?.stop();
});

describe("kubectl against the simulator", () => {
  it("applies a custom resource with default validation and reads it back with defaults filled in", async () => {
    const applied = await k(["apply", "-f", fixture("widget.yaml")]);
    expect(applied).toMatchObject({ code: 0, stdout: "widget.sim.herald.dev/gizmo created\n" });
    // Default validation: kubectl read the OpenAPI v3 document of the group-version, then sent fieldValidation.
    expect(sim.audit.find({ verb: "create", resource: "widgets" })[0]!.uri).toContain("fieldValidation=Strict");
    const got = JSON.parse((await k(["get", "widget", "gizmo", "-o", "json"])).stdout);
    expect(got.spec).toEqual({ image: "registry.example/gizmo:1", replicas: 2, size: "small" });
    expect(got.metadata).toMatchObject({ generation: 1, namespace: "default" });
    expect(got.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("prints the additionalPrinterColumns as a server-side Table", async () => {
    await k(["apply", "-f", fixture("widget.yaml")]);
    const out = await k(["get", "widgets"]);
    const [header, row] = out.stdout.trim().split("\n");
    expect(header!.split(/\s+/)).toEqual(["NAME", "REPLICAS", "SIZE", "PHASE", "READY", "AGE"]);
    expect(row).toMatch(/^gizmo\s+2\s+small\s+\d+s$/);
    const status = '{"status":{"phase":"Running","conditions":[{"type":"Progressing","status":"False"},{"type":"Ready","status":"True"}]}}';
    expect((await k(["patch", "widget", "gizmo", "--subresource=status", "--type=merge", "-p", status])).code).toBe(0);
    const [, updated] = (await k(["get", "widgets"])).stdout.trim().split("\n");
    expect(updated).toMatch(/^gizmo\s+2\s+small\s+Running\s+True\s+\d+s$/);
  });

  it("scales through the scale subresource and bumps the generation", async () => {
    await k(["apply", "-f", fixture("widget.yaml")]);
    const before = JSON.parse((await k(["get", "wd", "gizmo", "-o", "json"])).stdout);
    expect((await k(["scale", "widget", "gizmo", "--replicas=5"])).stdout).toBe("widget.sim.herald.dev/gizmo scaled\n");
    const after = JSON.parse((await k(["get", "wd", "gizmo", "-o", "json"])).stdout);
    expect(after.spec.replicas).toBe(5);
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    expect(sim.audit.find({ verb: "patch", resource: "widgets", name: "gizmo" }).some((e) => e.subresource === "scale")).toBe(true);
  });

  it("patches with merge and JSON patches, and refuses a strategic merge patch on a custom resource", async () => {
    await k(["apply", "-f", fixture("widget.yaml")]);
    expect((await k(["patch", "widget", "gizmo", "--type=merge", "-p", '{"spec":{"size":"large"}}'])).code).toBe(0);
    expect((await k(["patch", "widget", "gizmo", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":4}]'])).code).toBe(0);
    const got = JSON.parse((await k(["get", "widget", "gizmo", "-o", "json"])).stdout);
    expect(got.spec).toMatchObject({ size: "large", replicas: 4 });
    const strategic = await k(["patch", "widget", "gizmo", "-p", '{"spec":{"size":"small"}}']);
    expect(strategic.code).not.toBe(0);
    expect(strategic.stderr).toContain("the body of the request was in an unknown format");
  });

  it("rejects schema violations with a 422 listing every cause, and unknown fields under strict validation", async () => {
    const bad = await k(["patch", "widget", "gizmo", "--type=merge", "-p", '{"spec":{"size":"huge","replicas":50}}']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The Widget "gizmo" is invalid');
    expect(bad.stderr).toContain("spec.replicas: Invalid value: 50: spec.replicas in body should be less than or equal to 10");
    expect(bad.stderr).toContain('spec.size: Unsupported value: "huge": supported values: "small", "large"');
    const missing = await k(["apply", "-f", "-"], "apiVersion: sim.herald.dev/v1alpha1\nkind: Widget\nmetadata: {name: nameless-image}\nspec: {replicas: 1}\n");
    expect(missing.stderr).toContain("spec.image: Required value");
    const unknown = await k(["apply", "-f", "-"], "apiVersion: sim.herald.dev/v1alpha1\nkind: Widget\nmetadata: {name: extra}\nspec: {image: a, bogus: 1}\n");
    expect(unknown.stderr).toContain('strict decoding error: unknown field "spec.bogus"');
    expect((await k(["get", "widget", "extra"])).stderr).toContain('widgets.sim.herald.dev "extra" not found');
  });

  it("applies built-in kinds twice (strategic merge patch on the second apply) and keeps list merge keys", async () => {
    const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: main
        image: ${image}
        command: ["sleep", "1000"]
        env: [{name: A, value: "1"}]
      - name: side
        image: side:1
        command: ["sleep", "1000"]
`;
    expect((await k(["apply", "-f", "-"], manifest("main:1"))).code).toBe(0);
    await k(["set", "env", "deployment/api", "-c", "side", "B=2"]);
    const second = await k(["apply", "-f", "-"], manifest("main:2"));
    expect(second.stdout).toBe("deployment.apps/api configured\n");
    expect(sim.audit.find({ verb: "patch", resource: "deployments", name: "api" }).length).toBeGreaterThanOrEqual(2);
    const d = JSON.parse((await k(["get", "deploy", "api", "-o", "json"])).stdout);
    const [main, side] = d.spec.template.spec.containers;
    expect([main.name, main.image, side.name]).toEqual(["main", "main:2", "side"]);
    expect(side.env).toEqual([{ name: "B", value: "2" }]);
    expect(main.env).toEqual([{ name: "A", value: "1" }]);
    expect(d.metadata.generation).toBe(3);
  });

  it("deletes an owner with its dependents (background and foreground) and orphans them on request", async () => {
    await k(["apply", "-f", fixture("widget.yaml")]);
    const owner = JSON.parse((await k(["get", "widget", "gizmo", "-o", "json"])).stdout);
    const dependent = (name: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  ownerReferences: [{apiVersion: sim.herald.dev/v1alpha1, kind: Widget, name: gizmo, uid: ${owner.metadata.uid}, blockOwnerDeletion: true}]\ndata: {a: b}\n`;
    await k(["apply", "-f", "-"], dependent("gizmo-config"));
    expect((await k(["delete", "widget", "gizmo"])).stdout).toBe('widget.sim.herald.dev "gizmo" deleted\n');
    await waitFor("the dependent ConfigMap to be collected", async () => (await k(["get", "cm", "gizmo-config"])).stderr.includes("not found"));

    await k(["apply", "-f", fixture("widget.yaml")]);
    const owner2 = JSON.parse((await k(["get", "widget", "gizmo", "-o", "json"])).stdout);
    await k(["apply", "-f", "-"], dependent("kept").replace(owner.metadata.uid, owner2.metadata.uid));
    expect((await k(["delete", "widget", "gizmo", "--cascade=orphan"])).code).toBe(0);
    const kept = JSON.parse((await k(["get", "cm", "kept", "-o", "json"])).stdout);
    expect(kept.metadata.ownerReferences).toBeUndefined();

    await k(["apply", "-f", fixture("widget.yaml")]);
    const owner3 = JSON.parse((await k(["get", "widget", "gizmo", "-o", "json"])).stdout);
    await k(["apply", "-f", "-"], dependent("fg").replace(owner.metadata.uid, owner3.metadata.uid));
    expect((await k(["delete", "widget", "gizmo", "--cascade=foreground"])).code).toBe(0);
    expect((await k(["get", "cm", "fg"])).stderr).toContain("not found");
    expect((await k(["get", "widget", "gizmo"])).stderr).toContain("not found");
  });

  it("deletes a namespace with its contents", async () => {
    expect((await k(["create", "namespace", "scratch"])).stdout).toBe("namespace/scratch created\n");
    expect((await k(["-n", "scratch", "create", "configmap", "c", "--from-literal=a=b"])).code).toBe(0);
    expect((await k(["delete", "namespace", "scratch"])).stdout).toBe('namespace "scratch" deleted\n');
    expect((await k(["get", "namespace", "scratch"])).stderr).toContain("not found");
    expect(sim.cluster.store.list("/configmaps", "scratch")).toEqual([]);
  });

  it("decodes the Protobuf bodies of kubectl's typed create commands", async () => {
    expect((await k(["create", "namespace", "typed"])).stdout).toBe("namespace/typed created\n");
    expect((await k(["-n", "typed", "create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=two"])).code).toBe(0);
    expect((await k(["-n", "typed", "create", "secret", "generic", "pw", "--from-literal=password=hunter2"])).code).toBe(0);
    expect((await k(["-n", "typed", "create", "serviceaccount", "robot"])).code).toBe(0);
    expect(sim.cluster.store.get("/configmaps", "typed", "cfg")!.data).toEqual({ a: "1", b: "two" });
    expect(Buffer.from(sim.cluster.store.get("/secrets", "typed", "pw")!.data.password, "base64").toString()).toBe("hunter2");
    expect(sim.cluster.store.get("/namespaces", undefined, "typed")!.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "typed" });
    const unsupported = await k(["-n", "typed", "create", "deployment", "d", "--image=x"]);
    expect(unsupported.stderr).toContain("cannot decode this Protobuf body");
  });

  it("answers `kubectl auth can-i --as` from the RBAC objects kubectl creates", async () => {
    sim.setRbac(true);
    try {
      const canI = async (...args: string[]) => (await k(["auth", "can-i", ...args])).stdout.trim();
      expect(await canI("list", "pods", "--as=system:serviceaccount:default:robot")).toBe("no");
      expect((await k(["create", "role", "reader", "--verb=get,list", "--resource=pods"])).code).toBe(0);
      expect((await k(["create", "rolebinding", "robot-reads", "--role=reader", "--serviceaccount=default:robot"])).code).toBe(0);
      expect((await k(["create", "clusterrole", "node-getter", "--verb=get", "--resource=nodes"])).code).toBe(0);
      expect((await k(["create", "clusterrolebinding", "devs-get-nodes", "--clusterrole=node-getter", "--group=devs"])).code).toBe(0);
      expect(await canI("list", "pods", "--as=system:serviceaccount:default:robot")).toBe("yes");
      expect(await canI("list", "pods", "-n", "kube-system", "--as=system:serviceaccount:default:robot")).toBe("no");
      expect(await canI("delete", "pods", "--as=system:serviceaccount:default:robot")).toBe("no");
      expect(await canI("get", "nodes", "--as=bob", "--as-group=devs")).toBe("yes");
      expect(await canI("get", "nodes", "--as=bob")).toBe("no");
      const denied = await k(["get", "configmaps", "--as=system:serviceaccount:default:robot"]);
      expect(denied.stderr).toContain('configmaps is forbidden: User "system:serviceaccount:default:robot" cannot list resource "configmaps"');
      expect(sim.audit.find({ user: "system:serviceaccount:default:robot", resource: "configmaps" }).map((e) => e.code)).toEqual([403]);
    } finally {
      sim.setRbac(false);
    }
  });

  it("serves ServiceMonitor and PrometheusRule once their CRDs are installed", async () => {
    expect((await k(["get", "servicemonitors"])).stderr).toContain(`the server doesn't have a resource type "servicemonitors"`);
    expect((await k(["apply", "-f", fixture("monitoring-crds.yaml")])).code).toBe(0);
    const monitor = "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: push}\nspec:\n  selector: {matchLabels: {app: push}}\n  endpoints: [{port: http, path: /metrics}]\n";
    expect((await k(["apply", "-f", "-"], monitor)).stdout).toBe("servicemonitor.monitoring.coreos.com/push created\n");
    expect((await k(["get", "smon", "push", "-o", "jsonpath={.spec.endpoints[0].path}"])).stdout).toBe("/metrics");
    const badRule = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: r}\nspec:\n  groups: [{rules: []}]\n";
    expect((await k(["apply", "-f", "-"], badRule)).stderr).toContain("spec.groups[0].name: Required value");
  });

  it("prints events and nodes with the real server's columns", async () => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const event = `apiVersion: v1\nkind: Event\nmetadata: {name: hc.1}\ninvolvedObject: {kind: PushCluster, name: hc, namespace: default}\ntype: Warning\nreason: SecretMissing\nmessage: "Secret default/p does not exist"\nlastTimestamp: "${now}"\ncount: 2\nsource: {component: herald-operator}\n`;
    expect((await k(["apply", "-f", "-"], event)).code).toBe(0);
    const events = (await k(["get", "events"])).stdout.split("\n");
    expect(events[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(events.find((l) => l.includes("SecretMissing"))).toMatch(/^\d+s\s+Warning\s+SecretMissing\s+pushcluster\/hc\s+Secret default\/p does not exist$/);
    expect((await k(["get", "events", "-o", "wide"])).stdout.split("\n")[0]).toMatch(/SOURCE\s+COUNT\s+NAME$/);
    const node = "apiVersion: v1\nkind: Node\nmetadata: {name: worker-1, labels: {node-role.kubernetes.io/worker: ''}}\n";
    expect((await k(["apply", "-f", "-"], node)).code).toBe(0);
    const nodes = (await k(["get", "nodes"])).stdout.split("\n");
    expect(nodes[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(nodes[1]).toMatch(/^worker-1\s+Unknown\s+worker\s+\d+s\s*$/);
  });

  it("rejects names the real server rejects", async () => {
    const dotted = await k(["apply", "-f", "-"], "apiVersion: v1\nkind: Service\nmetadata: {name: my.service}\nspec: {ports: [{port: 80}]}\n");
    expect(dotted.stderr).toContain('The Service "my.service" is invalid: metadata.name: Invalid value: "my.service": a lowercase RFC 1123 label');
    const upper = await k(["apply", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Upper}\n");
    expect(upper.stderr).toContain("a lowercase RFC 1123 subdomain");
    expect((await k(["apply", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dotted.name}\n")).code).toBe(0);
  });

  it("applies server-side: creates, then removes what the same manager stopped applying", async () => {
    const cm = (labels: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  labels: {${labels}}\ndata: {a: "1"}\n`;
    expect((await k(["apply", "--server-side", "-f", "-"], cm("x: '1', y: '2'"))).stdout).toBe("configmap/ssa serverside-applied\n");
    expect((await k(["label", "configmap", "ssa", "by-hand=yes"])).code).toBe(0);
    expect((await k(["apply", "--server-side", "-f", "-"], cm("x: '1'"))).code).toBe(0);
    const labels = JSON.parse((await k(["get", "configmap", "ssa", "-o", "jsonpath={.metadata.labels}"])).stdout);
    expect(labels).toEqual({ x: "1", "by-hand": "yes" });
    expect(sim.audit.find({ verb: "patch", resource: "configmaps", name: "ssa" }).some((e) => e.uri.includes("fieldManager=kubectl"))).toBe(true);
  });
});
