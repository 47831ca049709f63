// The simulator's ways in from outside (pure parts): Ingress rule matching as ingress-nginx does it.
// End to end (a real client through the Ingress controller, load balancer addresses and node ports):
// test/operator/expose-e2e.test.ts.
import { describe, expect, it } from "vitest";
import { routeIngress } from "../../dev/simulator/ingress.js";

const ingress = (name: string, rules: any[], extra: any = {}) => ({ metadata: { name, namespace: "apps", creationTimestamp: `2026-01-01T00:00:0${name.length}Z`, ...extra.metadata }, spec: { rules, ...extra.spec } });
const path = (p: string, pathType: string, service: string) => ({ path: p, pathType, backend: { service: { name: service, port: { name: "http" } } } });

describe("Ingress routing", () => {
  const ings = [
    ingress("push", [{ host: "push.example.com", http: { paths: [path("/v1/login", "Exact", "login"), path("/n/hc-1", "Prefix", "hc-1"), path("/n/hc-10", "Prefix", "hc-10"), path("/", "Prefix", "web")] } }], {
      metadata: { annotations: { "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600" } },
    }),
    ingress("any", [{ http: { paths: [path("/", "Prefix", "catch-all")] } }, { host: "*.example.com", http: { paths: [path("/", "ImplementationSpecific", "wild")] } }], { spec: { defaultBackend: { service: { name: "fallback", port: { number: 8080 } } } } }),
  ];
  const to = (host: string, p: string) => routeIngress(ings, host, p)?.service;

  it("matches Exact before Prefix, whole path elements, the longest prefix first", () => {
    expect(to("push.example.com", "/v1/login")).toBe("login");
    expect(to("push.example.com", "/v1/login/x")).toBe("web");
    expect(to("push.example.com", "/n/hc-1/socket.io/")).toBe("hc-1");
    expect(to("push.example.com", "/n/hc-10/socket.io/")).toBe("hc-10");
    expect(to("push.example.com", "/n/hc-100/socket.io/")).toBe("web");
  });

  it("matches the host without its port, one wildcard label, and rules without a host for any", () => {
    expect(to("push.example.com:8443", "/n/hc-1")).toBe("hc-1");
    expect(to("a.example.com", "/x")).toBe("wild");
    expect(to("a.b.example.com", "/x")).toBe("catch-all");
    expect(to("other.test", "/")).toBe("catch-all");
  });

  it("carries the Ingress's proxy-read-timeout (60 s without one) and falls back to the default backend", () => {
    expect(routeIngress(ings, "push.example.com", "/v1/login")).toEqual({ namespace: "apps", service: "login", port: { name: "http" }, readTimeoutSeconds: 3600 });
    expect(routeIngress([ings[1]!], "x", "/")?.readTimeoutSeconds).toBe(60);
    const onlyDefault = [ingress("d", [], { spec: { defaultBackend: { service: { name: "fallback", port: { number: 8080 } } } } })];
    expect(routeIngress(onlyDefault, "x", "/anything")).toMatchObject({ service: "fallback", port: { number: 8080 } });
    expect(routeIngress([ings[0]!], "elsewhere.test", "/")).toBeNull();
  });
});
