// What a reconcile reads, from watches instead of GETs: the PushClusters, every object the operator
// owns (label app.kubernetes.io/managed-by=herald-operator), and, watched one by one by name, the
// Secrets and ConfigMaps the pods read. Writes go to the API server and their answers into the cache
// (KubeRest.afterWrite), so the next pass sees its own writes even before the watch brings them.
import type { Logger } from "pino";
import type { KubeRest } from "../../common/kube/client.js";
import { Informer } from "../../common/kube/informer.js";
import { GROUP, PLURAL, VERSION } from "../types.js";

export const MANAGED_BY = "app.kubernetes.io/managed-by=herald-operator";

/**
 * The owned kinds that are cached, with their API group-version and plural. The optional ones (an
 * Ingress, a ServiceMonitor) are read with a GET, and only when the spec asks for them: their API may
 * not be served at all, and a watch on it would fail for ever.
 */
export const OWNED: Record<string, { apiVersion: string; plural: string }> = {
  StatefulSet: { apiVersion: "apps/v1", plural: "statefulsets" },
  Pod: { apiVersion: "v1", plural: "pods" },
  ConfigMap: { apiVersion: "v1", plural: "configmaps" },
  Service: { apiVersion: "v1", plural: "services" },
  ServiceAccount: { apiVersion: "v1", plural: "serviceaccounts" },
  Role: { apiVersion: "rbac.authorization.k8s.io/v1", plural: "roles" },
  RoleBinding: { apiVersion: "rbac.authorization.k8s.io/v1", plural: "rolebindings" },
  PodDisruptionBudget: { apiVersion: "policy/v1", plural: "poddisruptionbudgets" },
};

const collection = (apiVersion: string, plural: string, namespace: string) => `${apiVersion.includes("/") ? "/apis" : "/api"}/${apiVersion}${namespace ? `/namespaces/${namespace}` : ""}/${plural}`;

/** "Secret/name" or "ConfigMap/name" in a namespace, as referencedConfig() names them. */
type RefKey = string;
interface Named {
  informer: Informer;
  /** The PushClusters ("namespace/name") that refer to it. */
  users: Set<string>;
}

export interface KubeCacheOptions {
  /** Watch one namespace ("" for all). */
  namespace: string;
  log: Logger;
  /** A PushCluster ("namespace/name") whose world changed: reconcile it. */
  changed: (cluster: string) => void;
  /** A PushCluster itself was added, changed or deleted (before changed() for it). */
  pushClusterEvent?: (type: "ADDED" | "MODIFIED" | "DELETED", obj: any) => void;
  /** How long a reconcile waits for a new by-name watch to list its object (10 s). */
  syncTimeoutMs?: number;
}

export class KubeCache {
  readonly pushClusters: Informer;
  private readonly owned = new Map<string, Informer>();
  private readonly named = new Map<string, Named>();
  private readonly refsOf = new Map<string, Set<string>>();

  constructor(private readonly rest: KubeRest, private readonly o: KubeCacheOptions) {
    this.pushClusters = new Informer(rest, {
      path: collection(`${GROUP}/${VERSION}`, PLURAL, o.namespace),
      log: o.log,
      onEvent: (type, obj) => {
        o.pushClusterEvent?.(type, obj);
        o.changed(`${obj.metadata.namespace}/${obj.metadata.name}`);
      },
    });
    for (const [kind, { apiVersion, plural }] of Object.entries(OWNED)) {
      this.owned.set(
        kind,
        new Informer(rest, {
          path: collection(apiVersion, plural, o.namespace),
          labelSelector: MANAGED_BY,
          log: o.log,
          onEvent: (_type, obj) => {
            const instance = obj?.metadata?.labels?.["app.kubernetes.io/instance"];
            if (instance) o.changed(`${obj.metadata.namespace}/${instance}`);
          },
        }),
      );
    }
  }

  /** Starts every watch; resolves once each has listed (reads before would see empty stores). */
  async start(): Promise<void> {
    const all = [this.pushClusters, ...this.owned.values()];
    for (const i of all) i.start();
    await Promise.all(all.map((i) => i.synced));
  }

  stop(): void {
    this.pushClusters.stop();
    for (const i of this.owned.values()) i.stop();
    for (const n of this.named.values()) n.informer.stop();
    this.named.clear();
  }

  pushCluster(namespace: string, name: string): any | undefined {
    return this.pushClusters.get(namespace, name);
  }

  get(kind: string, namespace: string, name: string): any | undefined {
    return this.informer(kind).get(namespace, name);
  }

  list(kind: string, namespace: string, labels: Record<string, string>): any[] {
    return this.informer(kind).cached(namespace, labels);
  }

  private informer(kind: string): Informer {
    const i = this.owned.get(kind);
    if (!i) throw new Error(`kind ${kind} is not cached`);
    return i;
  }

  /**
   * The contents of the Secrets and ConfigMaps one PushCluster's pods read ("Secret/name" → data, null
   * when it does not exist), each watched by name (fieldSelector metadata.name) for as long as some
   * PushCluster refers to it. A change of one reconciles every PushCluster that refers to it.
   */
  async referenced(cluster: string, namespace: string, keys: RefKey[]): Promise<Map<RefKey, Record<string, string> | null>> {
    this.setRefs(cluster, namespace, keys);
    const out = new Map<RefKey, Record<string, string> | null>();
    for (const key of keys) {
      const n = this.named.get(`${namespace}/${key}`)!;
      await this.synced(n.informer, `${key} in ${namespace}`);
      const name = key.slice(key.indexOf("/") + 1);
      const obj = n.informer.get(namespace, name);
      out.set(key, obj ? { ...(obj.data ?? {}), ...(obj.binaryData ?? {}) } : null);
    }
    return out;
  }

  /** The object itself, from a by-name watch that referenced() started (undefined: not watched or absent). */
  namedObject(namespace: string, key: RefKey): any | undefined {
    return this.named.get(`${namespace}/${key}`)?.informer.get(namespace, key.slice(key.indexOf("/") + 1));
  }

  /** A PushCluster refers to nothing any more (it is gone): its by-name watches stop unless another refers to them. */
  release(cluster: string): void {
    this.setRefs(cluster, "", []);
  }

  /** How many by-name watches run (for tests and metrics). */
  get namedWatches(): number {
    return this.named.size;
  }

  private setRefs(cluster: string, namespace: string, keys: RefKey[]): void {
    const want = new Set(keys.map((k) => `${namespace}/${k}`));
    for (const id of this.refsOf.get(cluster) ?? []) {
      if (want.has(id)) continue;
      const n = this.named.get(id);
      if (!n) continue;
      n.users.delete(cluster);
      if (!n.users.size) {
        n.informer.stop();
        this.named.delete(id);
      }
    }
    this.refsOf.set(cluster, want);
    if (!want.size) this.refsOf.delete(cluster);
    for (const id of want) {
      let n = this.named.get(id);
      if (!n) {
        const [ns, kind, name] = id.split("/") as [string, string, string];
        const users = new Set<string>();
        const informer = new Informer(this.rest, {
          path: collection("v1", kind === "Secret" ? "secrets" : "configmaps", ns),
          fieldSelector: `metadata.name=${name}`,
          log: this.o.log,
          onEvent: () => {
            for (const c of users) this.o.changed(c);
          },
        });
        n = { informer: informer.start(), users };
        this.named.set(id, n);
      }
      n.users.add(cluster);
    }
  }

  private synced(i: Informer, what: string): Promise<void> {
    if (i.isSynced) return Promise.resolve();
    const ms = this.o.syncTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout;
    return Promise.race([
      i.synced.finally(() => clearTimeout(timer)),
      new Promise<void>((_, reject) => (timer = setTimeout(() => reject(new Error(`could not list ${what} within ${ms} ms (RBAC? see the operator's log)`)), ms))),
    ]);
  }

  /** An object the API server returned for a write, into the cache that holds its kind. */
  remember(obj: any): void {
    const kind = obj?.kind;
    if (!kind || !obj.metadata?.name) return;
    if (kind === "PushCluster") return this.pushClusters.remember(obj);
    if (kind === "Secret" || kind === "ConfigMap") {
      const n = this.named.get(`${obj.metadata.namespace}/${kind}/${obj.metadata.name}`);
      if (n) n.informer.remember(obj);
      if (kind === "Secret") return;
    }
    if (obj.metadata.labels?.["app.kubernetes.io/managed-by"] === "herald-operator") this.owned.get(kind)?.remember(obj);
  }
}
