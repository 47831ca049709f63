// The operator's pure decisions: scaling with draining, rolling, document batching, autoscaling, desired objects (status: status.test.ts).
import { describe, expect, it } from "vitest";
import { autoscale, planNodes, type NodesObserved, type PodFact } from "../../operator/scaling.js";
import { desiredObjects, nodeRoute, podTemplate, specProblems } from "../../operator/desired.js";
import type { PushCluster } from "../../operator/types.js";
import type { AffinityDocument } from "../../protocol/affinity-document.js";

const T0 = Date.parse("2026-11-25T12:00:00Z");
const name = (i: number) => `hc-${i}`;
const pod = (i: number, over: Partial<PodFact> = {}): PodFact => ({ name: name(i), ordinal: i, ready: true, readySince: T0 - 60_000, hash: "h1", terminating: false, ...over });
const docOf = (n: number, draining: number[] = [], version = 5): AffinityDocument => ({
  version,
  nodes: Array.from({ length: n }, (_, i) => ({ id: name(i), url: `http://10.0.0.${i}`, path: "/socket.io", state: draining.includes(i) ? "draining" : "active" })),
  pins: {},
});
function observed(over: Partial<NodesObserved>): NodesObserved {
  return {
    now: T0,
    target: 3,
    current: 3,
    pods: [pod(0), pod(1), pod(2)],
    desiredHash: "h1",
    doc: docOf(3),
    loads: new Map([0, 1, 2].map((i) => [name(i), { sockets: 10, users: 10 }])),
    draining: [],
    graceSeconds: 60,
    pins: {},
    route: (n) => ({ url: `http://10.0.0.${n.split("-")[1]}`, path: "/socket.io" }),
    nodeName: name,
    ...over,
  };
}

describe("planNodes", () => {
  it("does nothing when everything matches", () => {
    const p = planNodes(observed({}));
    expect(p).toMatchObject({ replicas: 3, docChanged: false, draining: [], deletePods: [], events: [], phase: "Stable" });
    expect(p.doc.version).toBe(5);
  });

  it("scales up at once, and lists new nodes only when all are ready (one document version)", () => {
    const up = planNodes(observed({ target: 5 }));
    expect(up.replicas).toBe(5);
    expect(up.phase).toBe("ScalingUp");
    expect(up.events.map((e) => e.reason)).toContain("ScalingUp");
    const oneReady = planNodes(observed({ target: 5, current: 5, pods: [pod(0), pod(1), pod(2), pod(3, { readySince: T0 - 1000 }), pod(4, { ready: false, readySince: null })] }));
    expect(oneReady.doc.nodes.map((n) => n.id)).toEqual([name(0), name(1), name(2)]);
    expect(oneReady.docChanged).toBe(false);
    const both = planNodes(observed({ target: 5, current: 5, pods: [0, 1, 2, 3, 4].map((i) => pod(i)) }));
    expect(both.doc.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3, 4].map(name));
    expect(both.doc.version).toBe(6);
    expect(both.doc.nodes.every((n) => n.state === "active")).toBe(true);
  });

  it("lists a ready node anyway when its peers take longer than the batch window", () => {
    const p = planNodes(observed({ target: 5, current: 5, pods: [pod(0), pod(1), pod(2), pod(3, { readySince: T0 - 31_000 }), pod(4, { ready: false, readySince: null })] }));
    expect(p.doc.nodes.map((n) => n.id)).toEqual([0, 1, 2, 3].map(name));
  });

  it("keeps a listed node that is briefly not ready", () => {
    const p = planNodes(observed({ pods: [pod(0), pod(1, { ready: false }), pod(2)] }));
    expect(p.doc.nodes.map((n) => n.id)).toEqual([0, 1, 2].map(name));
    expect(p.phase).toBe("WaitingForPods");
  });

  it("scales down by draining the highest ordinals first, and shrinks only when they are empty", () => {
    const start = planNodes(observed({ target: 1 }));
    expect(start.replicas).toBe(3);
    expect(start.draining.map((d) => [d.node, d.reason])).toEqual([[name(1), "scale-down"], [name(2), "scale-down"]]);
    expect(start.doc.nodes.map((n) => n.state)).toEqual(["active", "draining", "draining"]);
    expect(start.phase).toBe("ScalingDown");
    // node 2 empties first: the StatefulSet loses ordinal 2 only
    const loads = new Map([[name(0), { sockets: 30, users: 30 }], [name(1), { sockets: 4, users: 4 }], [name(2), { sockets: 0, users: 0 }]]);
    const mid = planNodes(observed({ target: 1, draining: start.draining, loads, doc: start.doc }));
    expect(mid.replicas).toBe(2);
    expect(mid.doc.nodes.map((n) => n.id)).toEqual([name(0), name(1)]);
    // node 1 is still busy but its grace period is over
    const late = planNodes(observed({ target: 1, current: 2, now: T0 + 61_000, draining: mid.draining, loads, doc: mid.doc, pods: [pod(0), pod(1)] }));
    expect(late.replicas).toBe(1);
    expect(late.draining).toEqual([]);
    expect(late.doc.nodes.map((n) => n.id)).toEqual([name(0)]);
  });

  it("shrinks from the top only: an empty node waits while a busier one above it drains", () => {
    const loads = new Map([[name(0), { sockets: 1, users: 1 }], [name(1), { sockets: 0, users: 0 }], [name(2), { sockets: 7, users: 7 }]]);
    const p = planNodes(observed({ target: 1, loads, draining: [{ node: name(1), since: new Date(T0).toISOString(), reason: "scale-down" }, { node: name(2), since: new Date(T0).toISOString(), reason: "scale-down" }] }));
    expect(p.replicas).toBe(3);
  });

  it("cancels a drain when the cluster scales back up", () => {
    const draining = [{ node: name(2), since: new Date(T0).toISOString(), reason: "scale-down" as const }];
    const p = planNodes(observed({ target: 3, draining, doc: docOf(3, [2]) }));
    expect(p.draining).toEqual([]);
    expect(p.doc.nodes[2]!.state).toBe("active");
    expect(p.events.map((e) => e.reason)).toContain("DrainCancelled");
  });

  it("treats a node with no heartbeat as empty", () => {
    const loads = new Map([[name(0), { sockets: 5, users: 5 }], [name(1), { sockets: 5, users: 5 }]]);
    const p = planNodes(observed({ target: 2, loads }));
    expect(p.replicas).toBe(2);
  });

  it("rolls a new template one node at a time: drain, replace, re-admit", () => {
    const old = [pod(0), pod(1), pod(2)];
    const s1 = planNodes(observed({ desiredHash: "h2", pods: old }));
    expect(s1.draining).toEqual([{ node: name(2), since: new Date(T0).toISOString(), reason: "rolling" }]);
    expect(s1.phase).toBe("Rolling");
    expect(s1.deletePods).toEqual([]);
    // still busy: wait
    const s2 = planNodes(observed({ desiredHash: "h2", pods: old, draining: s1.draining, doc: s1.doc }));
    expect(s2.deletePods).toEqual([]);
    // emptied: replace the pod
    const empty = new Map([[name(0), { sockets: 5, users: 5 }], [name(1), { sockets: 5, users: 5 }], [name(2), { sockets: 0, users: 0 }]]);
    const s3 = planNodes(observed({ desiredHash: "h2", pods: old, draining: s1.draining, doc: s1.doc, loads: empty }));
    expect(s3.deletePods).toEqual([name(2)]);
    // the new pod is not ready yet: keep draining, start no other
    const s4 = planNodes(observed({ desiredHash: "h2", pods: [pod(0), pod(1), pod(2, { hash: "h2", ready: false })], draining: s1.draining, doc: s1.doc, loads: empty }));
    expect(s4.draining.map((d) => d.node)).toEqual([name(2)]);
    expect(s4.deletePods).toEqual([]);
    // ready on the new template: active again, and the next node starts draining
    const s5 = planNodes(observed({ desiredHash: "h2", pods: [pod(0), pod(1), pod(2, { hash: "h2" })], draining: s1.draining, doc: s1.doc }));
    expect(s5.doc.nodes.find((n) => n.id === name(2))!.state).toBe("active");
    expect(s5.draining.map((d) => d.node)).toEqual([name(1)]);
  });

  it("puts pins into the document and bumps its version only on change", () => {
    const p = planNodes(observed({ pins: { alice: name(1) } }));
    expect(p.doc.pins).toEqual({ alice: name(1) });
    expect(p.docChanged).toBe(true);
    expect(p.doc.version).toBe(6);
    expect(planNodes(observed({ pins: { alice: name(1) }, doc: p.doc })).docChanged).toBe(false);
  });

  it("waits for a node's route before listing it", () => {
    const p = planNodes(observed({ doc: null, route: (n) => (n === name(2) ? null : { url: "http://x", path: "/socket.io" }) }));
    expect(p.doc.nodes.map((n) => n.id)).toEqual([name(0), name(1)]);
    expect(p.doc.version).toBe(1);
  });
});

describe("autoscale", () => {
  const a = { enabled: true, minReplicas: 2, maxReplicas: 6, targetConnectionsPerNode: 100, scaleUpCooldownSeconds: 30, scaleDownCooldownSeconds: 300 };
  it("scales up when nodes would carry more than the target", () => {
    expect(autoscale(a, { current: 2, lastScaleTime: null }, 350, T0)).toBe(4);
    expect(autoscale(a, { current: 2, lastScaleTime: null }, 5000, T0)).toBe(6);
  });
  it("respects the cool-downs", () => {
    expect(autoscale(a, { current: 2, lastScaleTime: T0 - 10_000 }, 350, T0)).toBe(2);
    expect(autoscale(a, { current: 4, lastScaleTime: T0 - 60_000 }, 50, T0)).toBe(4);
    expect(autoscale(a, { current: 4, lastScaleTime: T0 - 301_000 }, 50, T0)).toBe(2);
  });
  it("holds between the thresholds (hysteresis), so it does not flap", () => {
    // 4 nodes; 300 connections fit 3 nodes at the target but not with 10 % headroom (270)
    expect(autoscale(a, { current: 4, lastScaleTime: null }, 300, T0)).toBe(4);
    expect(autoscale(a, { current: 4, lastScaleTime: null }, 260, T0)).toBe(3);
    // and back up only past the target
    expect(autoscale(a, { current: 3, lastScaleTime: null }, 300, T0)).toBe(3);
    expect(autoscale(a, { current: 3, lastScaleTime: null }, 301, T0)).toBe(4);
  });
  it("clamps into min and max at once", () => {
    expect(autoscale(a, { current: 9, lastScaleTime: T0 }, 0, T0)).toBe(6);
    expect(autoscale(a, { current: 1, lastScaleTime: T0 }, 0, T0)).toBe(2);
  });
});

const pc = (spec: Partial<PushCluster["spec"]> = {}): PushCluster => ({
  apiVersion: "herald.dev/v1alpha1",
  kind: "PushCluster",
  metadata: { name: "hc", namespace: "apps", uid: "uid-1", generation: 3 },
  spec: { replicas: 3, redis: { url: "redis://redis:6379" }, auth: { mode: "ticket", ticketSecretRef: { name: "t" } }, publishKeysSecretRef: { name: "p" }, ...spec },
});

describe("desired objects", () => {
  it("owns everything with ownerReferences and the recommended labels", () => {
    const objs = desiredObjects(pc(), { replicas: 3, nodes: ["hc-0", "hc-1", "hc-2"], serviceMonitorCrd: false });
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining(["StatefulSet/hc", "Service/hc", "Service/hc-nodes", "Service/hc-internal", "Service/hc-0", "Service/hc-2", "ServiceAccount/hc-node", "Role/hc-node", "RoleBinding/hc-node", "PodDisruptionBudget/hc"]));
    expect(kinds.some((k) => k.startsWith("ServiceMonitor"))).toBe(false);
    for (const o of objs) {
      expect(o.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "PushCluster", uid: "uid-1", controller: true })]);
      expect(o.metadata.labels!["app.kubernetes.io/managed-by"]).toBe("herald-operator");
    }
    const role = objs.find((o) => o.kind === "Role")!;
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["hc-affinity"], verbs: ["get", "list", "watch"] }]);
  });

  it("adds a ServiceMonitor only when asked and when its CRD exists, and an Ingress per node path", () => {
    const spec = { monitoring: { serviceMonitor: { enabled: true } }, endpoint: { host: "push.example.com", ingress: { enabled: true } } };
    expect(desiredObjects(pc(spec), { replicas: 2, nodes: ["hc-0", "hc-1"], serviceMonitorCrd: false }).some((o) => o.kind === "ServiceMonitor")).toBe(false);
    const objs = desiredObjects(pc(spec), { replicas: 2, nodes: ["hc-0", "hc-1"], serviceMonitorCrd: true });
    expect(objs.some((o) => o.kind === "ServiceMonitor")).toBe(true);
    const ingress = objs.find((o) => o.kind === "Ingress") as any;
    expect(ingress.spec.rules[0].http.paths.map((p: any) => [p.path, p.backend.service.name])).toEqual([["/v1/login", "hc"], ["/n/hc-0", "hc-0"], ["/n/hc-1", "hc-1"]]);
  });

  it("changes the template hash when the image or configuration changes, not otherwise", () => {
    expect(podTemplate(pc()).hash).toBe(podTemplate(pc()).hash);
    expect(podTemplate(pc({ image: "herald:2" })).hash).not.toBe(podTemplate(pc()).hash);
    expect(podTemplate(pc({ env: [{ name: "LOG_LEVEL", value: "debug" }] })).hash).not.toBe(podTemplate(pc()).hash);
    expect(podTemplate(pc({ replicas: 9 })).hash).toBe(podTemplate(pc()).hash);
  });

  it("routes each node by path under a public host", () => {
    expect(nodeRoute(pc({ endpoint: { host: "push.example.com" } }), "hc-1")).toEqual({ path: "/n/hc-1/socket.io", publicUrl: "https://push.example.com" });
    expect(nodeRoute(pc({ endpoint: { host: "{node}.push.example.com", pathTemplate: "" } }), "hc-1")).toEqual({ path: "/socket.io", publicUrl: "https://hc-1.push.example.com" });
    expect(nodeRoute(pc(), "hc-1")).toEqual({ path: "/socket.io", publicUrl: null });
  });

  it("names what is wrong with a spec the schema lets through", () => {
    expect(specProblems(pc())).toEqual([]);
    expect(specProblems(pc({ redis: {} }))).toEqual(["spec.redis needs exactly one of url or urlSecretRef"]);
    expect(specProblems(pc({ auth: { mode: "webhook" } }))).toEqual(["spec.auth (webhook) needs webhookUrl"]);
    expect(specProblems(pc({ autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 2 } }))).toHaveLength(1);
  });
});

describe("the pod template section", () => {
  const template = (spec: Partial<PushCluster["spec"]> = {}) => podTemplate(pc(spec)).template as any;

  it("defaults to what PodSecurity restricted asks, seccomp included, and merges the spec's security contexts over it", () => {
    const t = template();
    expect(t.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } });
    expect(t.spec.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } });
    const custom = template({ pod: { securityContext: { runAsUser: 2000, seccompProfile: { type: "Localhost", localhostProfile: "herald.json" } }, containerSecurityContext: { readOnlyRootFilesystem: false } } });
    expect(custom.spec.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 2000, fsGroup: 10001, seccompProfile: { type: "Localhost", localhostProfile: "herald.json" } });
    expect(custom.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(false);
    expect(custom.spec.containers[0].securityContext.allowPrivilegeEscalation).toBe(false);
  });

  it("carries scheduling, pull secrets, priority, extra volumes and labels into the pods", () => {
    const pod = {
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { "app.kubernetes.io/instance": "hc" } } } }] } },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "push", effect: "NoSchedule" }],
      nodeSelector: { "kubernetes.io/os": "linux" },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" }],
      priorityClassName: "high",
      imagePullSecrets: [{ name: "registry" }],
      volumes: [{ name: "extra", configMap: { name: "extra" } }],
      volumeMounts: [{ name: "extra", mountPath: "/etc/extra" }],
      labels: { team: "push", "app.kubernetes.io/instance": "not-mine" },
      annotations: { "vault.hashicorp.com/agent-inject": "true" },
    };
    const t = template({ pod });
    for (const k of ["affinity", "tolerations", "nodeSelector", "topologySpreadConstraints", "priorityClassName", "imagePullSecrets", "volumes"] as const) expect(t.spec[k]).toEqual(pod[k]);
    expect(t.spec.containers[0].volumeMounts).toEqual(pod.volumeMounts);
    expect(t.metadata.labels).toMatchObject({ team: "push", "app.kubernetes.io/instance": "hc" }); // the selector labels win
    expect(t.metadata.annotations["vault.hashicorp.com/agent-inject"]).toBe("true");
    expect(podTemplate(pc({ pod })).hash).not.toBe(podTemplate(pc({ pod: { ...pod, annotations: {} } })).hash);
    // nothing set: none of those keys in the pod spec
    expect(Object.keys(template().spec).sort()).toEqual(["containers", "securityContext", "serviceAccountName", "terminationGracePeriodSeconds"]);
  });

  it("takes env from Secrets and ConfigMaps, and mounts the Redis CA from its Secret", () => {
    const t = template({
      redis: { url: "rediss://redis:6380", tlsCASecretRef: { name: "redis-tls" } },
      env: [{ name: "LOG_LEVEL", value: "debug" }, { name: "HERALD_WEBHOOK_SECRET", valueFrom: { secretKeyRef: { name: "hook", key: "secret" } } }],
    });
    const env = t.spec.containers[0].env;
    expect(env).toContainEqual({ name: "LOG_LEVEL", value: "debug" });
    expect(env).toContainEqual({ name: "HERALD_WEBHOOK_SECRET", valueFrom: { secretKeyRef: { name: "hook", key: "secret" } } });
    expect(env).toContainEqual({ name: "REDIS_TLS_CA_FILE", value: "/etc/herald/redis-ca/ca.crt" });
    expect(t.spec.volumes).toEqual([{ name: "redis-ca", secret: { secretName: "redis-tls", items: [{ key: "ca.crt", path: "ca.crt" }] } }]);
    expect(t.spec.containers[0].volumeMounts).toEqual([{ name: "redis-ca", mountPath: "/etc/herald/redis-ca", readOnly: true }]);
  });
});
