// Real @kubernetes/client-node 1.4 against the simulator over HTTPS: lists, watches (resumed after a
// cut, expired with 410 and relisted by an informer), conflicts, faults, audit and RBAC.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  RbacAuthorizationV1Api,
  Watch,
  type KubernetesObject,
  type V1ConfigMap,
} from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { fixture, kubectl, waitFor } from "./helpers.js";

let sim: Simulator;
let kc: KubeConfig;
let core: CoreV1Api;

beforeEach(async () => {
  sim = await startSimulator({ kubelet: false });
  kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
});

afterEach(async () => {
  await sim.stop();
});

const cm = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = { k: "v" }): V1ConfigMap => ({ metadata: { name, labels }, data });

async function apiError(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiException) return { code: err.code, body: typeof err.body === "string" ? JSON.parse(err.body) : err.body };
    throw err;
  }
  throw new Error("expected the call to fail");
}

interface WatchEvent {
  type: string;
  name: string;
  rv: string;
}

/** Starts a client-node watch collecting events; `ended` resolves when the server ends the stream. */
async function watchConfigMaps(resourceVersion?: string) {
  const events: WatchEvent[] = [];
  let ended!: (err: unknown) => void;
  const done = new Promise((r) => (ended = r));
  const req = await new Watch(kc).watch(
    "/api/v1/namespaces/default/configmaps",
    resourceVersion ? { resourceVersion } : {},
    (type, obj) => events.push({ type, name: obj.metadata?.name ?? obj.code, rv: obj.metadata?.resourceVersion }),
    (err) => ended(err),
  );
  return { events, done, abort: () => req.abort() };
}

describe("client-node against the simulator", () => {
  it("lists with label and field selectors and a consistent resourceVersion", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("a", { tier: "web" }) });
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("b", { tier: "db" }) });
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("c") });
    const web = await core.listNamespacedConfigMap({ namespace: "default", labelSelector: "tier in (web,db),tier!=db" });
    expect(web.items.map((i) => i.metadata!.name)).toEqual(["a"]);
    const named = await core.listNamespacedConfigMap({ namespace: "default", fieldSelector: "metadata.name=c" });
    expect(named.items.map((i) => i.metadata!.name)).toEqual(["c"]);
    const all = await core.listNamespacedConfigMap({ namespace: "default" });
    expect(Number(all.metadata!.resourceVersion)).toBeGreaterThanOrEqual(Math.max(...all.items.map((i) => Number(i.metadata!.resourceVersion))));
    const page = await core.listNamespacedConfigMap({ namespace: "default", limit: 2 });
    expect(page.items).toHaveLength(2);
    const rest = await core.listNamespacedConfigMap({ namespace: "default", limit: 2, _continue: page.metadata!._continue });
    expect([...page.items, ...rest.items].map((i) => i.metadata!.name)).toEqual(["a", "b", "c"]);
  });

  it("watches ADDED, MODIFIED and DELETED in resourceVersion order", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    const w = await watchConfigMaps(list.metadata!.resourceVersion);
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("w") });
    await core.patchNamespacedConfigMap({ namespace: "default", name: "w", body: [{ op: "replace", path: "/data/k", value: "v2" }] });
    await core.deleteNamespacedConfigMap({ namespace: "default", name: "w" });
    await waitFor("three watch events", () => w.events.length === 3);
    expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(["ADDED w", "MODIFIED w", "DELETED w"]);
    const rvs = w.events.map((e) => Number(e.rv));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    w.abort();
  });

  it("sends DELETED and ADDED when an object stops or starts matching a watch's label selector", async () => {
    const events: string[] = [];
    const req = await new Watch(kc).watch("/api/v1/namespaces/default/configmaps", { labelSelector: "team=a" }, (type, obj) => events.push(`${type} ${obj.metadata?.name}`), () => {});
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("m", { team: "a" }) });
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("other", { team: "b" }) });
    const relabel = (team: string) => core.patchNamespacedConfigMap({ namespace: "default", name: "m", body: [{ op: "replace", path: "/metadata/labels/team", value: team }] });
    await relabel("b");
    await relabel("a");
    await waitFor("three events", () => events.length === 3);
    expect(events).toEqual(["ADDED m", "DELETED m", "ADDED m"]);
    req.abort();
  });

  it("resumes a cut watch from its last resourceVersion without losing or repeating events", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("before") });
    const first = await watchConfigMaps();
    await waitFor("the initial ADDED", () => first.events.length === 1);
    expect(sim.faults.cutWatches({ resource: "configmaps" })).toBe(1);
    expect(await first.done).toBeNull();
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("missed-1") });
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("missed-2") });
    const resumed = await watchConfigMaps(first.events[0]!.rv);
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("live") });
    await waitFor("three events after resuming", () => resumed.events.length === 3);
    expect(resumed.events.map((e) => `${e.type} ${e.name}`)).toEqual(["ADDED missed-1", "ADDED missed-2", "ADDED live"]);
    resumed.abort();
  });

  it("resets the connection of a watch on an abrupt cut, which client-node reports as an error", async () => {
    const w = await watchConfigMaps();
    await waitFor("the watch to open", () => sim.faults.openWatches === 1);
    expect(sim.faults.cutWatches({ abrupt: true })).toBe(1);
    expect(await w.done).toBeInstanceOf(Error);
    expect(sim.faults.openWatches).toBe(0);
  });

  it("sends BOOKMARK events with the current resourceVersion to watches that allow them", async () => {
    await sim.stop();
    sim = await startSimulator({ kubelet: false, bookmarkIntervalMs: 100 });
    kc.loadFromFile(sim.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    const events: { type: string; rv: string }[] = [];
    const req = await new Watch(kc).watch("/api/v1/namespaces/default/configmaps", { allowWatchBookmarks: true }, (type, obj) => events.push({ type, rv: obj.metadata.resourceVersion }), () => {});
    const created = await core.createNamespacedConfigMap({ namespace: "default", body: cm("b") });
    const bookmark = await waitFor("a bookmark after the change", () => events.find((e, i) => e.type === "BOOKMARK" && i > 0));
    expect(events[0]).toEqual({ type: "ADDED", rv: created.metadata!.resourceVersion });
    expect(Number(bookmark.rv)).toBeGreaterThanOrEqual(Number(created.metadata!.resourceVersion));
    req.abort();
  });

  it("ends a watch from a compacted resourceVersion with a 410 Expired ERROR event", async () => {
    const list = await core.listNamespacedConfigMap({ namespace: "default" });
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("x") });
    sim.compact();
    const w = await watchConfigMaps(list.metadata!.resourceVersion);
    expect(await w.done).toBeNull();
    expect(w.events).toEqual([{ type: "ERROR", name: 410, rv: undefined }]);
  });

  it("lets an informer that gets 410 relist and converge (after being restarted from an error)", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("a") });
    const informer = makeInformer(kc, "/api/v1/namespaces/default/configmaps", () => core.listNamespacedConfigMap({ namespace: "default" }));
    const deleted: string[] = [];
    const errors: unknown[] = [];
    informer.on("delete", (o) => deleted.push(o.metadata!.name!));
    informer.on("error", (e) => errors.push(e));
    await informer.start();
    await waitFor("the informer to be watching", () => sim.faults.openWatches === 1);
    expect(informer.list().map((o) => o.metadata!.name)).toEqual(["a"]);

    // The next watch fails with 500: client-node reports it and stops (its documented behaviour).
    sim.faults.add({ verb: "watch", resource: "configmaps", status: 500 });
    sim.faults.cutWatches({ resource: "configmaps" });
    await waitFor("the informer to report the error", () => errors.length === 1);
    // While it is down, things change and the history it would resume from is compacted away.
    await core.deleteNamespacedConfigMap({ namespace: "default", name: "a" });
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("b") });
    sim.compact();
    const listsBefore = sim.audit.find({ verb: "list", resource: "configmaps" }).length;
    await informer.start();
    await waitFor("the informer to relist after 410", () => informer.list().map((o) => o.metadata!.name).join() === "b");
    expect(deleted).toEqual(["a"]);
    expect(sim.audit.find({ verb: "list", resource: "configmaps" }).length).toBe(listsBefore + 1);
    await informer.stop();
  });

  it("lets an informer relist when its watch request itself is answered 410 (an injected fault)", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("a") });
    const informer = makeInformer(kc, "/api/v1/namespaces/default/configmaps", () => core.listNamespacedConfigMap({ namespace: "default" }));
    const errors: unknown[] = [];
    informer.on("error", (e) => errors.push(e));
    await informer.start();
    await waitFor("the informer to be watching", () => sim.faults.openWatches === 1);
    const listsBefore = sim.audit.find({ verb: "list", resource: "configmaps" }).length;
    sim.faults.add({ verb: "watch", resource: "configmaps", status: 410, reason: "Expired", message: "too old resource version" });
    sim.faults.cutWatches();
    await waitFor("a relist and a new watch", () => sim.audit.find({ verb: "list", resource: "configmaps" }).length === listsBefore + 1 && sim.faults.openWatches === 1);
    expect(sim.audit.find({ verb: "watch", resource: "configmaps" }).map((e) => e.code)).toEqual([200, 410, 200]);
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("b") });
    await waitFor("the informer to see b", () => informer.list().length === 2);
    expect(errors).toEqual([]);
    await informer.stop();
  });

  it("answers a stale update with 409 Conflict and an existing name with 409 AlreadyExists", async () => {
    const created = await core.createNamespacedConfigMap({ namespace: "default", body: cm("c") });
    await core.replaceNamespacedConfigMap({ namespace: "default", name: "c", body: { ...created, data: { k: "fresh" } } });
    const stale = await apiError(core.replaceNamespacedConfigMap({ namespace: "default", name: "c", body: { ...created, data: { k: "stale" } } }));
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({ kind: "Status", reason: "Conflict", message: expect.stringContaining('Operation cannot be fulfilled on configmaps "c"') });
    const again = await apiError(core.createNamespacedConfigMap({ namespace: "default", body: cm("c") }));
    expect(again).toMatchObject({ code: 409, body: { reason: "AlreadyExists", message: 'configmaps "c" already exists' } });
    expect((await core.readNamespacedConfigMap({ namespace: "default", name: "c" })).data).toEqual({ k: "fresh" });
  });

  it("serves custom resources, with schema rejections, status subresource and generation rules", async () => {
    // kubectl, not client-node: client-node's typed serializer drops the schema's `default` keys.
    expect((await kubectl(sim.kubeconfigPath, ["apply", "-f", fixture("widget-crd.yaml")])).code).toBe(0);
    const crs = kc.makeApiClient(CustomObjectsApi);
    const ref = { group: "sim.herald.dev", version: "v1alpha1", namespace: "default", plural: "widgets" };
    const w: any = await crs.createNamespacedCustomObject({ ...ref, body: { apiVersion: "sim.herald.dev/v1alpha1", kind: "Widget", metadata: { name: "w" }, spec: { image: "img" } } });
    expect(w.spec).toEqual({ image: "img", replicas: 1, size: "small" });
    const rejected = await apiError(crs.createNamespacedCustomObject({ ...ref, body: { apiVersion: "sim.herald.dev/v1alpha1", kind: "Widget", metadata: { name: "bad" }, spec: { image: "Not Valid", replicas: -1 } } }));
    expect(rejected.code).toBe(422);
    expect(rejected.body.details.causes).toEqual([
      { reason: "FieldValueInvalid", field: "spec.image", message: `Invalid value: "Not Valid": spec.image in body should match '^[a-z0-9./:-]+$'` },
      { reason: "FieldValueInvalid", field: "spec.replicas", message: "Invalid value: -1: spec.replicas in body should be greater than or equal to 0" },
    ]);
    const withStatus: any = await crs.replaceNamespacedCustomObjectStatus({ ...ref, name: "w", body: { ...w, spec: { ...w.spec, replicas: 9 }, status: { phase: "Ready", replicas: 1 } } });
    expect(withStatus.status).toEqual({ phase: "Ready", replicas: 1 });
    expect(withStatus.spec.replicas).toBe(1);
    expect(withStatus.metadata.generation).toBe(1);
    const specChange: any = await crs.replaceNamespacedCustomObject({ ...ref, name: "w", body: { ...withStatus, spec: { ...withStatus.spec, replicas: 3 }, status: { phase: "ignored" } } });
    expect(specChange.status.phase).toBe("Ready");
    expect(specChange.metadata.generation).toBe(2);
    const noop: any = await crs.replaceNamespacedCustomObject({ ...ref, name: "w", body: specChange });
    expect(noop.metadata.resourceVersion).toBe(specChange.metadata.resourceVersion);
  });

  it("lets the generic object client resolve built-in and custom kinds through discovery", async () => {
    expect((await kubectl(sim.kubeconfigPath, ["apply", "-f", fixture("widget-crd.yaml")])).code).toBe(0);
    const objects = KubernetesObjectApi.makeApiClient(kc);
    const widget = { apiVersion: "sim.herald.dev/v1alpha1", kind: "Widget", metadata: { name: "g", namespace: "default" }, spec: { image: "img" } };
    await objects.create(widget);
    await objects.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "g", namespace: "default" }, data: { a: "1" } } as KubernetesObject);
    const read = (await objects.read({ apiVersion: "sim.herald.dev/v1alpha1", kind: "Widget", metadata: { name: "g", namespace: "default" } })) as any;
    expect(read.spec).toEqual({ image: "img", replicas: 1, size: "small" });
    const patched = (await objects.patch({ ...widget, spec: { size: "large" } } as KubernetesObject, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch)) as any;
    expect(patched.spec.size).toBe("large");
    const cms = await objects.list("v1", "ConfigMap", "default");
    expect(cms.items.map((i) => i.metadata!.name)).toEqual(["g"]);
    await objects.delete({ apiVersion: "sim.herald.dev/v1alpha1", kind: "Widget", metadata: { name: "g", namespace: "default" } });
    expect((await apiError(objects.read({ apiVersion: "sim.herald.dev/v1alpha1", kind: "Widget", metadata: { name: "g", namespace: "default" } }))).code).toBe(404);
  });

  it("honours dryRun, generateName and deletecollection with a label selector", async () => {
    const dry = await core.createNamespacedConfigMap({ namespace: "default", body: cm("dry"), dryRun: "All" });
    expect(dry.metadata!.uid).toBeDefined();
    expect((await apiError(core.readNamespacedConfigMap({ namespace: "default", name: "dry" }))).code).toBe(404);
    const generated = await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { generateName: "gen-", labels: { batch: "1" } } } });
    expect(generated.metadata!.name).toMatch(/^gen-[a-z0-9]{5}$/);
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("keep", { batch: "2" }) });
    await core.deleteCollectionNamespacedConfigMap({ namespace: "default", labelSelector: "batch=1" });
    expect((await core.listNamespacedConfigMap({ namespace: "default" })).items.map((i) => i.metadata!.name)).toEqual(["keep"]);
    const ns = await apiError(core.createNamespacedConfigMap({ namespace: "nowhere", body: cm("x") }));
    expect(ns).toMatchObject({ code: 404, body: { message: 'namespaces "nowhere" not found' } });
  });

  it("refuses to change an immutable ConfigMap", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "frozen" }, data: { a: "1" }, immutable: true } });
    const refused = await apiError(core.patchNamespacedConfigMap({ namespace: "default", name: "frozen", body: [{ op: "replace", path: "/data/a", value: "2" }] }));
    expect(refused).toMatchObject({ code: 422, body: { reason: "Invalid", details: { causes: [{ field: "data", reason: "FieldValueForbidden" }] } } });
    await core.patchNamespacedConfigMap({ namespace: "default", name: "frozen", body: [{ op: "add", path: "/metadata/labels", value: { ok: "yes" } }] });
    expect((await core.readNamespacedConfigMap({ namespace: "default", name: "frozen" })).data).toEqual({ a: "1" });
  });

  it("keeps an object with finalizers until they are removed", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: { metadata: { name: "f", finalizers: ["example.com/hold"] } } });
    await core.deleteNamespacedConfigMap({ namespace: "default", name: "f" });
    const held = await core.readNamespacedConfigMap({ namespace: "default", name: "f" });
    expect(held.metadata!.deletionTimestamp).toBeDefined();
    await core.patchNamespacedConfigMap({ namespace: "default", name: "f", body: [{ op: "remove", path: "/metadata/finalizers" }] });
    expect((await apiError(core.readNamespacedConfigMap({ namespace: "default", name: "f" }))).code).toBe(404);
  });

  it("fails exactly the next N matching requests with an injected status, then recovers", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("f") });
    sim.faults.add({ verb: "get", resource: "configmaps", name: "f", count: 2, status: 500, message: "etcd is on fire" });
    sim.faults.add({ verb: "list", resource: "configmaps", status: 429, retryAfterSeconds: 1 });
    expect(await apiError(core.readNamespacedConfigMap({ namespace: "default", name: "f" }))).toMatchObject({ code: 500, body: { message: "etcd is on fire", reason: "InternalError" } });
    expect((await apiError(core.readNamespacedConfigMap({ namespace: "default", name: "f" }))).code).toBe(500);
    expect((await core.readNamespacedConfigMap({ namespace: "default", name: "f" })).metadata!.name).toBe("f");
    expect(await apiError(core.listNamespacedConfigMap({ namespace: "default" }))).toMatchObject({ code: 429, body: { reason: "TooManyRequests", details: { retryAfterSeconds: 1 } } });
    expect(sim.faults.pending()).toEqual([]);
    expect(sim.audit.find({ verb: "get", resource: "configmaps", name: "f" }).map((e) => e.code)).toEqual([500, 500, 200]);
  });

  it("delays a matching request without failing it", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("slow") });
    sim.faults.add({ verb: "get", resource: "configmaps", delayMs: 300 });
    const started = performance.now();
    await core.readNamespacedConfigMap({ namespace: "default", name: "slow" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("attributes requests to service-account identities and enforces RBAC when switched on", async () => {
    await core.createNamespace({ body: { metadata: { name: "team" } } });
    const saKc = new KubeConfig();
    saKc.loadFromFile(sim.writeKubeconfig({ serviceAccount: { namespace: "team", name: "robot" } }));
    const saCore = saKc.makeApiClient(CoreV1Api);
    sim.setRbac(true);
    const denied = await apiError(saCore.listNamespacedPod({ namespace: "team" }));
    expect(denied).toMatchObject({
      code: 403,
      body: { reason: "Forbidden", message: 'pods is forbidden: User "system:serviceaccount:team:robot" cannot list resource "pods" in API group "" in the namespace "team"' },
    });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: "team", body: { metadata: { name: "pod-reader" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: "team",
      body: { metadata: { name: "robot-reads" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" }, subjects: [{ kind: "ServiceAccount", name: "robot", namespace: "team" }] },
    });
    expect((await saCore.listNamespacedPod({ namespace: "team" })).items).toEqual([]);
    expect((await apiError(saCore.listNamespacedPod({ namespace: "default" }))).code).toBe(403);
    expect((await apiError(saCore.createNamespacedPod({ namespace: "team", body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i" }] } } }))).code).toBe(403);
    const trail = sim.audit.find({ user: "system:serviceaccount:team:robot" }).map((e) => `${e.verb} ${e.resource} ${e.namespace} ${e.code}`);
    expect(trail).toEqual(["list pods team 403", "list pods team 200", "list pods default 403", "create pods team 403"]);
    sim.setRbac(false);
    expect((await saCore.listNamespacedPod({ namespace: "default" })).items).toEqual([]);
  });

  it("authorizes a list or watch narrowed to one name by resourceNames rules, as the real server", async () => {
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("affinity") });
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("secretive") });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace: "default", body: { metadata: { name: "one-cm" }, rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["affinity"], verbs: ["get", "list", "watch"] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace: "default",
      body: { metadata: { name: "node-reads" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "one-cm" }, subjects: [{ kind: "ServiceAccount", name: "node", namespace: "default" }] },
    });
    const nodeKc = new KubeConfig();
    nodeKc.loadFromFile(sim.writeKubeconfig({ serviceAccount: { namespace: "default", name: "node" } }));
    const nodeCore = nodeKc.makeApiClient(CoreV1Api);
    sim.setRbac(true);
    expect((await nodeCore.listNamespacedConfigMap({ namespace: "default", fieldSelector: "metadata.name=affinity" })).items.map((i) => i.metadata!.name)).toEqual(["affinity"]);
    expect((await nodeCore.readNamespacedConfigMap({ namespace: "default", name: "affinity" })).metadata!.name).toBe("affinity");
    expect((await apiError(nodeCore.listNamespacedConfigMap({ namespace: "default" }))).code).toBe(403);
    expect((await apiError(nodeCore.listNamespacedConfigMap({ namespace: "default", fieldSelector: "metadata.name=secretive" }))).code).toBe(403);
    expect((await apiError(nodeCore.readNamespacedConfigMap({ namespace: "default", name: "secretive" }))).code).toBe(403);
  });

  it("rejects an unknown bearer token with 401", async () => {
    const bad = new KubeConfig();
    bad.loadFromString(readFileSync(sim.kubeconfigPath, "utf8").replace(sim.adminToken, "sim-not-a-token"));
    expect((await apiError(bad.makeApiClient(CoreV1Api).listNamespace())).code).toBe(401);
  });

  it("exposes faults, watch cuts and the audit log over the admin HTTP endpoint", async () => {
    const admin = sim.adminUrl!;
    const post = (path: string, body: unknown) => fetch(`${admin}${path}`, { method: "POST", body: JSON.stringify(body) });
    const bad = await post("/faults", { verb: "explode", count: 0 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain("verb");
    expect((await post("/faults", { verb: "create", resource: "configmaps", status: 409, reason: "Conflict" })).status).toBe(201);
    expect((await apiError(core.createNamespacedConfigMap({ namespace: "default", body: cm("x") }))).code).toBe(409);
    await core.createNamespacedConfigMap({ namespace: "default", body: cm("x") });
    const audit = (await (await fetch(`${admin}/audit?verb=create&resource=configmaps`)).json()) as { user: string; code: number; name?: string; namespace: string }[];
    expect(audit.map((e) => [e.user, e.namespace, e.code])).toEqual([
      ["kubernetes-admin", "default", 409],
      ["kubernetes-admin", "default", 201],
    ]);
    const w = await watchConfigMaps();
    await waitFor("the watch to open", () => sim.faults.openWatches === 1);
    expect(await (await post("/watches/cut", {})).json()).toEqual({ cut: 1 });
    expect(await w.done).toBeNull();
  });
});
