// spec.expose (pure): the objects each choice makes, and the node URLs the affinity document carries.
import { describe, expect, it } from "vitest";
import { desiredObjects, exposeType, nodeAddress, specProblems } from "../../operator/desired.js";
import { decide } from "../../operator/reconcile/decide.js";
import type { Observed } from "../../operator/reconcile/observe.js";
import type { KubeObject, PushCluster } from "../../operator/types.js";

const pc = (spec: Partial<PushCluster["spec"]> = {}): PushCluster => ({
  apiVersion: "herald.dev/v1alpha1",
  kind: "PushCluster",
  metadata: { name: "hc", namespace: "apps", uid: "uid-1", generation: 3 },
  spec: { replicas: 2, redis: { url: "redis://redis:6379" }, auth: { mode: "ticket", ticketSecretRef: { name: "t" } }, publishKeysSecretRef: { name: "p" }, ...spec },
});
const objects = (p: PushCluster) => desiredObjects(p, { replicas: 2, nodes: ["hc-0", "hc-1"], serviceMonitorCrd: false });
const nodeServices = (objs: KubeObject[]) => objs.filter((o) => o.kind === "Service" && o.metadata.labels?.["app.kubernetes.io/component"] === "node-route") as any[];
const gateway = { parentRefs: [{ name: "public", namespace: "gateways", sectionName: "https" }] };

describe("spec.expose", () => {
  it("defaults to ClusterIP, and takes the older endpoint.ingress.enabled as Ingress", () => {
    expect(exposeType(pc())).toBe("ClusterIP");
    expect(exposeType(pc({ endpoint: { host: "push.example.com", ingress: { enabled: true } } }))).toBe("Ingress");
    expect(exposeType(pc({ expose: { type: "LoadBalancer" } }))).toBe("LoadBalancer");
  });

  it("Ingress: one rule per node path with ingress-nginx's WebSocket timeouts, annotations overridable", () => {
    const objs = objects(pc({ endpoint: { host: "push.example.com" }, expose: { type: "Ingress", ingress: { className: "nginx", tlsSecretName: "push-tls", annotations: { "nginx.ingress.kubernetes.io/proxy-read-timeout": "7200" } } } }));
    const ing = objs.find((o) => o.kind === "Ingress") as any;
    expect(ing.metadata.annotations).toEqual({ "nginx.ingress.kubernetes.io/proxy-read-timeout": "7200", "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600", "nginx.ingress.kubernetes.io/proxy-buffering": "off" });
    expect(ing.spec).toMatchObject({ ingressClassName: "nginx", tls: [{ hosts: ["push.example.com"], secretName: "push-tls" }] });
    expect(ing.spec.rules[0].host).toBe("push.example.com");
    expect(ing.spec.rules[0].http.paths.map((p: any) => [p.path, p.pathType, p.backend.service.name])).toEqual([["/v1/login", "Exact", "hc"], ["/n/hc-0", "Prefix", "hc-0"], ["/n/hc-1", "Prefix", "hc-1"]]);
    expect(nodeServices(objs).map((s) => s.spec.type)).toEqual(["ClusterIP", "ClusterIP"]);
    expect(objs.some((o) => o.kind === "HTTPRoute")).toBe(false);
  });

  it("Gateway: an HTTPRoute for logins and one per node, under the given parentRefs", () => {
    const objs = objects(pc({ endpoint: { host: "push.example.com" }, expose: { type: "Gateway", gateway } }));
    const routes = objs.filter((o) => o.kind === "HTTPRoute") as any[];
    expect(routes.map((r) => [r.apiVersion, r.metadata.name])).toEqual([["gateway.networking.k8s.io/v1", "hc"], ["gateway.networking.k8s.io/v1", "hc-0"], ["gateway.networking.k8s.io/v1", "hc-1"]]);
    for (const r of routes) {
      expect(r.spec.parentRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public", namespace: "gateways", sectionName: "https" }]);
      expect(r.spec.hostnames).toEqual(["push.example.com"]);
    }
    expect(routes.map((r) => [r.spec.rules[0].matches[0].path, r.spec.rules[0].backendRefs[0]])).toEqual([
      [{ type: "Exact", value: "/v1/login" }, { name: "hc", port: 80 }],
      [{ type: "PathPrefix", value: "/n/hc-0" }, { name: "hc-0", port: 80 }],
      [{ type: "PathPrefix", value: "/n/hc-1" }, { name: "hc-1", port: 80 }],
    ]);
    expect(objs.some((o) => o.kind === "Ingress")).toBe(false);
  });

  it("LoadBalancer and NodePort: one such Service per node, with the Service settings", () => {
    const lb = nodeServices(objects(pc({ expose: { type: "LoadBalancer", service: { annotations: { "cloud.example/lb": "nlb" }, loadBalancerClass: "example.com/lb", externalTrafficPolicy: "Local" } } })));
    expect(lb.map((s) => [s.metadata.name, s.spec.type, s.spec.loadBalancerClass, s.spec.externalTrafficPolicy, s.metadata.annotations])).toEqual([
      ["hc-0", "LoadBalancer", "example.com/lb", "Local", { "cloud.example/lb": "nlb" }],
      ["hc-1", "LoadBalancer", "example.com/lb", "Local", { "cloud.example/lb": "nlb" }],
    ]);
    expect(nodeServices(objects(pc({ endpoint: { host: "nodes.example.com" }, expose: { type: "NodePort" } }))).map((s) => s.spec.type)).toEqual(["NodePort", "NodePort"]);
  });

  it("gives each node the URL of the chosen way in, or none while its address is unknown", () => {
    const svc = { spec: { clusterIP: "10.0.0.7", ports: [{ name: "http", port: 80, nodePort: 31234 }] }, status: { loadBalancer: { ingress: [{ ip: "203.0.113.9" }] } } };
    expect(nodeAddress(pc(), "hc-0", svc)).toEqual({ url: "http://10.0.0.7", path: "/socket.io" });
    expect(nodeAddress(pc({ endpoint: { host: "push.example.com", port: 8443 }, expose: { type: "Ingress" } }), "hc-0", svc)).toEqual({ url: "https://push.example.com:8443", path: "/n/hc-0/socket.io" });
    expect(nodeAddress(pc({ endpoint: { host: "push.example.com" }, expose: { type: "Gateway", gateway } }), "hc-1", svc)).toEqual({ url: "https://push.example.com", path: "/n/hc-1/socket.io" });
    expect(nodeAddress(pc({ expose: { type: "LoadBalancer" } }), "hc-0", svc)).toEqual({ url: "http://203.0.113.9", path: "/socket.io" });
    expect(nodeAddress(pc({ expose: { type: "LoadBalancer" } }), "hc-0", { ...svc, status: { loadBalancer: {} } })).toBeNull();
    expect(nodeAddress(pc({ expose: { type: "LoadBalancer" } }), "hc-0", { ...svc, status: { loadBalancer: { ingress: [{ hostname: "lb.example.net" }] } } })?.url).toBe("http://lb.example.net");
    expect(nodeAddress(pc({ endpoint: { host: "{node}.push.example.com", pathTemplate: "" }, expose: { type: "LoadBalancer" } }), "hc-0", svc)).toEqual({ url: "https://hc-0.push.example.com", path: "/socket.io" });
    expect(nodeAddress(pc({ endpoint: { host: "nodes.example.com", scheme: "http" }, expose: { type: "NodePort" } }), "hc-0", svc)).toEqual({ url: "http://nodes.example.com:31234", path: "/n/hc-0/socket.io" });
    expect(nodeAddress(pc({ endpoint: { host: "nodes.example.com" }, expose: { type: "NodePort" } }), "hc-0", { spec: { ports: [{ name: "http", port: 80 }] } })).toBeNull();
  });

  it("names each combination that cannot route", () => {
    expect(specProblems(pc({ expose: { type: "Ingress" } }))).toEqual(["spec.expose.type Ingress needs spec.endpoint.host"]);
    expect(specProblems(pc({ endpoint: { host: "{node}.example.com" }, expose: { type: "Ingress" } }))).toEqual(["spec.expose.type Ingress cannot route a host template ({node}); use spec.endpoint.pathTemplate"]);
    expect(specProblems(pc({ endpoint: { host: "push.example.com" }, expose: { type: "Gateway" } }))).toEqual(["spec.expose.type Gateway needs spec.expose.gateway.parentRefs"]);
    expect(specProblems(pc({ endpoint: { host: "push.example.com" }, expose: { type: "LoadBalancer" } }))[0]).toContain("must contain {node}");
    expect(specProblems(pc({ expose: { type: "NodePort" } }))).toEqual(["spec.expose.type NodePort needs spec.endpoint.host"]);
    expect(specProblems(pc({ expose: { type: "LoadBalancer" } }))).toEqual([]);
  });

  it("decide: the affinity document waits for a load balancer address, then carries it; routes of removed nodes go", () => {
    const p = pc({ expose: { type: "LoadBalancer" } });
    const readyPod = (i: number) => ({ metadata: { name: `hc-${i}`, labels: { "herald.dev/template-hash": "x" } }, status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }] } });
    const svc = (i: number, ip?: string) => ({ metadata: { name: `hc-${i}`, labels: { "app.kubernetes.io/component": "node-route" } }, spec: { clusterIP: `10.0.0.${i}`, type: "LoadBalancer", ports: [{ name: "http", port: 80 }] }, status: { loadBalancer: ip ? { ingress: [{ ip }] } : {} } });
    const observed = (services: any[], extra: Array<[string, any]> = []): Observed => ({
      now: Date.parse("2026-01-01T00:10:00Z"),
      live: new Map<string, any>([...services.map((s): [string, any] => [`Service/${s.metadata.name}`, s]), ...extra]),
      pods: [readyPod(0), readyPod(1)],
      affinity: { configMap: null, doc: null },
      loads: new Map([["hc-0", { sockets: 0, users: 0, state: "active" }], ["hc-1", { sockets: 0, users: 0, state: "active" }]]),
      redisError: null,
      serviceMonitorCrd: false,
      referenced: new Map(),
    });
    const waiting = decide(p, observed([svc(0, "127.9.9.250"), svc(1)]));
    expect(waiting.affinity?.nodes.map((n) => [n.id, n.url])).toEqual([["hc-0", "http://127.9.9.250"]]);
    const both = decide(p, observed([svc(0, "127.9.9.250"), svc(1, "127.9.9.249")]));
    expect(both.affinity?.nodes.map((n) => n.url)).toEqual(["http://127.9.9.250", "http://127.9.9.249"]);
    const g = pc({ replicas: 2, endpoint: { host: "push.example.com" }, expose: { type: "Gateway", gateway } });
    const stale = { metadata: { name: "hc-5", labels: { "app.kubernetes.io/component": "node-route" } } };
    expect(decide(g, observed([svc(0), svc(1)], [["HTTPRoute/hc-5", stale]])).deleteRoutes).toEqual(["hc-5"]);
  });
});
