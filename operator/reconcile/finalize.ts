// The finalizer step: stop the push nodes (they would write again), remove the cluster's keys in Redis
// (only under its prefix), then let the object go; garbage collection takes what it owned.
import type { Logger } from "pino";
import { hasFinalizer, keyPrefix, names, selectorLabels } from "../desired.js";
import { deletePrefixStep, type RedisPool } from "../redis-ops.js";
import type { OperatorEvent } from "../scaling.js";
import { FINALIZER, GROUP, PLURAL, VERSION, type PushCluster } from "../types.js";
import { apiPath, type KubeRest } from "../../common/kube/client.js";
import type { KubeCache } from "../kube/cache.js";

export const SKIP_CLEANUP = "herald.dev/skip-redis-cleanup";

export interface Finalizer {
  rest: KubeRest;
  cache: KubeCache;
  redis: RedisPool;
  log: Logger;
  event(pc: PushCluster, e: OperatorEvent): Promise<void>;
  secretValue(namespace: string, name: string, key: string): Promise<string | null>;
  /** At most about this many keys are removed per pass (10,000). */
  cleanupStepKeys?: number;
}

/** One pass of the finalizer; answers when to look again (undefined: done). */
export async function finalize(f: Finalizer, pc: PushCluster, path: string): Promise<number | undefined> {
  if (!hasFinalizer(pc)) return undefined;
  const ns = pc.metadata.namespace;
  const sts = f.cache.get("StatefulSet", ns, names(pc).statefulSet);
  if (sts && sts.spec?.replicas !== 0) {
    await f.rest.request("PATCH", apiPath("apps/v1", "statefulsets", ns, names(pc).statefulSet), { body: { spec: { replicas: 0 } }, contentType: "application/merge-patch+json" });
    await f.event(pc, { type: "Normal", reason: "Stopping", message: "Stopping the push nodes before removing the cluster's Redis keys" });
  }
  const pods = f.cache.list("Pod", ns, selectorLabels(pc));
  if (pods.length) return 500;
  const skip = pc.metadata.labels?.[SKIP_CLEANUP] === "true" || (pc.metadata as { annotations?: Record<string, string> }).annotations?.[SKIP_CLEANUP] === "true";
  if (!skip) {
    try {
      const ref = pc.spec.redis.urlSecretRef;
      const url = pc.spec.redis.url ?? (await f.secretValue(ns, ref!.name, ref!.key ?? "url"));
      if (!url) throw new Error("the Redis URL Secret is gone");
      // A bounded step per pass, its progress in the status: a large cluster's keys go in many short
      // passes, and an operator restarted midway resumes from the cursors instead of starting over.
      const before = pc.status?.cleanup;
      const step = await deletePrefixStep(f.redis.client(url, pc.spec.redis.mode ?? "standalone"), keyPrefix(pc), before?.cursors ?? {}, f.cleanupStepKeys ?? 10_000);
      const cleanup = { deletedKeys: (before?.deletedKeys ?? 0) + step.deleted, cursors: step.cursors, startedAt: before?.startedAt ?? new Date().toISOString().replace(/\.\d+Z$/, "Z") };
      pc = await f.rest.request<PushCluster>("PATCH", apiPath(`${GROUP}/${VERSION}`, PLURAL, ns, pc.metadata.name, "status"), { body: { status: { cleanup } }, contentType: "application/merge-patch+json" });
      if (!step.done) return 1;
      f.log.info({ cluster: pc.metadata.name, prefix: keyPrefix(pc), deleted: cleanup.deletedKeys }, "removed the cluster's Redis keys");
      await f.event(pc, { type: "Normal", reason: "RedisCleaned", message: `Removed ${cleanup.deletedKeys} Redis keys under ${keyPrefix(pc)}:` });
    } catch (err) {
      await f.event(pc, { type: "Warning", reason: "RedisCleanupFailed", message: `${(err as Error).message}; retrying (annotate ${SKIP_CLEANUP}=true to skip)` });
      return 5000;
    }
  }
  await f.rest.request("PUT", path, { body: { ...pc, metadata: { ...pc.metadata, finalizers: (pc.metadata.finalizers ?? []).filter((x) => x !== FINALIZER) } } });
  return undefined;
}
