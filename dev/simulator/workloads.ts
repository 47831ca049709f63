// The StatefulSet and Deployment controllers: turn workloads into pods following the plans of
// workload-plans.ts, and keep the workloads' status current.
import type { Cluster } from "./cluster.js";
import { recordEvent } from "./events.js";
import { clone, randomSuffix, type Obj } from "./objects.js";
import type { StoreEvent } from "./store.js";
import { deploymentPlan, statefulSetPlan, templateHash, workloadStatus } from "./workload-plans.js";

type Kind = "StatefulSet" | "Deployment";
const STORAGE: Record<Kind, string> = { StatefulSet: "apps/statefulsets", Deployment: "apps/deployments" };

export class WorkloadControllers {
  private unsubscribe = () => {};
  private dirty = new Set<string>();
  private scheduled = false;
  private stopped = false;

  constructor(private readonly cluster: Cluster, private readonly log: (line: string) => void) {}

  start(): void {
    this.unsubscribe = this.cluster.store.subscribe((e) => this.onEvent(e));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  private onEvent(e: StoreEvent): void {
    const ns = e.object.metadata.namespace;
    if (e.storageKey === STORAGE.StatefulSet && e.type !== "DELETED") this.mark("StatefulSet", ns, e.object.metadata.name);
    if (e.storageKey === STORAGE.Deployment && e.type !== "DELETED") this.mark("Deployment", ns, e.object.metadata.name);
    if (e.storageKey === "/pods") {
      for (const ref of [...(e.object.metadata.ownerReferences ?? []), ...(e.previous?.metadata?.ownerReferences ?? [])]) {
        if (ref.controller && (ref.kind === "StatefulSet" || ref.kind === "Deployment") && ref.apiVersion === "apps/v1") this.mark(ref.kind, ns, ref.name);
      }
    }
  }

  private mark(kind: Kind, ns: string, name: string): void {
    this.dirty.add(JSON.stringify([kind, ns, name]));
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const work = [...this.dirty];
      this.dirty.clear();
      for (const item of work) {
        if (this.stopped) return;
        const [k, n, nm] = JSON.parse(item) as [Kind, string, string];
        try {
          this.reconcile(k, n, nm);
        } catch (err) {
          // As the real controllers do, try again later (a missing ServiceAccount may appear, ...).
          this.log(`${k} ${n}/${nm}: ${(err as Error).message}; retrying in 1 s`);
          const retry = setTimeout(() => this.mark(k, n, nm), 1000);
          retry.unref();
        }
      }
    });
  }

  private reconcile(kind: Kind, ns: string, name: string): void {
    const type = this.cluster.builtin(kind === "StatefulSet" ? "statefulsets" : "deployments", "apps");
    const workload = this.cluster.tryGet(type, ns, name);
    if (!workload || workload.metadata.deletionTimestamp) return;
    const podType = this.cluster.builtin("pods");
    const pods = this.cluster.store.list("/pods", ns).filter((p) => (p.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === workload.metadata.uid && r.controller));
    const plan = kind === "StatefulSet" ? statefulSetPlan(workload, pods) : deploymentPlan(workload, pods);
    const source = { component: kind === "StatefulSet" ? "statefulset-controller" : "deployment-controller" };
    for (const podName of plan.delete) {
      try {
        this.cluster.delete(podType, ns, podName);
        recordEvent(this.cluster, workload, "Normal", "SuccessfulDelete", `delete Pod ${podName} in ${kind} ${name} successful`, source);
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
    for (const ordinal of plan.create) {
      const pod = this.podFor(kind, workload, ordinal);
      try {
        this.cluster.create(podType, ns, pod);
      } catch (err) {
        recordEvent(this.cluster, workload, "Warning", "FailedCreate", `create Pod ${pod.metadata.name} in ${kind} ${name} failed error: ${(err as Error).message}`, source);
        throw err;
      }
      recordEvent(this.cluster, workload, "Normal", "SuccessfulCreate", `create Pod ${pod.metadata.name} in ${kind} ${name} successful`, source);
    }
    const status = workloadStatus(kind, workload, this.cluster.store.list("/pods", ns).filter((p) => (p.metadata.ownerReferences ?? []).some((r: Obj) => r.uid === workload.metadata.uid)));
    if (kind === "StatefulSet" || kind === "Deployment") {
      const selector = workload.spec?.selector?.matchLabels ? Object.entries(workload.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(",") : undefined;
      if (selector) status.selector = selector;
    }
    this.cluster.update(type, ns, name, { ...workload, status }, {}, "status");
  }

  private podFor(kind: Kind, w: Obj, ordinal: number): Obj {
    const template = clone(w.spec.template ?? {});
    const hash = templateHash(w);
    const labels: Record<string, string> = { ...(template.metadata?.labels ?? {}) };
    const spec = template.spec ?? {};
    let name: string;
    if (kind === "StatefulSet") {
      name = `${w.metadata.name}-${ordinal}`;
      labels["controller-revision-hash"] = hash;
      labels["statefulset.kubernetes.io/pod-name"] = name;
      labels["apps.kubernetes.io/pod-index"] = String(ordinal);
      spec.hostname ??= name;
      if (w.spec.serviceName) spec.subdomain ??= w.spec.serviceName;
    } else {
      name = `${w.metadata.name}-${hash.slice(0, 9)}-${randomSuffix()}`;
      labels["pod-template-hash"] = hash;
    }
    return {
      metadata: {
        name,
        namespace: w.metadata.namespace,
        labels,
        annotations: template.metadata?.annotations ?? {},
        ownerReferences: [{ apiVersion: "apps/v1", kind, name: w.metadata.name, uid: w.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      spec,
    };
  }
}
