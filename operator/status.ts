// The PushCluster's status: what a person reads first. Pure.
import type { Condition, PushClusterStatus } from "./types.js";
import type { NodesPlan } from "./scaling.js";

export interface StatusFacts {
  generation: number;
  target: number;
  replicas: number;
  readyReplicas: number;
  selector: string;
  connections: number;
  users: number;
  plan: NodesPlan | null;
  /** Problems that stop reconciling: an invalid spec, Redis unreachable, a failed write. */
  problem: { reason: string; message: string } | null;
}

const PHASE_MESSAGE: Record<NodesPlan["phase"], string> = {
  Stable: "All push nodes are ready and in the affinity document",
  ScalingUp: "Adding push nodes",
  ScalingDown: "Draining push nodes before removing them",
  Rolling: "Rolling push nodes to a new template, one drained node at a time",
  WaitingForPods: "Waiting for push-node pods to become ready",
};

export function nextStatus(previous: PushClusterStatus | undefined, f: StatusFacts, now: string): PushClusterStatus {
  const phase = f.plan?.phase ?? "WaitingForPods";
  const ready = !f.problem && phase === "Stable" && f.readyReplicas >= f.target;
  const progressing = !f.problem && phase !== "Stable";
  const conditions: Condition[] = [
    ready
      ? { type: "Ready", status: "True", reason: "AllNodesReady", message: `${f.readyReplicas}/${f.target} push nodes ready` }
      : { type: "Ready", status: "False", reason: f.problem?.reason ?? phase, message: f.problem?.message ?? `${f.readyReplicas}/${f.target} push nodes ready; ${PHASE_MESSAGE[phase]}` },
    progressing
      ? { type: "Progressing", status: "True", reason: phase, message: PHASE_MESSAGE[phase] }
      : { type: "Progressing", status: "False", reason: f.problem ? "Blocked" : "Stable", message: f.problem ? "Reconciling is blocked; see Degraded" : PHASE_MESSAGE.Stable },
    f.problem
      ? { type: "Degraded", status: "True", reason: f.problem.reason, message: f.problem.message }
      : { type: "Degraded", status: "False", reason: "AsExpected", message: "No problem" },
  ];
  const before = new Map((previous?.conditions ?? []).map((c) => [c.type, c]));
  return {
    ...previous,
    observedGeneration: f.generation,
    replicas: f.replicas,
    readyReplicas: f.readyReplicas,
    selector: f.selector,
    connections: f.connections,
    users: f.users,
    affinityVersion: f.plan?.doc.version ?? previous?.affinityVersion ?? 0,
    draining: f.plan?.draining ?? previous?.draining ?? [],
    conditions: conditions.map((c) => {
      const old = before.get(c.type);
      const unchanged = old && old.status === c.status;
      return { ...c, observedGeneration: f.generation, lastTransitionTime: unchanged && old.lastTransitionTime ? old.lastTransitionTime : now };
    }),
  };
}
