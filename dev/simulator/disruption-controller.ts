// The disruption controller: keeps each PodDisruptionBudget's status (expected and healthy pods,
// disruptions allowed, the DisruptionAllowed condition) current as pods and budgets change, so that
// `kubectl get pdb` shows what the eviction API decides (Cluster.evict computes the same on demand).
import type { Cluster } from "./cluster.js";
import { deepEqual, nowTimestamp, type Obj } from "./objects.js";
import type { StoreEvent } from "./store.js";

const PDB_KEY = "policy/poddisruptionbudgets";

export class DisruptionController {
  private unsubscribe = () => {};
  private dirty = new Set<string>();
  private scheduled = false;

  constructor(private readonly cluster: Cluster, private readonly log: (line: string) => void) {}

  start(): void {
    this.unsubscribe = this.cluster.store.subscribe((e) => this.onEvent(e));
  }

  stop(): void {
    this.unsubscribe();
    this.dirty.clear();
  }

  private onEvent(e: StoreEvent): void {
    if (![PDB_KEY, "/pods", "apps/statefulsets", "apps/deployments"].includes(e.storageKey)) return;
    // a budget's own status write needs no other pass
    if (e.storageKey === PDB_KEY && e.previous && deepEqual(e.previous.spec, e.object.spec) && e.type === "MODIFIED") return;
    this.dirty.add(e.object.metadata.namespace);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const namespaces = [...this.dirty];
      this.dirty.clear();
      for (const ns of namespaces) this.sync(ns);
    });
  }

  private sync(namespace: string): void {
    const t = this.cluster.builtin("poddisruptionbudgets", "policy");
    for (const { pdb, status } of this.cluster.budgets(namespace)) {
      const allowed = status.disruptionsAllowed > 0;
      const before = (pdb.status?.conditions ?? []).find((c: Obj) => c.type === "DisruptionAllowed");
      const condition = {
        type: "DisruptionAllowed",
        status: allowed ? "True" : "False",
        reason: allowed ? "SufficientPods" : "InsufficientPods",
        message: "",
        observedGeneration: pdb.metadata.generation,
        lastTransitionTime: before && before.status === (allowed ? "True" : "False") ? before.lastTransitionTime : nowTimestamp(),
      };
      const next = { ...status, observedGeneration: pdb.metadata.generation, disruptedPods: pdb.status?.disruptedPods ?? {}, conditions: [condition] };
      if (deepEqual(pdb.status ?? {}, next)) continue;
      try {
        this.cluster.update(t, namespace, pdb.metadata.name, { ...pdb, status: next }, {}, "status");
      } catch (err) {
        this.log(`disruption controller: ${namespace}/${pdb.metadata.name}: ${(err as Error).message}`);
      }
    }
  }
}
