// Step 3 of a reconcile: carry out a Decision against the API server. A write the API server refuses
// for a reason retrying will not fix becomes ApplyFailed, naming the object; conflicts, throttling and
// server errors are thrown as they are, for the work queue to retry.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { labels, names, ownerReference, tokenSecret, tokenStateSecret } from "../desired.js";
import type { OperatorEvent } from "../scaling.js";
import type { KubeObject, PushCluster } from "../types.js";
import { KubeError, apiPath, pluralOf, type KubeRest } from "../../common/kube/client.js";
import type { Decision } from "./decide.js";
import type { Observed } from "./observe.js";

/** A write the API server refused for a reason retrying will not fix (invalid, forbidden...): reported as ApplyFailed. */
export class ApplyFailed extends Error {}

/** Turns a 4xx answer (other than a conflict or throttling, which a retry fixes) into ApplyFailed naming the object. */
export function refused(err: unknown, kind: string, namespace: string | undefined, name: string): unknown {
  if (!(err instanceof KubeError) || err.status < 400 || err.status >= 500 || err.status === 409 || err.status === 429) return err;
  const message = (err.body as { message?: string } | undefined)?.message ?? err.message;
  return new ApplyFailed(`The API server refused ${kind} ${namespace ? `${namespace}/` : ""}${name} (${err.status} ${err.reason}): ${message}`);
}

async function guarded<T>(kind: string, namespace: string, name: string, write: () => Promise<T>, ignore: number[] = []): Promise<T | null> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof KubeError && ignore.includes(err.status)) return null;
    throw refused(err, kind, namespace, name);
  }
}

export interface Actor {
  rest: KubeRest;
  log: Logger;
  event(pc: PushCluster, e: OperatorEvent): Promise<void>;
}

/** Generates the token-signing Secret; the caller found that the spec names none and that it does not exist yet. */
export async function ensureTokenSecret(a: Actor, pc: PushCluster): Promise<void> {
  if (pc.spec.auth.tokenSecretRef) return;
  const ns = pc.metadata.namespace;
  const name = names(pc).tokenSecret;
  const created = await guarded("Secret", ns, name, () => a.rest.request("POST", apiPath("v1", "secrets", ns), { body: tokenSecret(pc, randomBytes(32).toString("base64url")) }), [409]);
  if (created) await a.event(pc, { type: "Normal", reason: "TokenSecretCreated", message: `Generated Secret ${name} to sign access tokens` });
}

export async function act(a: Actor, pc: PushCluster, o: Observed, d: Decision): Promise<void> {
  const { rest } = a;
  const ns = pc.metadata.namespace;
  const n = names(pc);
  // first, so that pods the writes below replace find the previous token secret
  if (d.tokenState) {
    const data = d.tokenState;
    await guarded("Secret", ns, n.tokenPrevious, () =>
      o.tokenState
        ? rest.request("PATCH", apiPath("v1", "secrets", ns, n.tokenPrevious), { body: { data }, contentType: "application/merge-patch+json" })
        : rest.request("POST", apiPath("v1", "secrets", ns), { body: tokenStateSecret(pc, Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => e[1] !== null))) }),
    );
  }
  for (const w of d.writes) {
    const obj: KubeObject = w.obj;
    const plural = pluralOf(obj.kind);
    if (w.op === "create") await guarded(obj.kind, ns, obj.metadata.name, () => rest.request("POST", apiPath(obj.apiVersion, plural, ns), { body: obj }), [409]);
    else {
      a.log.debug({ cluster: pc.metadata.name, object: `${obj.kind}/${obj.metadata.name}`, fields: w.drift }, "updating an owned object");
      await guarded(obj.kind, ns, obj.metadata.name, () => rest.request("PATCH", apiPath(obj.apiVersion, plural, ns, obj.metadata.name), { body: w.patch, contentType: "application/merge-patch+json" }));
    }
  }
  for (const svc of d.deleteServices) await guarded("Service", ns, svc, () => rest.request("DELETE", apiPath("v1", "services", ns, svc)), [404]);
  for (const r of d.deleteRoutes ?? []) await guarded("HTTPRoute", ns, r, () => rest.request("DELETE", apiPath("gateway.networking.k8s.io/v1", "httproutes", ns, r)), [404]);
  if (d.deleteIngress) await guarded("Ingress", ns, d.deleteIngress, () => rest.request("DELETE", apiPath("networking.k8s.io/v1", "ingresses", ns, d.deleteIngress!)), [404]);
  if (d.affinity) {
    const existing = o.affinity.configMap;
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: n.affinity, namespace: ns, labels: labels(pc, "affinity"), ownerReferences: [ownerReference(pc)] },
      data: { "affinity.json": JSON.stringify(d.affinity, null, 2) },
    };
    await guarded("ConfigMap", ns, n.affinity, () =>
      existing
        ? rest.request("PUT", apiPath("v1", "configmaps", ns, n.affinity), { body: { ...body, metadata: { ...existing.metadata, ...body.metadata, resourceVersion: existing.metadata.resourceVersion } } })
        : rest.request("POST", apiPath("v1", "configmaps", ns), { body }),
    );
    a.log.info({ cluster: pc.metadata.name, version: d.affinity.version, nodes: d.affinity.nodes.map((x) => `${x.id}:${x.state}`) }, "affinity document written");
  }
  for (const pod of d.deletePods) await guarded("Pod", ns, pod, () => rest.request("DELETE", apiPath("v1", "pods", ns, pod)), [404]);
  for (const e of d.events) await a.event(pc, e);
}
