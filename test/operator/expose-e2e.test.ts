// spec.expose end to end on the simulator, with the operator under deploy/rbac.yaml's grants: a
// message reaches a real Socket.IO client through the simulator's Ingress controller (WebSocket
// upgrade and long polling), through each node's LoadBalancer address and through a node port, with
// the affinity document's URLs pointing there; HTTPRoutes pass the Gateway API CRD's schema. The
// namespace enforces PodSecurity "restricted", so every push-node pod here passes it; an image that
// does not exist shows in the status.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io } from "socket.io-client";
import { startOperator, startWorld, pushClusterYaml, kubectl, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { connect, loginTicket, publish, type TestClient } from "../helpers/client.js";
import { until } from "../helpers/ports.js";
import { ROOT } from "../helpers/push-node.js";
import { fixture } from "../simulator/helpers.js";

let world: HeraldWorld;
let operator: OperatorProcess;
const open: TestClient[] = [];

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const affinity = async (pc: string) => JSON.parse((await getJson(["-n", "apps", "get", "configmap", `${pc}-affinity`])).data["affinity.json"]);
const clusterIp = async (name: string) => (await getJson(["-n", "apps", "get", "service", name])).spec.clusterIP as string;
const ready = (pc: string, timeoutMs = 90_000) =>
  until(async () => (await getJson(["-n", "apps", "get", "pushcluster", pc])).status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True", `${pc} Ready`, timeoutMs, 250);
const remove = async (pc: string) => {
  for (const c of open.splice(0)) c.close();
  await world.kubectl(["-n", "apps", "delete", "pushcluster", pc, "--wait=false"]);
};

/** Logs users in at `loginUrl`, connects each to the node it was given, publishes to all, and returns what each received. */
async function roundTrip(pc: string, loginUrl: string, users: string[]) {
  const logins = [];
  const clients: TestClient[] = [];
  for (const u of users) {
    const l = await loginTicket(loginUrl, u);
    logins.push(l);
    clients.push(await connect(l));
  }
  open.push(...clients);
  const r = await publish(`http://${await clusterIp(`${pc}-internal`)}:8080`, { to: users, data: `to ${pc}` });
  expect(r.status).toBe(202);
  const got = await Promise.all(clients.map(async (c) => (await c.waitFor(1))[0].data));
  return { logins, got };
}

beforeAll(async () => {
  world = await startWorld({ rbac: true });
  await world.kubectl(["apply", "-f", join(ROOT, "deploy/serviceaccount.yaml"), "-f", join(ROOT, "deploy/rbac.yaml")]);
  await world.kubectl(["apply", "-f", fixture("gateway-httproute-crd.yaml")]);
  // every push-node pod below must pass PodSecurity's restricted level, which the simulator enforces
  await world.kubectl(["label", "namespace", "apps", "pod-security.kubernetes.io/enforce=restricted"]);
  const kc = world.sim.writeKubeconfig({ serviceAccount: { namespace: "herald-system", name: "herald-operator" } });
  operator = await startOperator(kc);
}, 120_000);

afterAll(async () => {
  for (const c of open) c.close();
  await operator?.stop();
  await world?.stop();
});

describe("spec.expose on the simulator", () => {
  it("Ingress: logins and each node's path go through the Ingress controller, WebSocket and polling alike", async () => {
    const { ip, port } = world.sim.ingress.address;
    await world.kubectl(["apply", "-f", "-"], pushClusterYaml("ix", world.redis.url, `  endpoint: {host: localhost, scheme: http, port: ${port}}\n  expose: {type: Ingress, ingress: {className: nginx}}\n`).replace("replicas: 3", "replicas: 2"));
    await ready("ix");
    const ing = await getJson(["-n", "apps", "get", "ingress", "ix"]);
    expect(ing.metadata.annotations).toMatchObject({ "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600", "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600" });
    expect(ing.spec.rules[0].http.paths.map((p: any) => p.path)).toEqual(["/v1/login", "/n/ix-0", "/n/ix-1"]);
    expect(ing.status.loadBalancer.ingress).toEqual([{ ip, ports: [{ port, protocol: "TCP" }] }]);
    const doc = await affinity("ix");
    expect(doc.nodes.map((n: any) => [n.id, n.url, n.path])).toEqual([
      ["ix-0", `http://localhost:${port}`, "/n/ix-0/socket.io"],
      ["ix-1", `http://localhost:${port}`, "/n/ix-1/socket.io"],
    ]);
    // The login goes through the Ingress too; each token is bound to its node, so a path routed to the
    // wrong node would be refused at the handshake.
    const users = ["ann", "ben", "cid", "dee", "eve", "fay"];
    const { logins, got } = await roundTrip("ix", `http://localhost:${port}`, users);
    expect(new Set(logins.map((l) => l.node.id))).toEqual(new Set(["ix-0", "ix-1"]));
    expect(got).toEqual(users.map(() => "to ix"));
    // Long polling first, then the upgrade, as a browser SDK connects by default.
    const l = await loginTicket(`http://localhost:${port}`, "gus");
    const socket = io(l.node.url, { path: l.node.path, auth: { token: l.token }, reconnection: false, forceNew: true, autoConnect: false });
    const transports: string[] = [];
    socket.io.on("open", () => {
      transports.push(socket.io.engine.transport.name);
      socket.io.engine.on("upgrade", (t: { name: string }) => transports.push(t.name));
    });
    try {
      const message = new Promise<any>((resolve) => socket.on("message", resolve));
      socket.connect();
      await new Promise<void>((resolve, reject) => (socket.once("connect", resolve), socket.once("connect_error", reject)));
      await publish(`http://${await clusterIp("ix-internal")}:8080`, { to: ["gus"], data: "polled" });
      expect((await message).data).toBe("polled");
      await until(() => transports.length === 2, "the upgrade to WebSocket through the Ingress", 10_000);
      expect(transports).toEqual(["polling", "websocket"]);
    } finally {
      socket.close();
    }
    // Changed to another type, the Ingress goes (with an event) and the status follows.
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "ix", "--type=merge", "-p", '{"spec":{"expose":{"type":"ClusterIP"}}}']);
    await until(async () => (await getJson(["-n", "apps", "get", "ingresses"])).items.length === 0, "ix's Ingress removed", 60_000, 250);
    await until(async () => (await getJson(["-n", "apps", "get", "pushcluster", "ix"])).status?.exposedAs === "ClusterIP", "status.exposedAs ClusterIP", 30_000, 250);
    const changed = (await getJson(["-n", "apps", "get", "events", "--field-selector", "involvedObject.name=ix"])).items.filter((e: any) => e.reason === "ExposeChanged");
    expect(changed.map((e: any) => e.message)).toEqual(["spec.expose.type is ClusterIP: removing Ingress ix"]);
    await remove("ix");
  }, 180_000);

  it("LoadBalancer: one load balancer address per node, in the affinity document, delivering", async () => {
    await world.kubectl(["apply", "-f", "-"], pushClusterYaml("lbx", world.redis.url, "  expose: {type: LoadBalancer}\n").replace("replicas: 3", "replicas: 2"));
    await ready("lbx");
    const doc = await affinity("lbx");
    for (const n of doc.nodes) {
      const svc = await getJson(["-n", "apps", "get", "service", n.id]);
      expect(svc.spec.type).toBe("LoadBalancer");
      const lb = svc.status.loadBalancer.ingress[0].ip;
      expect(lb).not.toBe(svc.spec.clusterIP);
      expect(n.url).toBe(`http://${lb}`);
    }
    const users = ["hal", "ida", "jon", "kim", "lou", "max", "ned", "oli"];
    const { logins, got } = await roundTrip("lbx", `http://${await clusterIp("lbx")}`, users);
    expect(new Set(logins.map((l) => l.node.url))).toEqual(new Set(doc.nodes.map((n: any) => n.url)));
    expect(got).toEqual(users.map(() => "to lbx"));
    await remove("lbx");
  }, 180_000);

  it("NodePort: each node's port on the nodes' address", async () => {
    await world.kubectl(["apply", "-f", "-"], pushClusterYaml("npx", world.redis.url, "  endpoint: {host: 127.0.0.1, scheme: http, pathTemplate: \"\"}\n  expose: {type: NodePort}\n").replace("replicas: 3", "replicas: 1"));
    await ready("npx");
    const svc = await getJson(["-n", "apps", "get", "service", "npx-0"]);
    const nodePort = svc.spec.ports[0].nodePort;
    expect(svc.spec.type).toBe("NodePort");
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    expect((await affinity("npx")).nodes.map((n: any) => n.url)).toEqual([`http://127.0.0.1:${nodePort}`]);
    const { got } = await roundTrip("npx", `http://${await clusterIp("npx")}`, ["lee"]);
    expect(got).toEqual(["to npx"]);
    await remove("npx");
  }, 180_000);

  it("Gateway: HTTPRoutes for logins and each node, accepted by the Gateway API's schema", async () => {
    await world.kubectl(["apply", "-f", "-"], pushClusterYaml("gw", world.redis.url, "  endpoint: {host: push.example.com}\n  expose: {type: Gateway, gateway: {parentRefs: [{name: public, namespace: gateways, sectionName: https}]}}\n").replace("replicas: 3", "replicas: 2"));
    const routes = await until(async () => {
      const items = (await getJson(["-n", "apps", "get", "httproutes"])).items;
      return items.length === 3 ? items : null;
    }, "three HTTPRoutes", 60_000, 250);
    expect(routes.map((r: any) => [r.metadata.name, r.spec.rules[0].matches[0].path.value, r.spec.rules[0].backendRefs[0]])).toEqual([
      ["gw", "/v1/login", { group: "", kind: "Service", name: "gw", port: 80, weight: 1 }],
      ["gw-0", "/n/gw-0", { group: "", kind: "Service", name: "gw-0", port: 80, weight: 1 }],
      ["gw-1", "/n/gw-1", { group: "", kind: "Service", name: "gw-1", port: 80, weight: 1 }],
    ]);
    for (const r of routes) {
      expect(r.spec.parentRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public", namespace: "gateways", sectionName: "https" }]);
      expect(r.metadata.ownerReferences[0]).toMatchObject({ kind: "PushCluster", name: "gw" });
    }
    await ready("gw");
    expect((await affinity("gw")).nodes.map((n: any) => [n.url, n.path])).toEqual([
      ["https://push.example.com", "/n/gw-0/socket.io"],
      ["https://push.example.com", "/n/gw-1/socket.io"],
    ]);
    // The fixture CRD checks what the real one checks: a Service backend without a port is refused.
    const bad = await kubectl(world.kubeconfig, ["-n", "apps", "apply", "-f", "-"], "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bad}\nspec:\n  rules: [{backendRefs: [{name: gw}]}]\n");
    expect(bad.stderr).toContain("Must have port for Service reference");
    // Scaled down, the route of the removed node goes with its Service.
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "gw", "--type=merge", "-p", '{"spec":{"replicas":1}}']);
    await until(async () => (await getJson(["-n", "apps", "get", "httproutes"])).items.map((r: any) => r.metadata.name).join() === "gw,gw-0", "gw-1's route removed", 90_000, 250);
    // Changed to another type, every route goes.
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "gw", "--type=merge", "-p", '{"spec":{"expose":{"type":"ClusterIP"}}}']);
    await until(async () => (await getJson(["-n", "apps", "get", "httproutes"])).items.length === 0, "gw's HTTPRoutes removed", 60_000, 250);
    await until(async () => (await getJson(["-n", "apps", "get", "pushcluster", "gw"])).status?.exposedAs === "ClusterIP", "status.exposedAs ClusterIP", 30_000, 250);
    await remove("gw");
  }, 240_000);

  it("a push-node image that does not exist: ImagePullBackOff named in the Ready condition at once", async () => {
    await world.kubectl(["apply", "-f", "-"], pushClusterYaml("typo", world.redis.url, "  image: ghcr.io/herald-push/herlad:0.1.0\n").replace("replicas: 3", "replicas: 1"));
    const ready = await until(async () => {
      const c = (await getJson(["-n", "apps", "get", "pushcluster", "typo"])).status?.conditions?.find((x: any) => x.type === "Ready");
      return c?.message?.includes("ImagePullBackOff") ? c : null;
    }, "ImagePullBackOff in the Ready condition", 60_000, 250);
    expect(ready).toMatchObject({ status: "False", reason: "WaitingForPods" });
    expect(ready.message).toContain('typo-0: ImagePullBackOff (Back-off pulling image "ghcr.io/herald-push/herlad:0.1.0")');
    await remove("typo");
  }, 120_000);
});
