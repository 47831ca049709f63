// managedFields and server-side apply conflicts: the field manager's rules as pure functions, then real
// kubectl 1.32 and @kubernetes/client-node 1.4 against the simulator over HTTPS.
import { ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { applyManagedFields, baseManagers, decodeFieldsV1, encodeFieldsV1, flatten, pathString, updateManagedFields, type WriteContext } from "../../dev/simulator/managed-fields.js";
import { strategicMerge } from "../../dev/simulator/patch.js";
import { fileURLToPath } from "node:url";
import { fixture, kubectl } from "./helpers.js";

const pushClusterCrd = fileURLToPath(new URL("../../crds/pushcluster.yaml", import.meta.url));

const ctx = (manager: string): WriteContext => ({ manager, apiVersion: "apps/v1", strategy: "strategic", scope: { statusSubresource: true }, now: "2026-01-01T00:00:00Z" });
const owners = (obj: any) => Object.fromEntries((obj.metadata.managedFields ?? []).map((e: any) => [`${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ""}`, [...decodeFieldsV1(e.fieldsV1)].map(pathString).sort()]));

describe("the field manager's rules", () => {
  const deployment = (replicas: number, containers: object[]) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", labels: { app: "web" } },
    spec: { replicas, template: { spec: { containers } } },
  });

  it("writes FieldsV1 with f:, k: and v: elements and `.` for list items, and reads it back", () => {
    const obj = { metadata: { name: "x", finalizers: ["a/b"], labels: {} }, spec: { template: { spec: { containers: [{ name: "main", image: "i", args: ["-v"], ports: [{ containerPort: 80 }] }] } } }, status: { phase: "x" } };
    const set = new Set(flatten(obj, "strategic", { statusSubresource: true }).keys());
    const fields = encodeFieldsV1(set);
    expect(fields).toEqual({
      "f:metadata": { "f:finalizers": { 'v:"a/b"': {} }, "f:labels": {} },
      "f:spec": {
        "f:template": {
          "f:spec": {
            "f:containers": { 'k:{"name":"main"}': { ".": {}, "f:args": {}, "f:image": {}, "f:name": {}, "f:ports": { 'k:{"containerPort":80}': { ".": {}, "f:containerPort": {} } } } },
          },
        },
      },
    });
    expect(decodeFieldsV1(fields)).toEqual(set);
    expect([...set].map(pathString)).toContain('.spec.template.spec.containers[name="main"].image');
    expect([...set].map(pathString)).toContain('.metadata.finalizers[="a/b"]');
  });

  it("moves the fields an update changes to its manager, drops emptied entries and keeps the rest", () => {
    const created = deployment(2, [{ name: "main", image: "i:1" }]) as any;
    created.metadata.managedFields = updateManagedFields([], undefined, created, ctx("creator"));
    const edited = structuredClone(created);
    edited.spec.replicas = 3;
    edited.spec.template.spec.containers[0].image = "i:2";
    edited.metadata.managedFields = updateManagedFields(baseManagers(created, edited), created, edited, ctx("kubectl-edit"));
    expect(owners(edited)["kubectl-edit/Update"]).toEqual(['.spec.replicas', '.spec.template.spec.containers[name="main"].image']);
    expect(owners(edited)["creator/Update"]).toContain(".metadata.labels.app");
    expect(owners(edited)["creator/Update"]).not.toContain(".spec.replicas");
    // Removing the only field a manager owned removes its entry.
    const removed = structuredClone(edited);
    delete removed.spec.replicas;
    removed.spec.template.spec.containers[0].image = "i:1";
    removed.metadata.managedFields = updateManagedFields(baseManagers(edited, removed), edited, removed, ctx("third"));
    expect(Object.keys(owners(removed)).sort()).toEqual(["creator/Update", "third/Update"]);
    // `[]` resets them; an update changing nothing else then leaves none.
    const reset = { ...structuredClone(removed), metadata: { ...removed.metadata, managedFields: [] } };
    expect(updateManagedFields(baseManagers(removed, reset), removed, reset, ctx("x"))).toBeUndefined();
  });

  it("prunes what an applier stopped applying unless another manager owns it, keeping a list item someone else still owns part of", () => {
    const first = deployment(1, [{ name: "main", image: "i" }, { name: "side", image: "s" }]) as any;
    const live = { ...structuredClone(first), metadata: { ...first.metadata } } as any;
    live.metadata.managedFields = applyManagedFields([], {}, live, first, ctx("a"), false).managedFields;
    // Another manager sets the side container's resources.
    const edited = structuredClone(live);
    edited.spec.template.spec.containers[1].resources = { limits: { cpu: "1" } };
    edited.metadata.managedFields = updateManagedFields(baseManagers(live, edited), live, edited, ctx("kubectl-edit"));
    const config = deployment(1, [{ name: "main", image: "i" }]) as any;
    delete config.metadata.labels;
    const { object } = applyManagedFields(baseManagers(edited, {}), edited, strategicMerge(edited, config) as any, config, ctx("a"), false);
    expect(object.metadata.labels).toBeUndefined();
    expect(object.spec.template.spec.containers).toEqual([{ name: "main", image: "i" }, { name: "side", resources: { limits: { cpu: "1" } } }]);
  });
});

let sim: Simulator;
const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);
const getJson = async (args: string[]) => JSON.parse((await k(["get", ...args, "-o", "json", "--show-managed-fields"])).stdout);

beforeAll(async () => {
  sim = await startSimulator({ kubelet: false });
  expect((await k(["apply", "-f", fixture("widget-crd.yaml")])).code).toBe(0);
});

afterAll(async () => {
  await sim?.stop();
});

const deploymentYaml = (name: string, replicas: number, image = "registry.example/web:1", extraLabels = "") => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}${extraLabels}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: main
        image: ${image}
`;

describe("managedFields and apply conflicts with kubectl", () => {
  it("records each write: Apply for kubectl apply --server-side, Update for other writes, with the manager kubectl names", async () => {
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("rec", 2))).stdout).toBe("deployment.apps/rec serverside-applied\n");
    expect((await k(["label", "deployment", "rec", "team=x"])).code).toBe(0);
    expect((await k(["scale", "deployment", "rec", "--replicas=4"])).code).toBe(0);
    const got = await getJson(["deployment", "rec"]);
    // The deployment controller's status writes are the status subresource's, kept apart.
    expect(got.metadata.managedFields.filter((e: any) => e.subresource === "status").map((e: any) => `${e.manager}/${e.operation}`)).toEqual(["kube-controller-manager/Update"]);
    // (Sorted as the real server sorts them: Apply first, then by time and manager.)
    const entries = got.metadata.managedFields.filter((e: any) => e.subresource !== "status").sort((x: any, y: any) => (x.operation + x.manager < y.operation + y.manager ? -1 : 1));
    expect(entries.map((e: any) => [e.manager, e.operation, e.subresource ?? ""])).toEqual([
      ["a", "Apply", ""],
      // kubectl scale names no field manager: the server takes the user agent's first token, as a real one
      ["kubectl", "Update", "scale"],
      ["kubectl-label", "Update", ""],
    ]);
    for (const e of entries) {
      expect(e).toMatchObject({ apiVersion: "apps/v1", fieldsType: "FieldsV1" });
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(entries[0].fieldsV1["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"main"}']).toEqual({ ".": {}, "f:image": {}, "f:name": {} });
    // The scale took .spec.replicas from the applier.
    expect(entries[0].fieldsV1["f:spec"]["f:replicas"]).toBeUndefined();
    expect(entries[1].fieldsV1).toEqual({ "f:spec": { "f:replicas": {} } });
    expect(entries[2].fieldsV1).toEqual({ "f:metadata": { "f:labels": { "f:team": {} } } });
  });

  it("refuses an apply that changes a field another manager owns (409 naming it) until --force-conflicts moves it", async () => {
    await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("conf", 2));
    const refused = await k(["apply", "--server-side", "--field-manager=b", "-f", "-"], deploymentYaml("conf", 3, "registry.example/web:2"));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`error: Apply failed with 2 conflicts: conflicts with "a":\n- .spec.replicas\n- .spec.template.spec.containers[name="main"].image`);
    expect((await getJson(["deployment", "conf"])).spec.replicas).toBe(2);
    const patchEntry = sim.audit.find({ verb: "patch", resource: "deployments", name: "conf" }).at(-1)!;
    expect(patchEntry.code).toBe(409);

    const one = await k(["apply", "--server-side", "--field-manager=b", "-f", "-"], deploymentYaml("conf", 3));
    expect(one.stderr).toContain(`error: Apply failed with 1 conflict: conflict with "a": .spec.replicas`);

    const forced = await k(["apply", "--server-side", "--field-manager=b", "--force-conflicts", "-f", "-"], deploymentYaml("conf", 3));
    expect(forced.code).toBe(0);
    const got = await getJson(["deployment", "conf"]);
    expect(got.spec.replicas).toBe(3);
    const byManager = Object.fromEntries(got.metadata.managedFields.map((e: any) => [e.manager, e.fieldsV1]));
    expect(byManager.b["f:spec"]["f:replicas"]).toEqual({});
    expect(byManager.a["f:spec"]["f:replicas"]).toBeUndefined();
    // a now conflicts with b when it applies its old replicas again.
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("conf", 2))).stderr).toContain(`conflict with "b": .spec.replicas`);
  });

  it("a conflict with an Update manager names its apiVersion, as the real server", async () => {
    await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("upd", 2));
    expect((await k(["patch", "deployment", "upd", "--type=merge", "-p", '{"spec":{"replicas":5}}'])).code).toBe(0);
    const refused = await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("upd", 2));
    expect(refused.stderr).toContain(`Apply failed with 1 conflict: conflict with "kubectl-patch" using apps/v1: .spec.replicas`);
  });

  it("applying the same value is no conflict: both managers own the field, and it stays while either applies it", async () => {
    await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("share", 2, undefined, ", tier: web"));
    const same = await k(["apply", "--server-side", "--field-manager=b", "-f", "-"], deploymentYaml("share", 2, undefined, ", tier: web"));
    expect(same).toMatchObject({ code: 0, stderr: "" });
    let got = await getJson(["deployment", "share"]);
    const appliers = got.metadata.managedFields.filter((e: any) => e.operation === "Apply");
    expect(appliers.map((e: any) => e.manager)).toEqual(["a", "b"]);
    for (const e of appliers) {
      expect(e.fieldsV1["f:spec"]["f:replicas"]).toEqual({});
      expect(e.fieldsV1["f:metadata"]["f:labels"]["f:tier"]).toEqual({});
    }
    // a stops applying the label: b still owns it, so it stays (and is b's alone).
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("share", 2))).code).toBe(0);
    got = await getJson(["deployment", "share"]);
    expect(got.metadata.labels).toEqual({ app: "share", tier: "web" });
    // b stops too: nobody owns it any more, so it goes.
    expect((await k(["apply", "--server-side", "--field-manager=b", "-f", "-"], deploymentYaml("share", 2))).code).toBe(0);
    got = await getJson(["deployment", "share"]);
    expect(got.metadata.labels).toEqual({ app: "share" });
  });

  it("removes a field its applier stopped applying, but not one another manager changed since", async () => {
    const cm = (data: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: prune}\ndata: {${data}}\n`;
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], cm("x: '1', y: '2', z: '3'"))).code).toBe(0);
    // Someone else takes z by changing it.
    expect((await k(["patch", "configmap", "prune", "--type=merge", "-p", '{"data":{"z":"edited"}}'])).code).toBe(0);
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], cm("x: '1'"))).code).toBe(0);
    const got = await getJson(["configmap", "prune"]);
    expect(got.data).toEqual({ x: "1", z: "edited" });
    const a = got.metadata.managedFields.find((e: any) => e.manager === "a");
    expect(a.fieldsV1).toEqual({ "f:data": { "f:x": {} } });
  });

  it("removes a container its applier stopped applying from a list merged by name", async () => {
    const two = deploymentYaml("list", 1) + "      - name: side\n        image: registry.example/side:1\n";
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], two)).code).toBe(0);
    expect((await getJson(["deployment", "list"])).spec.template.spec.containers.map((c: any) => c.name)).toEqual(["main", "side"]);
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("list", 1))).code).toBe(0);
    expect((await getJson(["deployment", "list"])).spec.template.spec.containers.map((c: any) => c.name)).toEqual(["main"]);
  });

  it("treats a PushCluster's lists as atomic (no x-kubernetes-list-type) and conflicts on them as a whole", async () => {
    expect((await k(["apply", "-f", pushClusterCrd])).code).toBe(0);
    const pc = (env: string) => `apiVersion: herald.dev/v1alpha1
kind: PushCluster
metadata: {name: herald}
spec:
  redis: {url: "redis://redis:6379"}
  auth: {mode: ticket, ticketSecretRef: {name: t}}
  publishKeysSecretRef: {name: p}
  env: [${env}]
`;
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], pc("{name: A, value: '1'}"))).code).toBe(0);
    const got = await getJson(["pushcluster", "herald"]);
    const a = got.metadata.managedFields.find((e: any) => e.manager === "a");
    expect(a.fieldsV1["f:spec"]["f:env"]).toEqual({});
    expect(a.apiVersion).toBe("herald.dev/v1alpha1");
    // Adding an item as another manager changes the whole list: a conflict on .spec.env.
    const refused = await k(["apply", "--server-side", "--field-manager=b", "-f", "-"], pc("{name: A, value: '1'}, {name: B, value: '2'}"));
    expect(refused.stderr).toContain(`Apply failed with 1 conflict: conflict with "a": .spec.env`);
    // The operator's own writes (merge patches) are Updates and take the list over without a conflict.
    expect((await k(["patch", "pushcluster", "herald", "--type=merge", "--field-manager=herald-operator", "-p", '{"spec":{"env":[{"name":"C","value":"3"}]}}'])).code).toBe(0);
    const after = await getJson(["pushcluster", "herald"]);
    expect(after.spec.env).toEqual([{ name: "C", value: "3" }]);
    expect(after.metadata.managedFields.find((e: any) => e.manager === "herald-operator")).toMatchObject({ operation: "Update", fieldsV1: { "f:spec": { "f:env": {} } } });
  });

  it("applies to the status subresource as its own manager entry, conflicting only with status owners", async () => {
    const widget = `apiVersion: sim.herald.dev/v1alpha1\nkind: Widget\nmetadata: {name: st}\nspec: {image: registry.example/w:1}\n`;
    expect((await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], widget)).code).toBe(0);
    const status = (phase: string) => `${widget}status: {phase: ${phase}}\n`;
    expect((await k(["apply", "--server-side", "--subresource=status", "--field-manager=a", "-f", "-"], status("Running"))).code).toBe(0);
    const got = await getJson(["widget", "st"]);
    expect(got.status.phase).toBe("Running");
    const entries = got.metadata.managedFields.map((e: any) => ({ manager: e.manager, operation: e.operation, subresource: e.subresource, fields: e.fieldsV1 }));
    expect(entries).toEqual([
      { manager: "a", operation: "Apply", subresource: undefined, fields: { "f:spec": { "f:image": {} } } },
      { manager: "a", operation: "Apply", subresource: "status", fields: { "f:status": { "f:phase": {} } } },
    ]);
    const refused = await k(["apply", "--server-side", "--subresource=status", "--field-manager=b", "-f", "-"], status("Failed"));
    expect(refused.stderr).toContain(`Apply failed with 1 conflict: conflict with "a" with subresource "status": .status.phase`);
  });

  it("shows managedFields with --show-managed-fields only (kubectl hides them itself)", async () => {
    await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("show", 1));
    const plain = await k(["get", "deployment", "show", "-o", "yaml"]);
    expect(plain.stdout).not.toContain("managedFields");
    const shown = await k(["get", "deployment", "show", "-o", "yaml", "--show-managed-fields"]);
    expect(shown.stdout).toContain("managedFields:\n  - apiVersion: apps/v1\n    fieldsType: FieldsV1\n    fieldsV1:\n");
    expect(shown.stdout).toContain("    manager: a\n    operation: Apply\n");
  });

  it("clears managedFields on a write that sends [] and ignores them in an apply configuration's place", async () => {
    await k(["apply", "--server-side", "--field-manager=a", "-f", "-"], deploymentYaml("clear", 1));
    const cleared = await k(["patch", "deployment", "clear", "--type=json", "-p", '[{"op":"replace","path":"/metadata/managedFields","value":[]}]']);
    expect(cleared.code).toBe(0);
    expect((await getJson(["deployment", "clear"])).metadata.managedFields).toBeUndefined();
    // With nobody owning anything, any manager may apply anything.
    expect((await k(["apply", "--server-side", "--field-manager=b", "-f", "-"], deploymentYaml("clear", 3))).code).toBe(0);
    // managedFields in an apply configuration are refused, as the real server does.
    const withFields = deploymentYaml("clear", 3).replace("metadata:\n", "metadata:\n  managedFields: [{manager: x, operation: Apply}]\n");
    expect((await k(["apply", "--server-side", "--field-manager=b", "-f", "-"], withFields)).stderr).toContain("metadata.managedFields must be nil");
  });

  it("takes kubectl's client-side apply over to server-side apply (kubectl rewrites the managedFields with a JSON patch)", async () => {
    expect((await k(["apply", "-f", "-"], deploymentYaml("csa", 2))).code).toBe(0);
    const mainEntries = async () => (await getJson(["deployment", "csa"])).metadata.managedFields.filter((e: any) => e.subresource !== "status").map((e: any) => `${e.manager}/${e.operation}`).sort();
    expect(await mainEntries()).toEqual(["kubectl-client-side-apply/Update"]);
    expect((await k(["apply", "--server-side", "-f", "-"], deploymentYaml("csa", 2))).code).toBe(0);
    // kubectl moved the client-side applier's fields to its Apply manager, and the last-applied annotation to one of its own.
    expect(await mainEntries()).toEqual(["kubectl-last-applied/Apply", "kubectl/Apply"]);
    // kubectl's own manager now owns replicas: dropping it from the configuration removes it.
    expect((await k(["apply", "--server-side", "-f", "-"], deploymentYaml("csa", 2).replace("  replicas: 2\n", ""))).code).toBe(0);
    expect((await getJson(["deployment", "csa"])).spec.replicas).toBe(1); // defaulted again
  });
});

describe("apply conflicts with client-node", () => {
  it("gets a 409 Conflict Status with FieldManagerConflict causes, and force takes the field", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(sim.kubeconfigPath);
    const api = KubernetesObjectApi.makeApiClient(kc);
    const spec = (replicas: number): KubernetesObject & { spec: object } => ({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "cn", namespace: "default" },
      spec: { replicas, serviceName: "cn", selector: { matchLabels: { app: "cn" } }, template: { metadata: { labels: { app: "cn" } }, spec: { containers: [{ name: "main", image: "registry.example/cn:1" }] } } },
    });
    await api.patch(spec(1), undefined, undefined, "herald-operator", false, PatchStrategy.ServerSideApply);
    let err: unknown;
    try {
      await api.patch(spec(2), undefined, undefined, "someone-else", false, PatchStrategy.ServerSideApply);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<unknown>;
    expect(e.code).toBe(409);
    const body = typeof e.body === "string" ? JSON.parse(e.body) : e.body;
    expect(body).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Conflict",
      code: 409,
      message: `Apply failed with 1 conflict: conflict with "herald-operator": .spec.replicas`,
      details: { causes: [{ reason: "FieldManagerConflict", message: `conflict with "herald-operator"`, field: ".spec.replicas" }] },
    });
    const forced = (await api.patch(spec(2), undefined, undefined, "someone-else", true, PatchStrategy.ServerSideApply)) as any;
    expect(forced.spec.replicas).toBe(2);
    const fields = Object.fromEntries(forced.metadata.managedFields.map((m: any) => [m.manager, m.fieldsV1["f:spec"]]));
    expect(fields["someone-else"]["f:replicas"]).toEqual({});
    expect(fields["herald-operator"]["f:replicas"]).toBeUndefined();
    expect(fields["herald-operator"]["f:serviceName"]).toEqual({}); // same value: shared
    // force is only for apply patches.
    const mergeForce = await api.patch(spec(3), undefined, undefined, "someone-else", true, PatchStrategy.MergePatch).catch((x: unknown) => x);
    expect(mergeForce).toBeInstanceOf(ApiException);
    expect((mergeForce as ApiException<unknown>).code).toBe(422);
    expect(String((mergeForce as ApiException<unknown>).body)).toContain("force: Forbidden: may not be specified for non-apply patch");
  });
});
