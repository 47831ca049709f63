// The simulator's ways in from outside: load balancer addresses and node ports that proxy to the pods,
// Ingresses served by its controller (kubectl), and Ingress rule matching as ingress-nginx does it. End to end (a real client through the Ingress controller, load balancer addresses and node ports):
// test/operator/expose-e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { routeIngress } from "../../dev/simulator/ingress.js";
import { kubectl, waitFor } from "./helpers.js";

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

describe("load balancers, node ports and Ingresses with kubectl", () => {
  let sim: Simulator;
  const k = (args: string[], stdin?: string) => kubectl(sim.kubeconfigPath, args, stdin);
  const json = async (args: string[]) => JSON.parse((await k([...args, "-o", "json"])).stdout);
  const server = `require("http").createServer((q, s) => s.end("hello from " + process.env.HOSTNAME + " " + q.url)).listen(8080, process.env.POD_IP)`;

  beforeAll(async () => {
    sim = await startSimulator();
    const applied = await k(["apply", "-f", "-"], `apiVersion: v1
kind: Pod
metadata: {name: echo, labels: {app: echo}}
spec:
  containers:
  - name: c
    image: node:20
    command: [node, -e, ${JSON.stringify(server)}]
    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: echo-lb}
spec:
  type: LoadBalancer
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: http}]
`);
    expect(applied.stderr).toBe("");
    await k(["wait", "--for=condition=Ready", "pod/echo", "--timeout=30s"]);
  }, 60_000);

  afterAll(async () => {
    await sim?.stop();
  });

  it("gives a LoadBalancer Service an address and a node port, both reaching the pod", async () => {
    const svc = await json(["get", "service", "echo-lb"]);
    const ip = svc.status.loadBalancer.ingress[0].ip;
    const nodePort = svc.spec.ports[0].nodePort;
    expect(ip.startsWith(`${sim.network.servicePrefix}.`)).toBe(true);
    expect(ip).not.toBe(svc.spec.clusterIP);
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect(nodePort).toBeLessThanOrEqual(32767);
    const row = (await k(["get", "service", "echo-lb"])).stdout.split("\n")[1]!;
    expect(row.split(/\s+/).slice(0, 5)).toEqual(["echo-lb", "LoadBalancer", svc.spec.clusterIP, ip, `80:${nodePort}/TCP`]);
    const via = async (url: string) => waitFor(url, async () => (await fetch(url)).text());
    expect(await via(`http://${ip}/lb`)).toBe("hello from echo /lb");
    expect(await via(`http://127.0.0.1:${nodePort}/np`)).toBe("hello from echo /np");
  });

  it("keeps a node port across updates and refuses one already taken or out of range", async () => {
    const before = (await json(["get", "service", "echo-lb"])).spec.ports[0].nodePort;
    expect((await k(["patch", "service", "echo-lb", "--type=merge", "-p", '{"spec":{"ports":[{"name":"http","port":80,"targetPort":"http"}]}}'])).code).toBe(0);
    expect((await json(["get", "service", "echo-lb"])).spec.ports[0].nodePort).toBe(before);
    const nodePortService = (name: string, nodePort: number) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  type: NodePort\n  selector: {app: echo}\n  ports: [{port: 81, targetPort: 8080, nodePort: ${nodePort}}]\n`;
    const taken = await k(["apply", "-f", "-"], nodePortService("other", before));
    expect(taken.stderr).toContain(`spec.ports[0].nodePort: Invalid value: ${before}: provided port is already allocated`);
    const outside = await k(["apply", "-f", "-"], nodePortService("far", 8080));
    expect(outside.stderr).toContain("provided port is not in the valid range. The range of valid ports is 30000-32767");
    // back to ClusterIP: the node port and the load balancer address go
    expect((await k(["patch", "service", "echo-lb", "--type=merge", "-p", '{"spec":{"type":"ClusterIP"}}'])).code).toBe(0);
    const plain = await json(["get", "service", "echo-lb"]);
    expect(plain.spec.ports[0].nodePort).toBeUndefined();
    expect(plain.status.loadBalancer).toEqual({});
  });

  it("serves an Ingress at its controller's address, by host and path, and says so in its status", async () => {
    const applied = await k(["apply", "-f", "-"], `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: echo}
spec:
  ingressClassName: nginx
  rules:
  - host: localhost
    http:
      paths: [{path: /echo, pathType: Prefix, backend: {service: {name: echo, port: {name: http}}}}]
`);
    expect(applied.stderr).toBe("");
    const { ip, port } = sim.ingress.address;
    const row = await waitFor("the Ingress address", async () => {
      const r = (await k(["get", "ingress", "echo"])).stdout.split("\n")[1]!;
      return r.includes(ip) && r;
    });
    expect(row.split(/\s+/).slice(0, 5)).toEqual(["echo", "nginx", "localhost", ip, "80"]);
    expect(await (await fetch(`http://localhost:${port}/echo/a?b=1`)).text()).toBe("hello from echo /echo/a?b=1");
    const miss = await fetch(`http://localhost:${port}/other`);
    expect([miss.status, await miss.text()]).toEqual([404, "default backend - 404\n"]);
  });
});
