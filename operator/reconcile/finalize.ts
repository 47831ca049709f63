// The finalizer step: stop the push nodes (they would write again), remove the cluster's keys in Redis
// (only under its prefix), then let the object go; garbage collection takes what it owned.
import type { Logger } from "pino";
import { hasFinalizer, keyPrefix, names, selectorString } from "../desired.js";
import { deletePrefix, type RedisPool } from "../redis-ops.js";
import type { OperatorEvent } from "../scaling.js";
import { FINALIZER, type PushCluster } from "../types.js";
import { apiPath, type KubeRest } from "../kube/rest.js";

export const SKIP_CLEANUP = "herald.dev/skip-redis-cleanup";

export interface Finalizer {
  rest: KubeRest;
  redis: RedisPool;
  log: Logger;
  event(pc: PushCluster, e: OperatorEvent): Promise<void>;
  secretValue(namespace: string, name: string, key: string): Promise<string | null>;
}

/** One pass of the finalizer; answers when to look again (undefined: done). */
export async function finalize(f: Finalizer, pc: PushCluster, path: string): Promise<number | undefined> {
  if (!hasFinalizer(pc)) return undefined;
  const ns = pc.metadata.namespace;
  const sts = await f.rest.find(apiPath("apps/v1", "statefulsets", ns, names(pc).statefulSet));
  if (sts && sts.spec?.replicas !== 0) {
    await f.rest.request("PATCH", apiPath("apps/v1", "statefulsets", ns, names(pc).statefulSet), { body: { spec: { replicas: 0 } }, contentType: "application/merge-patch+json" });
    await f.event(pc, { type: "Normal", reason: "Stopping", message: "Stopping the push nodes before removing the cluster's Redis keys" });
  }
  const pods = (await f.rest.get(apiPath("v1", "pods", ns), { labelSelector: selectorString(pc) })).items ?? [];
  if (pods.length) return 500;
  const skip = pc.metadata.labels?.[SKIP_CLEANUP] === "true" || (pc.metadata as { annotations?: Record<string, string> }).annotations?.[SKIP_CLEANUP] === "true";
  if (!skip) {
    try {
      const ref = pc.spec.redis.urlSecretRef;
      const url = pc.spec.redis.url ?? (await f.secretValue(ns, ref!.name, ref!.key ?? "url"));
      if (!url) throw new Error("the Redis URL Secret is gone");
      const deleted = await deletePrefix(f.redis.client(url, pc.spec.redis.mode ?? "standalone"), keyPrefix(pc));
      f.log.info({ cluster: pc.metadata.name, prefix: keyPrefix(pc), deleted }, "removed the cluster's Redis keys");
      await f.event(pc, { type: "Normal", reason: "RedisCleaned", message: `Removed ${deleted} Redis keys under ${keyPrefix(pc)}:` });
    } catch (err) {
      await f.event(pc, { type: "Warning", reason: "RedisCleanupFailed", message: `${(err as Error).message}; retrying (annotate ${SKIP_CLEANUP}=true to skip)` });
      return 5000;
    }
  }
  await f.rest.request("PUT", path, { body: { ...pc, metadata: { ...pc.metadata, finalizers: (pc.metadata.finalizers ?? []).filter((x) => x !== FINALIZER) } } });
  return undefined;
}
