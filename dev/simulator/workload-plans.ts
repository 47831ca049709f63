// What the StatefulSet and Deployment controllers should do next, given the workload and its pods
// (pure functions: data in, a plan out; the controller performs it and asks again on the next change).
import { isPodReady } from "./endpoints.js";
import { shortHash, type Obj } from "./objects.js";

export interface Plan {
  /** StatefulSet ordinals, or the number of Deployment pods, to create. */
  create: number[];
  /** Names of pods to delete. */
  delete: string[];
}

export const templateHash = (workload: Obj): string => shortHash(workload.spec?.template ?? {});

const isTerminating = (p: Obj) => Boolean(p.metadata?.deletionTimestamp);
const isFinished = (p: Obj) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
const isRunningAndReady = (p: Obj) => !isTerminating(p) && p.status?.phase === "Running" && isPodReady(p);

export function ordinalOf(stsName: string, pod: Obj): number | undefined {
  const m = new RegExp(`^${stsName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-(\\d+)$`).exec(pod.metadata?.name ?? "");
  return m ? Number(m[1]) : undefined;
}

/**
 * StatefulSet: pods <name>-0..n-1. OrderedReady creates ordinal i only when every lower ordinal is
 * Running and Ready, removes from the highest ordinal, one pod at a time, and rolls template changes
 * from the highest ordinal down. Parallel creates and removes all at once.
 */
export function statefulSetPlan(sts: Obj, pods: Obj[]): Plan {
  const name = sts.metadata.name;
  const replicas: number = sts.spec?.replicas ?? 1;
  const parallel = sts.spec?.podManagementPolicy === "Parallel";
  const revision = templateHash(sts);
  const byOrdinal = new Map<number, Obj>();
  for (const p of pods) {
    const o = ordinalOf(name, p);
    if (o !== undefined) byOrdinal.set(o, p);
  }
  const plan: Plan = { create: [], delete: [] };

  // Failed or completed pods are replaced.
  for (const p of byOrdinal.values()) if (isFinished(p) && !isTerminating(p)) plan.delete.push(p.metadata.name);
  if (plan.delete.length > 0) return plan;

  for (let i = 0; i < replicas; i++) {
    if (byOrdinal.has(i)) continue;
    if (parallel) plan.create.push(i);
    else {
      const lowerReady = [...Array(i).keys()].every((j) => byOrdinal.has(j) && isRunningAndReady(byOrdinal.get(j)!));
      if (lowerReady) plan.create.push(i);
      return plan;
    }
  }
  if (plan.create.length > 0) return plan;

  const excess = [...byOrdinal.entries()].filter(([o, p]) => o >= replicas && !isTerminating(p)).sort(([a], [b]) => b - a);
  if (excess.length > 0) {
    if (parallel) plan.delete.push(...excess.map(([, p]) => p.metadata.name));
    else if ([...byOrdinal.values()].every((p) => !isTerminating(p))) plan.delete.push(excess[0]![1].metadata.name);
    return plan;
  }

  // Rolling update from the highest ordinal, when everything else is settled.
  const all = [...byOrdinal.entries()].filter(([o]) => o < replicas).sort(([a], [b]) => b - a);
  const outdated = all.filter(([, p]) => p.metadata.labels?.["controller-revision-hash"] !== revision);
  const partition: number = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  const candidates = outdated.filter(([o]) => o >= partition);
  if (sts.spec?.updateStrategy?.type !== "OnDelete" && candidates.length > 0 && all.every(([, p]) => isRunningAndReady(p) || p.metadata.labels?.["controller-revision-hash"] !== revision)) {
    if (all.every(([, p]) => !isTerminating(p))) plan.delete.push(candidates[0]![1].metadata.name);
  }
  return plan;
}

/**
 * Deployment (simplified: pods are owned by the Deployment, no ReplicaSets). Pods of the current
 * template are kept at spec.replicas; pods of an older template are removed one at a time once a new
 * pod is ready (or at once when none of them is ready), like a RollingUpdate with maxSurge 1 and
 * maxUnavailable 0. Recreate removes old pods first.
 */
export function deploymentPlan(deploy: Obj, pods: Obj[]): Plan {
  const replicas: number = deploy.spec?.replicas ?? 1;
  const hash = templateHash(deploy);
  const live = pods.filter((p) => !isTerminating(p));
  const finished = live.filter(isFinished);
  if (finished.length > 0) return { create: [], delete: finished.map((p) => p.metadata.name) };
  const current = live.filter((p) => p.metadata.labels?.["pod-template-hash"] === hash);
  const old = live.filter((p) => p.metadata.labels?.["pod-template-hash"] !== hash);
  const plan: Plan = { create: [], delete: [] };
  if (deploy.spec?.strategy?.type === "Recreate" && old.length > 0) return { create: [], delete: old.map((p) => p.metadata.name) };
  if (current.length > replicas) {
    const extra = [...current].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
    plan.delete.push(...extra.slice(0, current.length - replicas).map((p) => p.metadata.name));
  }
  const missing = replicas - current.length;
  if (missing > 0) {
    const room = old.length === 0 ? missing : Math.max(0, replicas + 1 - live.length);
    for (let i = 0; i < Math.min(missing, room); i++) plan.create.push(i);
  }
  if (old.length > 0) {
    const readyNew = current.filter(isPodReady).length;
    const readyOld = old.filter(isPodReady);
    if (readyOld.length === 0) plan.delete.push(...old.map((p) => p.metadata.name));
    else if (readyNew + readyOld.length > replicas || replicas === 0) plan.delete.push(readyOld[0]!.metadata.name);
    const notReadyOld = old.filter((p) => !isPodReady(p));
    plan.delete.push(...notReadyOld.map((p) => p.metadata.name).filter((n) => !plan.delete.includes(n)));
  }
  return plan;
}

export function workloadStatus(kind: "StatefulSet" | "Deployment", w: Obj, pods: Obj[]): Obj {
  const live = pods.filter((p) => !isTerminating(p));
  const hash = templateHash(w);
  const label = kind === "StatefulSet" ? "controller-revision-hash" : "pod-template-hash";
  const updated = live.filter((p) => p.metadata.labels?.[label] === hash);
  const ready = live.filter(isPodReady);
  const replicas: number = w.spec?.replicas ?? 1;
  const base = {
    observedGeneration: w.metadata.generation,
    replicas: live.length,
    readyReplicas: ready.length,
    availableReplicas: ready.length,
    updatedReplicas: updated.length,
  };
  if (kind === "StatefulSet") {
    const revision = `${w.metadata.name}-${hash}`;
    return { ...base, currentReplicas: updated.length, currentRevision: revision, updateRevision: revision, collisionCount: 0 };
  }
  const available = ready.length >= replicas;
  const complete = updated.length === replicas && live.length === replicas && available;
  const previous: Obj[] = w.status?.conditions ?? [];
  const condition = (type: string, status: string, reason: string, message: string) => {
    const before = previous.find((c) => c.type === type);
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const changed = !before || before.status !== status || before.reason !== reason;
    return { type, status, reason, message, lastUpdateTime: changed ? now : before.lastUpdateTime, lastTransitionTime: changed ? now : before.lastTransitionTime };
  };
  return {
    ...base,
    unavailableReplicas: Math.max(0, replicas - ready.length),
    conditions: [
      condition("Available", available ? "True" : "False", available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable", available ? "Deployment has minimum availability." : "Deployment does not have minimum availability."),
      condition("Progressing", "True", complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", complete ? `Deployment "${w.metadata.name}" has successfully progressed.` : `Deployment "${w.metadata.name}" is progressing.`),
    ],
  };
}
