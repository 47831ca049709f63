// The one Kubernetes client's cache (common/kube/informer.ts) against the API simulator over HTTPS:
// it lists then watches, keeps watching after a cut, relists after 410 and after any other error (where
// client-node's makeInformer would stop), reports what changed while it was down, and never lets an
// older version replace a newer one it was given by a write.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import pino from "pino";
import { startSimulator, type Simulator } from "../../dev/simulator/index.js";
import { KubeRest } from "../../common/kube/client.js";
import { Informer, notOlder } from "../../common/kube/informer.js";
import { waitFor } from "../simulator/helpers.js";

let sim: Simulator;
let rest: KubeRest;
let informer: Informer | null = null;
const log = pino({ level: "silent" });
const path = "/api/v1/namespaces/default/configmaps";
const create = (name: string, labels: Record<string, string> = {}) => rest.request("POST", path, { body: { apiVersion: "v1", kind: "ConfigMap", metadata: { name, labels }, data: { k: "v" } } });

beforeEach(async () => {
  sim = await startSimulator({ kubelet: false });
  process.env.KUBECONFIG = sim.kubeconfigPath;
  rest = KubeRest.fromDefault();
});

afterEach(async () => {
  informer?.stop();
  informer = null;
  await sim.stop();
});

describe("Informer", () => {
  it("serves reads from its store after the first list, and follows the watch", async () => {
    await create("a", { app: "x" });
    await create("other", { app: "y" });
    const events: string[] = [];
    informer = new Informer(rest, { path, labelSelector: "app=x", log, onEvent: (t, o) => events.push(`${t} ${o.metadata.name}`) }).start();
    await informer.synced;
    expect(informer.cached().map((o) => o.metadata.name)).toEqual(["a"]);
    await waitFor("a watch", () => sim.faults.openWatches === 1);
    const listsBefore = sim.audit.find({ verb: "list", resource: "configmaps" }).length;
    await create("b", { app: "x" });
    await waitFor("b in the store", () => informer!.get("default", "b") !== undefined);
    await rest.request("DELETE", `${path}/a`);
    await waitFor("a gone", () => informer!.get("default", "a") === undefined);
    expect(informer.cached("default", { app: "x" }).map((o) => o.metadata.name)).toEqual(["b"]);
    expect(events).toEqual(["ADDED a", "ADDED b", "DELETED a"]);
    // reads are from the store: no request
    expect(sim.audit.find({ verb: "list", resource: "configmaps" }).length).toBe(listsBefore);
  });

  it("resumes a cut watch, relists after 410 and after another error, and reports what changed meanwhile", async () => {
    await create("a");
    const events: string[] = [];
    informer = new Informer(rest, { path, log, onEvent: (t, o) => events.push(`${t} ${o.metadata.name}`) }).start();
    await informer.synced;
    await waitFor("a watch", () => sim.faults.openWatches === 1);
    // a cut: resumed from the last resourceVersion, nothing lost
    sim.faults.cutWatches({ resource: "configmaps" });
    await create("b");
    await waitFor("b after the cut", () => informer!.get("default", "b") !== undefined);
    // a 500 on the next watch and list: retried with backoff (makeInformer would stop here)
    sim.faults.add({ verb: "watch", resource: "configmaps", status: 500, reason: "InternalError", message: "boom", count: 1 });
    sim.faults.add({ verb: "list", resource: "configmaps", status: 500, reason: "InternalError", message: "boom", count: 1 });
    sim.faults.cutWatches({ resource: "configmaps" });
    await waitFor("watching again after the errors", () => sim.faults.openWatches === 1 && sim.audit.find({ verb: "list", resource: "configmaps" }).some((e) => e.code === 500) && sim.audit.find({ verb: "list", resource: "configmaps" }).at(-1)!.code === 200);
    // while the watch is down, a delete and a create, and the history compacted: 410, a relist reports both
    sim.faults.add({ verb: "watch", resource: "configmaps", status: 410, reason: "Expired", message: "too old resource version", count: 1 });
    sim.faults.cutWatches({ resource: "configmaps" });
    await rest.request("DELETE", `${path}/a`);
    await create("c");
    await waitFor("the relist to converge", () => informer!.cached().map((o) => o.metadata.name).sort().join() === "b,c" && sim.faults.openWatches === 1);
    expect(events).toContain("DELETED a");
    expect(events).toContain("ADDED c");
    expect(events.filter((e) => e === "ADDED b")).toHaveLength(1);
  });

  it("keeps the newer of a written object and an older event", async () => {
    const first = await create("a");
    informer = new Informer(rest, { path, log }).start();
    await informer.synced;
    const updated = await rest.request("PATCH", `${path}/a`, { body: { data: { k: "w" } }, contentType: "application/merge-patch+json" });
    informer.remember(updated);
    informer.remember(first); // an older version arriving late
    expect(informer.get("default", "a").data.k).toBe("w");
    expect(notOlder(updated, first)).toBe(true);
    expect(notOlder(first, updated)).toBe(false);
    expect(notOlder({ metadata: { resourceVersion: "opaque-x" } }, updated)).toBe(true);
  });
});
