// PodDisruptionBudgets (pure): a budget's status from the pods it selects and their controllers' scale,
// as the disruption controller computes it, and whether the eviction API may evict a pod.
import type { Obj } from "./objects.js";
import { matchesLabels, requirementsFromLabelSelector } from "./selectors.js";

export interface BudgetStatus {
  expectedPods: number;
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
}

const isReady = (p: Obj) => !p.metadata.deletionTimestamp && (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True");
const isTerminal = (p: Obj) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

/** The pods of the namespace a budget selects (an empty selector selects every pod, as in policy/v1). */
export function budgetPods(pdb: Obj, pods: Obj[]): Obj[] {
  const reqs = requirementsFromLabelSelector(pdb.spec?.selector ?? {});
  return pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && !isTerminal(p) && matchesLabels(reqs, p.metadata.labels));
}

/** An int-or-percent of `total`, percentages rounded up (as the controller does). */
function scaled(v: unknown, total: number): number {
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(String(v));
  return m ? Math.ceil((Number(m[1]) * total) / 100) : Number(v) || 0;
}

/**
 * A budget's status. Expected pods: the replicas of the selected pods' controllers (a StatefulSet's or
 * Deployment's spec.replicas, looked up by `scaleOf`), one per pod without a controller.
 */
export function budgetStatus(pdb: Obj, pods: Obj[], scaleOf: (kind: string, name: string) => number | undefined): BudgetStatus {
  const selected = budgetPods(pdb, pods);
  const controllers = new Map<string, number>();
  let loose = 0;
  for (const p of selected) {
    const ref = (p.metadata.ownerReferences ?? []).find((r: Obj) => r.controller);
    const replicas = ref ? scaleOf(ref.kind, ref.name) : undefined;
    if (ref && replicas !== undefined) controllers.set(`${ref.kind}/${ref.name}`, replicas);
    else loose++;
  }
  const expectedPods = [...controllers.values()].reduce((a, b) => a + b, 0) + loose;
  const currentHealthy = selected.filter(isReady).length;
  const spec = pdb.spec ?? {};
  const desiredHealthy =
    spec.maxUnavailable !== undefined ? Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods)) : spec.minAvailable !== undefined ? scaled(spec.minAvailable, expectedPods) : 0;
  return { expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy) };
}

export type EvictionDecision = { allowed: true } | { allowed: false; code: 429 | 500; message: string; cause?: string };

/**
 * Whether evicting `pod` is allowed: with no budget, yes; with more than one, no (500, as the real
 * server); a ready pod needs a disruption allowed; a pod that is not ready may go when the budget is
 * currently met (unhealthyPodEvictionPolicy IfHealthyBudget, the default) or always (AlwaysAllow).
 */
export function evictionDecision(pod: Obj, budgets: Array<{ pdb: Obj; status: BudgetStatus }>): EvictionDecision {
  const mine = budgets.filter((b) => budgetPods(b.pdb, [pod]).length > 0);
  if (mine.length === 0 || pod.metadata.deletionTimestamp) return { allowed: true };
  if (mine.length > 1) return { allowed: false, code: 500, message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support." };
  const { pdb, status } = mine[0]!;
  if (!isReady(pod) && (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow" || status.currentHealthy >= status.desiredHealthy)) return { allowed: true };
  if (isReady(pod) && status.disruptionsAllowed > 0) return { allowed: true };
  return {
    allowed: false,
    code: 429,
    message: "Cannot evict pod as it would violate the pod's disruption budget.",
    cause: `The disruption budget ${pdb.metadata.name} needs ${status.desiredHealthy} healthy pods and has ${status.currentHealthy} currently`,
  };
}
