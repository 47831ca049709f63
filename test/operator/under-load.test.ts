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
  }, `${n} active nodes, Ready`, 90_000, 200);
  // every user connected to the node the document assigns it
  const ids = await activeNodes();
  await Promise.all(apps.map((a) => a.until(() => a.client.state === "connected" && a.nodes.at(-1) === assign(a.user, { version: 1, nodes: ids.map((id: string) => ({ id, url: "x", path: "/", state: "active" as const })), pins: {} }, new Set(ids))!.id, "settle on its assigned node", 30_000)));
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
    await until(async () => (await activeNodes()).length === 3, "three active nodes", 90_000, 200);
    const login = await serviceUrl("lc");
    const internal = await serviceUrl("lc-internal", 8080);
    for (const u of users) apps.push(sdkApp(login, u, { deviceId: "app" }));
    await settled(3);
    const movesBefore = apps.reduce((s, a) => s + moves(a), 0);
    const pub = steadyPublisher(() => [internal], users, { intervalMs: 25 });
    await pub.advance(20);

    await world.kubectl(["-n", "apps", "scale", "pushcluster", "lc", "--replicas=5"]);
    await settled(5);
    await pub.advance(20);
    await world.kubectl(["-n", "apps", "scale", "pushcluster", "lc", "--replicas=2"]);
    await settled(2);
    await pub.advance(20);

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
    }, "every pod on the new template", 120_000, 250);
    await settled(2);
    await pub.advance(20);

    const accepted = await pub.stop();
    const last = accepted.at(-1)!;
    await Promise.all(apps.map((a) => a.until(() => a.seqs.includes(last), `seq ${last}`, 30_000)));
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
  });
});
