// Drift of owned objects, field by field: what the operator owns is put back, what others own is left.
import { describe, expect, it } from "vitest";
import { drifted, quantity, repairPatch } from "../../operator/drift.js";

const sts = (replicas: number, extra: Record<string, unknown> = {}) => ({
  metadata: { name: "hc", labels: { app: "herald" }, annotations: { mine: "1" } },
  spec: { replicas, selector: { matchLabels: { app: "herald" } }, template: { spec: { containers: [{ name: "push-node", image: "a:1", resources: { limits: { cpu: "0.5" } } }] } } },
  ...extra,
});

describe("drift", () => {
  it("finds nothing when only others' fields and server defaults were added", () => {
    const live = structuredClone(sts(3)) as any;
    live.metadata.annotations["other-controller/seen"] = "yes";
    live.metadata.resourceVersion = "42";
    live.spec.template.spec.containers[0].terminationMessagePath = "/dev/termination-log";
    live.spec.template.spec.containers[0].resources.limits.cpu = "500m"; // canonicalised
    live.spec.revisionHistoryLimit = 10;
    expect(drifted(sts(3), live)).toEqual([]);
  });

  it("finds a hand-edited field the operator owns, and the patch puts it back without touching others' fields", () => {
    const live = structuredClone(sts(6)) as any;
    live.metadata.annotations["other-controller/seen"] = "yes";
    expect(drifted(sts(3), live)).toEqual(["spec.replicas"]);
    const patch = repairPatch(sts(3), live, sts(3)) as any;
    expect(patch.spec.replicas).toBe(3);
    expect(patch.metadata.annotations).toEqual({ mine: "1" }); // a merge patch: the other annotation stays
  });

  it("owns arrays whole: a verb added to a Role is drift", () => {
    const role = { rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }] };
    expect(drifted(role, { rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "delete"] }] })).toEqual(["rules"]);
    expect(drifted(role, { rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }] })).toEqual(["rules"]);
    expect(drifted(role, structuredClone(role))).toEqual([]);
  });

  it("owns selectors whole: a key added to a Service's selector is drift, and the patch removes it", () => {
    const svc = { spec: { selector: { app: "herald", component: "push-node" }, ports: [{ port: 80 }] } };
    const live = { spec: { selector: { app: "herald", component: "push-node", "pod-name": "hc-0" }, ports: [{ port: 80, protocol: "TCP" }], clusterIP: "10.0.0.1" } };
    expect(drifted(svc, live)).toEqual(["spec.selector"]);
    expect((repairPatch(svc, live, svc) as any).spec.selector).toEqual({ "pod-name": null, app: "herald", component: "push-node" });
    expect(drifted(svc, { spec: { selector: { app: "other", component: "push-node" }, ports: [{ port: 80 }] } })).toEqual(["spec.selector"]);
  });

  it("removes what it wrote last time and wants no more", () => {
    const before = { spec: { tls: [{ secretName: "x" }], rules: [] } };
    const want = { spec: { rules: [] } };
    const live = { spec: { tls: [{ secretName: "x" }], rules: [], ingressClassName: "nginx-set-by-someone" } };
    expect(drifted(want, live, before)).toEqual(["spec.tls"]);
    expect(repairPatch(want, live, before)).toEqual({ spec: { rules: [], tls: null } });
    expect(drifted(want, { spec: { rules: [] } }, before)).toEqual([]);
  });

  it("treats missing and empty alike, and reads quantities by value", () => {
    expect(drifted({ spec: { resources: {} } }, { spec: {} })).toEqual([]);
    expect(drifted({ spec: { resources: { requests: { memory: "1Gi" } } } }, { spec: { resources: { requests: { memory: "1073741824" } } } })).toEqual([]);
    expect(drifted({ spec: { resources: { requests: { memory: "1Gi" } } } }, { spec: { resources: { requests: { memory: "1G" } } } })).toEqual(["spec.resources.requests.memory"]);
    expect([quantity("500m"), quantity("2"), quantity("1Ki"), quantity("abc")]).toEqual([0.5, 2, 1024, null]);
  });
});
