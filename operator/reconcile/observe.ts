// Step 1 of a reconcile: read the world a PushCluster's decisions depend on. Reads only; no decision.
import { parseAffinityDocument, type AffinityDocument } from "../../protocol/affinity-document.js";
import { exposeType, keyPrefix, names, referencedConfig, selectorString } from "../desired.js";
import { readLoads, type RedisPool } from "../redis-ops.js";
import type { NodeLoad } from "../scaling.js";
import type { PushCluster } from "../types.js";
import { apiPath, type KubeRest } from "../kube/rest.js";

export interface Observed {
  now: number;
  /** Every owned object that exists, by "Kind/name" (Services of the cluster from one list). */
  live: Map<string, any>;
  pods: any[];
  affinity: { configMap: any | null; doc: AffinityDocument | null };
  /** Live nodes' load from their heartbeats; null when Redis could not be read (redisError says why). */
  loads: Map<string, NodeLoad & { state: string }> | null;
  redisError: string | null;
  serviceMonitorCrd: boolean;
  /** Contents of the Secrets and ConfigMaps the pods read (observeReferenced). */
  referenced: Map<string, Record<string, string> | null>;
}

export const liveKey = (kind: string, name: string) => `${kind}/${name}`;

/** The contents of every Secret and ConfigMap the pods read, by "Secret/name" or "ConfigMap/name" (null: it does not exist). */
export async function observeReferenced(rest: KubeRest, pc: PushCluster): Promise<Map<string, Record<string, string> | null>> {
  const out = new Map<string, Record<string, string> | null>();
  for (const key of referencedConfig(pc)) {
    const [kind, name] = key.split("/") as [string, string];
    const obj = await rest.find(apiPath("v1", kind === "Secret" ? "secrets" : "configmaps", pc.metadata.namespace, name));
    out.set(key, obj ? { ...(obj.data ?? {}), ...(obj.binaryData ?? {}) } : null);
  }
  return out;
}

/** The Secrets among them, by name (what missingSecrets reads). */
export const secretsByName = (referenced: ReadonlyMap<string, Record<string, string> | null>) =>
  new Map([...referenced].filter(([k]) => k.startsWith("Secret/")).map(([k, v]) => [k.slice("Secret/".length), v]));

/** The owned objects that are not Services, by kind and API path (Services come from one list). */
function ownedPaths(pc: PushCluster, serviceMonitorCrd: boolean): Array<[kind: string, name: string, path: string]> {
  const n = names(pc);
  const ns = pc.metadata.namespace;
  const out: Array<[string, string, string]> = [
    ["ServiceAccount", n.serviceAccount, apiPath("v1", "serviceaccounts", ns, n.serviceAccount)],
    ["Role", n.role, apiPath("rbac.authorization.k8s.io/v1", "roles", ns, n.role)],
    ["RoleBinding", n.role, apiPath("rbac.authorization.k8s.io/v1", "rolebindings", ns, n.role)],
    ["StatefulSet", n.statefulSet, apiPath("apps/v1", "statefulsets", ns, n.statefulSet)],
    ["PodDisruptionBudget", n.pdb, apiPath("policy/v1", "poddisruptionbudgets", ns, n.pdb)],
  ];
  if (exposeType(pc) === "Ingress") out.push(["Ingress", n.ingress, apiPath("networking.k8s.io/v1", "ingresses", ns, n.ingress)]);
  if (pc.spec.monitoring?.serviceMonitor?.enabled && serviceMonitorCrd) out.push(["ServiceMonitor", n.serviceMonitor, apiPath("monitoring.coreos.com/v1", "servicemonitors", ns, n.serviceMonitor)]);
  return out;
}

export async function observe(
  d: { rest: KubeRest; redis: RedisPool; serviceMonitorCrd: () => Promise<boolean> },
  pc: PushCluster,
  referenced: Map<string, Record<string, string> | null>,
  redisUrl: string,
  now: number,
): Promise<Observed> {
  const { rest } = d;
  const ns = pc.metadata.namespace;
  const n = names(pc);
  const serviceMonitorCrd = await d.serviceMonitorCrd();
  const live = new Map<string, any>();
  for (const [kind, name, path] of ownedPaths(pc, serviceMonitorCrd)) {
    const obj = await rest.find(path);
    if (obj) live.set(liveKey(kind, name), obj);
  }
  const services = await rest.get(apiPath("v1", "services", ns), { labelSelector: `app.kubernetes.io/instance=${pc.metadata.name},app.kubernetes.io/managed-by=herald-operator` });
  for (const svc of services.items ?? []) live.set(liveKey("Service", svc.metadata.name), svc);
  if (exposeType(pc) === "Gateway") {
    // Without the Gateway API's CRD there is nothing to list: the create then fails, reported as ApplyFailed.
    const routes = await rest.find(apiPath("gateway.networking.k8s.io/v1", "httproutes", ns) + `?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${pc.metadata.name},app.kubernetes.io/managed-by=herald-operator`)}`);
    for (const r of routes?.items ?? []) live.set(liveKey("HTTPRoute", r.metadata.name), r);
  }
  const pods = (await rest.get(apiPath("v1", "pods", ns), { labelSelector: selectorString(pc) })).items ?? [];
  const configMap = await rest.find(apiPath("v1", "configmaps", ns, n.affinity));
  let doc: AffinityDocument | null = null;
  try {
    doc = configMap?.data?.["affinity.json"] ? parseAffinityDocument(configMap.data["affinity.json"]) : null;
  } catch {
    doc = null; // rewritten from the pods
  }
  let loads: Observed["loads"] = null;
  let redisError: string | null = null;
  try {
    loads = await readLoads(d.redis.client(redisUrl, pc.spec.redis.mode ?? "standalone"), keyPrefix(pc), now);
  } catch (err) {
    redisError = (err as Error).message;
  }
  return { now, live, pods, affinity: { configMap, doc }, loads, redisError, serviceMonitorCrd, referenced };
}
