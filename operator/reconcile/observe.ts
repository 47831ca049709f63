// Step 1 of a reconcile: read the world a PushCluster's decisions depend on. Reads only; no decision.
// Kubernetes objects come from the operator's cache (operator/kube/cache.ts), fed by watches.
import { parseAffinityDocument, type AffinityDocument } from "../../protocol/affinity-document.js";
import { exposeType, keyPrefix, names, nodeTtlMs, referencedConfig, selectorLabels } from "../desired.js";
import { readLoads, type RedisPool } from "../redis-ops.js";
import type { NodeLoad } from "../scaling.js";
import type { ExposeType, PushCluster } from "../types.js";
import { apiPath, type KubeRest } from "../../common/kube/client.js";
import type { KubeCache } from "../kube/cache.js";
import type { TokenState } from "./token-rotation.js";

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
  /** The data of `<name>-token-previous` (token-rotation.ts; null: it does not exist; undefined: not observed). */
  tokenState?: TokenState | null;
}

export const liveKey = (kind: string, name: string) => `${kind}/${name}`;

/** The contents of every Secret and ConfigMap the pods read, by "Secret/name" or "ConfigMap/name" (null: it does not exist), each watched by name. */
export function observeReferenced(cache: KubeCache, pc: PushCluster): Promise<Map<string, Record<string, string> | null>> {
  return cache.referenced(`${pc.metadata.namespace}/${pc.metadata.name}`, pc.metadata.namespace, [...referencedConfig(pc), tokenStateKey(pc)]);
}

/** The operator's own record of the token secret (token-rotation.ts), watched with the referenced ones but not part of the config hash. */
const tokenStateKey = (pc: PushCluster) => `Secret/${names(pc).tokenPrevious}`;

/** The Secrets among them, by name (what missingSecrets reads). */
export const secretsByName = (referenced: ReadonlyMap<string, Record<string, string> | null>) =>
  new Map([...referenced].filter(([k]) => k.startsWith("Secret/")).map(([k, v]) => [k.slice("Secret/".length), v]));

/** The owned objects that are not Services, by kind and name (Services come from one list). */
function ownedNames(pc: PushCluster): Array<[kind: string, name: string]> {
  const n = names(pc);
  const out: Array<[string, string]> = [
    ["ServiceAccount", n.serviceAccount],
    ["Role", n.role],
    ["RoleBinding", n.role],
    ["StatefulSet", n.statefulSet],
    ["PodDisruptionBudget", n.pdb],
  ];
  return out;
}

/** Reads from the cache (no API request), except an Ingress or ServiceMonitor, read only when the spec asks for one. */
export async function observe(
  d: { cache: KubeCache; rest: KubeRest; redis: RedisPool; serviceMonitorCrd: () => Promise<boolean> },
  pc: PushCluster,
  referenced: Map<string, Record<string, string> | null>,
  redisUrl: string,
  now: number,
): Promise<Observed> {
  const { cache } = d;
  const ns = pc.metadata.namespace;
  const n = names(pc);
  const live = new Map<string, any>();
  for (const [kind, name] of ownedNames(pc)) {
    const obj = cache.get(kind, ns, name);
    if (obj) live.set(liveKey(kind, name), obj);
  }
  // Optional kinds, not cached (their API may not be served): a GET, only when the spec asks for them.
  const serviceMonitorCrd = pc.spec.monitoring?.serviceMonitor?.enabled ? await d.serviceMonitorCrd() : false;
  if (serviceMonitorCrd) {
    const sm = await d.rest.find(apiPath("monitoring.coreos.com/v1", "servicemonitors", ns, n.serviceMonitor));
    if (sm) live.set(liveKey("ServiceMonitor", n.serviceMonitor), sm);
  }
  // The Ingress or HTTPRoutes of the expose type, and of the previous type after a change (to remove them),
  // read strictly: a failure fails the pass, which is retried. A cluster from before status.exposedAs looks
  // for both once, leniently (its RBAC may lack the grant): nothing found, nothing to remove.
  const expose = exposeType(pc);
  const was = pc.status?.exposedAs;
  const read = (type: ExposeType, path: string): Promise<any> | null =>
    expose === type || was === type ? d.rest.find(path) : was === undefined ? d.rest.find(path).catch(() => null) : null;
  const ingress = await read("Ingress", apiPath("networking.k8s.io/v1", "ingresses", ns, n.ingress));
  if (ingress) live.set(liveKey("Ingress", n.ingress), ingress);
  // Listed by our labels (the Gateway API may not be installed: then nothing is listed, and a create for a
  // Gateway fails, reported as ApplyFailed).
  const routes = await read("Gateway", apiPath("gateway.networking.k8s.io/v1", "httproutes", ns) + `?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${pc.metadata.name},app.kubernetes.io/managed-by=herald-operator`)}`);
  for (const r of routes?.items ?? []) live.set(liveKey("HTTPRoute", r.metadata.name), r);
  for (const svc of cache.list("Service", ns, { "app.kubernetes.io/instance": pc.metadata.name })) live.set(liveKey("Service", svc.metadata.name), svc);
  const pods = cache.list("Pod", ns, selectorLabels(pc));
  const configMap = cache.get("ConfigMap", ns, n.affinity) ?? null;
  let doc: AffinityDocument | null = null;
  try {
    doc = configMap?.data?.["affinity.json"] ? parseAffinityDocument(configMap.data["affinity.json"]) : null;
  } catch {
    doc = null; // rewritten from the pods
  }
  let loads: Observed["loads"] = null;
  let redisError: string | null = null;
  try {
    loads = await readLoads(d.redis.client(redisUrl, pc.spec.redis.mode ?? "standalone"), keyPrefix(pc), now, nodeTtlMs(pc));
  } catch (err) {
    redisError = (err as Error).message;
  }
  const tokenState = referenced.get(tokenStateKey(pc)) ?? null;
  const podsRead = referencedConfig(pc);
  const config = new Map([...referenced].filter(([k]) => podsRead.includes(k)));
  return { now, live, pods, affinity: { configMap, doc }, loads, redisError, serviceMonitorCrd, referenced: config, tokenState };
}
