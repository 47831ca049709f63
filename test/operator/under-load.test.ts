// The operator under load, on the simulator with real push-node pods and SDK clients: scale 3 → 5 → 2 and a
// rolling image change while a business server publishes steadily. Every application must get every accepted
// message exactly once, in order, and users must move no more than the hash requires (+5 %).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOperator, startWorld, pushClusterYaml, type HeraldWorld, type OperatorProcess } from "../helpers/operator.js";
import { sdkApp, steadyPublisher, tally, type SdkApp } from "../helpers/sdk.js";
import { until } from "../helpers/ports.js";
import { assign } from "../../protocol/assign.js";

let world: HeraldWorld;
let operator: OperatorProcess;
const apps: SdkApp[] = [];
const users = Array.from({ length: 40 }, (_, i) => `load-${i}`);

// Every wait of the test has a named limit, and the test's own limit is their sum: no wait can outlive
// the test (a loaded machine makes waits long, never makes the test time out before its waits do).
const WAIT = {
  firstNodes: 90_000, // three nodes up from nothing
  converge: 90_000, // a scale or a roll reflected in the PushCluster and the affinity document
  clientsSettle: 30_000, // every SDK client on the node the document assigns it
  roll: 120_000, // every pod on the new template
  publish: 20_000, // the publisher accepts 20 more messages
  delivered: 30_000, // the last message reaches every application
};
const SETTLE = WAIT.converge + WAIT.clientsSettle;
const TEST_LIMIT = WAIT.firstNodes + 4 * SETTLE + WAIT.roll + 4 * WAIT.publish + WAIT.delivered;

const getJson = async (args: string[]) => JSON.parse(await world.kubectl([...args, "-o", "json"]));
const affinity = async () => JSON.parse((await getJson(["-n", "apps", "get", "configmap", "lc-affinity"])).data["affinity.json"]);
const serviceUrl = async (name: string, port = 80) => `http://${(await getJson(["-n", "apps", "get", "service", name])).spec.clusterIP}${port === 80 ? "" : `:${port}`}`;
const activeNodes = async () => (await affinity()).nodes.filter((n: any) => n.state === "active").map((n: any) => n.id);
const moves = (a: SdkApp) => a.nodes.filter((n, i) => i > 0 && n !== a.nodes[i - 1]).length;
/** Users whose node differs between two sets of active nodes (what rendezvous hashing must move). */
function required(from: string[], to: string[]): number {
  const doc = (ids: string[]) => ({ version: 1, nodes: ids.map((id) => ({ id, url: "http://x", path: "/socket.io", state: "active" as const })), pins: {} });
  return users.filter((u) => assign(u, doc(from), new Set(from))!.id !== assign(u, doc(to), new Set(to))!.id).length;
}
const settled = async (n: number) => {
  await until(async () => {
    const pc = await getJson(["-n", "apps", "get", "pushcluster", "lc"]);
    const ready = pc.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True";
    return ready && (await activeNodes()).length === n && pc.status.replicas === n;
  }, `${n} active nodes, Ready`, WAIT.converge, 200);
  // every user connected to the node the document assigns it
  const ids = await activeNodes();
  await Promise.all(apps.map((a) => a.until(() => a.client.state === "connected" && a.nodes.at(-1) === assign(a.user, { version: 1, nodes: ids.map((id: string) => ({ id, url: "x", path: "/", state: "active" as const })), pins: {} }, new Set(ids))!.id, "settle on its assigned node", WAIT.clientsSettle)));
};

beforeAll(async () => {
  world = await startWorld();
  operator = await startOperator(world.kubeconfig);
  await world.kubectl(["apply", "-f", "-"], pushClusterYaml("lc", world.redis.url));
}, 120_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await operator?.stop();
  await world?.stop();
});

describe("scaling and rolling under load", () => {
  it("scales 3 → 5 → 2 and rolls a new image with lost = 0, duplicated = 0, and minimal moves", async () => {
    await until(async () => (await activeNodes()).length === 3, "three active nodes", WAIT.firstNodes, 200);
    const login = await serviceUrl("lc");
    const internal = await serviceUrl("lc-internal", 8080);
    for (const u of users) apps.push(sdkApp(login, u, { deviceId: "app" }));
    await settled(3);
    const movesBefore = apps.reduce((s, a) => s + moves(a), 0);
    const pub = steadyPublisher(() => [internal], users, { intervalMs: 25 });
    await pub.advance(20, WAIT.publish);

    await world.kubectl(["-n", "apps", "scale", "pushcluster", "lc", "--replicas=5"]);
    await settled(5);
    await pub.advance(20, WAIT.publish);
    await world.kubectl(["-n", "apps", "scale", "pushcluster", "lc", "--replicas=2"]);
    await settled(2);
    await pub.advance(20, WAIT.publish);

    const movedByScaling = apps.reduce((s, a) => s + moves(a), 0) - movesBefore;
    const minimum = required(["lc-0", "lc-1", "lc-2"], ["lc-0", "lc-1", "lc-2", "lc-3", "lc-4"]) + required(["lc-0", "lc-1", "lc-2", "lc-3", "lc-4"], ["lc-0", "lc-1"]);
    expect(minimum).toBeGreaterThan(0);
    expect(movedByScaling).toBeGreaterThanOrEqual(minimum);
    expect(movedByScaling).toBeLessThanOrEqual(Math.floor(minimum * 1.05));

    // a rolling image change: each node drained, replaced, re-admitted, one at a time
    const hashes = async () => new Set((await getJson(["-n", "apps", "get", "pods", "-l", "app.kubernetes.io/instance=lc"])).items.map((p: any) => p.metadata.labels["herald.dev/template-hash"]));
    const before = await hashes();
    await world.kubectl(["-n", "apps", "patch", "pushcluster", "lc", "--type=merge", "-p", '{"spec":{"image":"ghcr.io/herald-push/herald:0.1.1"}}']);
    await until(async () => {
      const h = await hashes();
      return h.size === 1 && !before.has([...h][0]);
    }, "every pod on the new template", WAIT.roll, 250);
    await settled(2);
    await pub.advance(20, WAIT.publish);

    const accepted = await pub.stop();
    const last = accepted.at(-1)!;
    await Promise.all(apps.map((a) => a.until(() => a.seqs.includes(last), `seq ${last}`, WAIT.delivered)));
    let lost = 0, duplicated = 0, reordered = 0;
    for (const a of apps) {
      const t = tally(accepted, a.seqs);
      lost += t.lost;
      duplicated += t.duplicated;
      reordered += t.reordered;
    }
    expect({ lost, duplicated, reordered }).toEqual({ lost: 0, duplicated: 0, reordered: 0 });
    expect(apps.flatMap((a) => a.gaps)).toEqual([]);
    const events = (await getJson(["-n", "apps", "get", "events", "--field-selector", "involvedObject.name=lc"])).items.map((e: any) => e.reason);
    expect(events).toEqual(expect.arrayContaining(["Replacing", "Rolled"]));
  }, TEST_LIMIT);
});
