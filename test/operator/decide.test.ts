// The reconcile's decide step (pure): owned objects built once and written only when missing, changed
// in the spec, or drifted; a hand edit is put back with an event; fields others own are left alone.
import { describe, expect, it } from "vitest";
import { decide, LAST_APPLIED, writeFor } from "../../operator/reconcile/decide.js";
import { liveKey, type Observed } from "../../operator/reconcile/observe.js";
import { configHash, desiredObjects, podTemplate } from "../../operator/desired.js";
import type { PushCluster } from "../../operator/types.js";

const T0 = Date.parse("2026-11-25T12:00:00Z");
const pc: PushCluster = {
  apiVersion: "herald.dev/v1alpha1",
  kind: "PushCluster",
  metadata: { name: "hc", namespace: "apps", uid: "uid-1", generation: 3 },
  spec: { replicas: 3, redis: { url: "redis://redis:6379" }, auth: { mode: "ticket", ticketSecretRef: { name: "t" } }, publishKeysSecretRef: { name: "p" } },
};
const nodes = ["hc-0", "hc-1", "hc-2"];
/** What the API server holds after the operator applied everything for three nodes (plus a server-set field). */
const referenced = () => new Map<string, Record<string, string> | null>([["Secret/hc-token", { secret: "czE=" }], ["Secret/p", { keys: "azE=" }], ["Secret/t", { secret: "dDE=" }]]);
const inputs = { configHash: configHash(referenced()) };
function converged(): Observed {
  const live = new Map<string, any>();
  for (const obj of desiredObjects(pc, { replicas: 3, nodes, serviceMonitorCrd: false, template: inputs })) {
    const applied = structuredClone({ ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [LAST_APPLIED]: JSON.stringify(obj) }, resourceVersion: "7" } }) as any;
    if (obj.kind === "Service") applied.spec.clusterIP = applied.spec.clusterIP ?? `10.0.0.${nodes.indexOf(obj.metadata.name) + 10}`;
    live.set(liveKey(obj.kind, obj.metadata.name), applied);
  }
  const hash = podTemplate(pc, inputs).hash;
  const pods = nodes.map((name) => ({ metadata: { name, labels: { "herald.dev/template-hash": hash } }, status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-11-25T11:00:00Z" }] } }));
  const doc = { version: 4, nodes: nodes.map((id) => ({ id, url: `http://${live.get(liveKey("Service", id)).spec.clusterIP}`, path: "/socket.io", state: "active" as const })), pins: {} };
  return { now: T0, live, pods, affinity: { configMap: { metadata: { name: "hc-affinity" } }, doc }, loads: new Map(nodes.map((id) => [id, { sockets: 1, users: 1, state: "active" }])), redisError: null, serviceMonitorCrd: false, referenced: referenced() };
}

describe("decide", () => {
  it("writes nothing when the world is as wanted", () => {
    const d = decide(pc, converged());
    expect(d.writes).toEqual([]);
    expect(d.events).toEqual([]);
    expect(d.affinity).toBeNull();
    expect(d.plan!.phase).toBe("Stable");
  });

  it("puts back StatefulSet replicas edited by hand, without mistaking them for a scale-down", () => {
    const o = converged();
    o.live.get("StatefulSet/hc").spec.replicas = 6;
    const d = decide(pc, o);
    expect(d.plan!.phase).toBe("Stable");
    expect(d.writes).toHaveLength(1);
    expect(d.writes[0]).toMatchObject({ op: "patch", drift: ["spec.replicas"], patch: { spec: { replicas: 3 } } });
    expect(d.events).toEqual([{ type: "Normal", reason: "DriftRepaired", message: "Put back spec.replicas of StatefulSet apps/hc, changed outside the operator" }]);
  });

  it("puts back a login Service selector and Role verbs, and leaves another controller's annotations", () => {
    const o = converged();
    o.live.get("Service/hc").spec.selector = { app: "someone-else" };
    o.live.get("Role/hc-node").rules[0].verbs.push("delete");
    o.live.get("Service/hc-internal").metadata.annotations["other.io/seen"] = "yes";
    o.live.get("StatefulSet/hc").metadata.annotations["deployment.kubernetes.io/revision"] = "3";
    const d = decide(pc, o);
    expect(d.writes.map((w) => `${w.obj.kind}/${w.obj.metadata.name}`).sort()).toEqual(["Role/hc-node", "Service/hc"]);
    const svc = d.writes.find((w) => w.obj.kind === "Service") as any;
    expect(svc.patch.spec.selector).toEqual({ app: null, "app.kubernetes.io/name": "herald", "app.kubernetes.io/instance": "hc", "app.kubernetes.io/component": "push-node" });
    expect(d.events.map((e) => e.reason)).toEqual(["DriftRepaired", "DriftRepaired"]);
  });

  it("updates what the spec changed, without calling it drift, and creates what is missing", () => {
    const o = converged();
    o.live.delete("PodDisruptionBudget/hc");
    const d = decide({ ...pc, spec: { ...pc.spec, image: "ghcr.io/herald-push/herald:0.2.0" } }, o);
    expect(d.writes.map((w) => `${w.op} ${w.obj.kind}/${w.obj.metadata.name}`).sort()).toEqual(["create PodDisruptionBudget/hc", "patch StatefulSet/hc"]);
    expect(d.events.map((e) => e.reason)).not.toContain("DriftRepaired");
  });

  it("adopts an object written without the last-applied record (an older operator) with one quiet patch", () => {
    const obj = desiredObjects(pc, { replicas: 3, nodes, serviceMonitorCrd: false, template: inputs }).find((x) => x.kind === "Role")!;
    const w = writeFor(obj, { ...structuredClone(obj), metadata: { ...obj.metadata, annotations: { "herald.dev/spec-hash": "abc" } } });
    expect(w!.write.op).toBe("patch");
    expect(w!.event).toBeUndefined();
    expect(writeFor(obj, null)!.write.op).toBe("create");
  });
});

describe("a template the operator builds differently (an upgrade)", () => {
  it("rolls the nodes with a TemplateChanged event, once", () => {
    const o = converged();
    const old = "0123456789";
    for (const p of o.pods) p.metadata.labels["herald.dev/template-hash"] = old;
    const sts = o.live.get("StatefulSet/hc");
    const last = JSON.parse(sts.metadata.annotations[LAST_APPLIED]);
    last.spec.template.metadata.labels["herald.dev/template-hash"] = old;
    delete last.spec.template.spec.securityContext.seccompProfile;
    sts.metadata.annotations[LAST_APPLIED] = JSON.stringify(last);
    sts.spec.template = last.spec.template;
    const d = decide({ ...pc, status: { observedGeneration: 3 } }, o);
    expect(d.writes.map((w) => `${w.op} ${w.obj.kind}/${w.obj.metadata.name}`)).toEqual(["patch StatefulSet/hc"]);
    expect(d.events).toContainEqual({ type: "Normal", reason: "TemplateChanged", message: "The push-node pod template changed (this operator version builds it differently): rolling 3 push node(s), one drained node at a time" });
    expect(d.events.map((e) => e.reason)).toContain("Draining"); // the first node drains at once
    // next pass: the StatefulSet carries the new template; no second TemplateChanged
    const after = converged();
    for (const p of after.pods) p.metadata.labels["herald.dev/template-hash"] = old;
    expect(decide({ ...pc, status: { observedGeneration: 3, draining: d.plan!.draining } }, after).events.map((e) => e.reason)).not.toContain("TemplateChanged");
  });
});

describe("rotation and restarts", () => {
  const rollsTo = (o: Observed) => {
    const d = decide(pc, o);
    const sts = d.writes.find((w) => w.obj.kind === "StatefulSet");
    return { d, hash: (sts?.obj as any)?.spec.template.metadata.labels["herald.dev/template-hash"] as string | undefined };
  };

  it("rolls the nodes, drained, when a Secret they read is rotated", () => {
    const o = converged();
    o.referenced.set("Secret/p", { keys: "azI=" });
    const { d, hash } = rollsTo(o);
    expect(hash).toBeDefined();
    expect(hash).not.toBe(podTemplate(pc, inputs).hash);
    expect(d.events.map((e) => e.reason)).toEqual(expect.arrayContaining(["TemplateChanged", "Draining"]));
    expect(d.deletePods).toEqual([]); // drained first, replaced later
  });

  it("rolls a rotated token Secret with the previous secret in the pods (not in the hash) until every node runs the new template", () => {
    const env = (d: ReturnType<typeof decide>) => ((d.writes.find((w) => w.obj.kind === "StatefulSet")?.obj as any)?.spec.template.spec.containers[0].env ?? []).find((e: any) => e.name === "HERALD_TOKEN_SECRET_PREVIOUS");
    // steady: the state records the current value, nothing to write
    const steady = converged();
    steady.tokenState = { current: "czE=" };
    expect(decide(pc, steady).tokenState).toBeNull();
    // the token Secret rotates: the old value becomes `previous`, and the pods get it while they roll
    const o = converged();
    o.tokenState = { current: "czE=" };
    o.referenced.set("Secret/hc-token", { secret: "czI=" });
    const d = decide(pc, o);
    expect(d.tokenState).toEqual({ current: "czI=", previous: "czE=" });
    expect(env(d)).toEqual({ name: "HERALD_TOKEN_SECRET_PREVIOUS", valueFrom: { secretKeyRef: { name: "hc-token-previous", key: "previous", optional: true } } });
    const rotatedInputs = { configHash: configHash(o.referenced) };
    expect(podTemplate(pc, { ...rotatedInputs, previousTokenSecret: true }).hash).toBe(podTemplate(pc, rotatedInputs).hash);
    expect(d.events.map((e) => e.reason)).toEqual(expect.arrayContaining(["TemplateChanged", "Draining"]));
    // every node on the new template and ready: `previous` goes, and new pods no longer get it (without a roll)
    const done = converged();
    done.referenced.set("Secret/hc-token", { secret: "czI=" });
    done.tokenState = { current: "czI=", previous: "czE=" };
    const newHash = podTemplate(pc, rotatedInputs).hash;
    for (const p of done.pods) p.metadata.labels["herald.dev/template-hash"] = newHash;
    const after = decide(pc, done);
    expect(after.tokenState).toEqual({ previous: null });
    expect(after.deletePods).toEqual([]);
  });

  it("turns kubectl rollout restart (the restartedAt stamp) into a drained roll that keeps the stamp", () => {
    const o = converged();
    o.live.get("StatefulSet/hc").spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = "2026-11-25T12:00:00Z";
    const { d, hash } = rollsTo(o);
    expect(hash).not.toBe(podTemplate(pc, inputs).hash);
    expect((d.writes[0]!.obj as any).spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]).toBe("2026-11-25T12:00:00Z");
    expect(d.events.map((e) => e.reason)).toContain("Draining");
  });

  it("does not roll for a new drain grace period: draining uses it at once, pods when next replaced", () => {
    const longer = { ...pc, spec: { ...pc.spec, drainGracePeriodSeconds: 300 } };
    expect(podTemplate(longer, inputs).hash).toBe(podTemplate(pc, inputs).hash);
    const d = decide(longer, converged());
    expect(d.writes.map((w) => w.obj.kind)).toEqual(["StatefulSet"]);
    expect((d.writes[0]!.obj as any).spec.template.spec.terminationGracePeriodSeconds).toBe(310);
    expect(d.events.map((e) => e.reason)).not.toContain("Draining");
    expect(d.plan!.phase).toBe("Stable");
  });
});

describe("paused", () => {
  it("writes nothing — no roll, no repair, no document — while spec.paused", () => {
    const o = converged();
    o.live.get("StatefulSet/hc").spec.replicas = 6;
    const d = decide({ ...pc, spec: { ...pc.spec, paused: true, image: "ghcr.io/herald-push/herald:0.2.0", replicas: 5 } }, o);
    expect(d.writes).toEqual([]);
    expect(d.deletePods).toEqual([]);
    expect(d.affinity).toBeNull();
    expect(d.events).toEqual([]);
    expect(d.facts.paused).toBe(true);
    expect(d.facts.readyReplicas).toBe(3);
  });
});

describe("a change of spec.expose.type", () => {
  const ownLabels = { "app.kubernetes.io/managed-by": "herald-operator", "app.kubernetes.io/instance": "hc" };
  const withIngress = (labels: Record<string, string>) => {
    const o = converged();
    o.live.set(liveKey("Ingress", "hc"), { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "hc", labels } });
    return o;
  };
  const was = (exposedAs: "Ingress" | "Gateway"): PushCluster => ({ ...pc, status: { exposedAs } });

  it("removes the Ingress it made once the type is no longer Ingress, with an event, and follows the spec after", () => {
    const d = decide(was("Ingress"), withIngress(ownLabels));
    expect(d.deleteIngress).toBe("hc");
    expect(d.events).toEqual([{ type: "Normal", reason: "ExposeChanged", message: "spec.expose.type is ClusterIP: removing Ingress hc" }]);
    expect(d.facts.exposedAs).toBe("Ingress"); // until the next pass finds it gone
    const after = decide(was("Ingress"), converged());
    expect(after.deleteIngress).toBeNull();
    expect(after.facts.exposedAs).toBe("ClusterIP");
  });

  it("leaves an Ingress of the same name that it did not make", () => {
    const d = decide(was("Ingress"), withIngress({ "app.kubernetes.io/managed-by": "someone-else" }));
    expect(d.deleteIngress).toBeNull();
    expect(d.facts.exposedAs).toBe("ClusterIP");
  });

  it("keeps the Ingress while the type is Ingress", () => {
    const ing = { ...pc, spec: { ...pc.spec, endpoint: { host: "push.example.com" }, expose: { type: "Ingress" as const } }, status: { exposedAs: "Ingress" as const } };
    const d = decide(ing, withIngress(ownLabels));
    expect(d.deleteIngress).toBeNull();
    expect(d.facts.exposedAs).toBe("Ingress");
  });

  it("removes every HTTPRoute it made (logins and nodes) once the type is no longer Gateway", () => {
    const o = converged();
    for (const [name, component] of [["hc", "login-route"], ["hc-0", "node-route"], ["hc-1", "node-route"]])
      o.live.set(liveKey("HTTPRoute", name!), { kind: "HTTPRoute", metadata: { name, labels: { ...ownLabels, "app.kubernetes.io/component": component } } });
    const d = decide({ ...was("Gateway"), spec: { ...pc.spec, expose: { type: "LoadBalancer" } } }, o);
    expect(d.deleteRoutes.sort()).toEqual(["hc", "hc-0", "hc-1"]);
    expect(d.events.map((e) => e.reason)).toContain("ExposeChanged");
    expect(d.facts.exposedAs).toBe("Gateway");
  });
});
