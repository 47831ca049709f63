// The PushCluster's status: what a person reads first. Pure: facts in, status (and the events its
// changes call for) out.
import type { Condition, PushClusterStatus } from "./types.js";
import type { NodesPlan, OperatorEvent } from "./scaling.js";

/**
 * A problem that stops the operator from bringing the cluster to its spec. Its reason is the Degraded
 * condition's reason; its message names the object and what to do.
 */
export interface Problem {
  reason: "InvalidSpec" | "SecretMissing" | "RedisUnavailable" | "ApplyFailed";
  message: string;
}

export interface StatusFacts {
  generation: number;
  target: number;
  replicas: number;
  readyReplicas: number;
  /** Pods of the cluster that run the current pod template. */
  updatedReplicas: number;
  selector: string;
  connections: number;
  users: number;
  plan: NodesPlan | null;
  /** A problem that stops reconciling: an invalid spec, a missing Secret, Redis unreachable, a write the API refused. */
  problem: Problem | null;
  /** How long a scale or roll may go without progress before it is reported stalled (spec.progressDeadlineSeconds). */
  progressDeadlineSeconds: number;
  /** While a node drains within its grace period, waiting is progress (its clients are leaving). */
  drainingWithinGrace: boolean;
  /** Why pods are not ready, one line per pod ("hc-2: CrashLoopBackOff, exit code 78, 4 restarts"). */
  podProblems: string[];
  /** spec.paused: the operator writes nothing but the status. */
  paused?: boolean;
  /** With autoscaling on: what it follows, for the Autoscaling condition. */
  autoscaling?: { specReplicas: number; min: number; max: number; target: number; connections: number } | null;
}

const PHASE_MESSAGE: Record<NodesPlan["phase"], string> = {
  Stable: "All push nodes are ready and in the affinity document",
  ScalingUp: "Adding push nodes",
  ScalingDown: "Draining push nodes before removing them",
  Rolling: "Rolling push nodes to a new template, one drained node at a time",
  WaitingForPods: "Waiting for push-node pods to become ready",
};

/** What counts as progress: any change of these between two passes restarts the progress deadline. */
const progressMark = (s: PushClusterStatus, phase: string) =>
  JSON.stringify([phase, s.replicas, s.readyReplicas, s.updatedReplicas, s.affinityVersion, (s.draining ?? []).map((d) => d.node)]);

export function nextStatus(previous: PushClusterStatus | undefined, f: StatusFacts, now: string): PushClusterStatus {
  const phase = f.plan?.phase ?? "WaitingForPods";
  const counts = {
    replicas: f.replicas,
    readyReplicas: f.readyReplicas,
    updatedReplicas: f.updatedReplicas,
    affinityVersion: f.plan?.doc.version ?? previous?.affinityVersion ?? 0,
    draining: f.plan?.draining ?? previous?.draining ?? [],
  };
  const previousPhase = previous?.conditions?.find((c) => c.type === "Progressing")?.reason ?? "";
  const moved = !previous?.lastProgressTime || progressMark(previous, previousPhase === "RolloutStalled" ? phase : previousPhase) !== progressMark(counts, phase);
  // Unchanged while nothing moves (a stable cluster's status stays byte-identical: no write, no watch event).
  const lastProgressTime = moved ? now : previous!.lastProgressTime!;
  const stalled =
    !f.problem && !f.paused && phase !== "Stable" && !f.drainingWithinGrace && Date.parse(now) - Date.parse(lastProgressTime) > f.progressDeadlineSeconds * 1000;
  const progressLine = `${f.readyReplicas}/${f.target} push nodes ready, ${f.updatedReplicas}/${f.target} on the current template`;
  const stall: { reason: string; message: string } | null = stalled
    ? {
        reason: "RolloutStalled",
        message: `No progress for more than ${f.progressDeadlineSeconds}s (spec.progressDeadlineSeconds) while ${PHASE_MESSAGE[phase].toLowerCase()}: ${progressLine}. ${f.podProblems.length ? f.podProblems.join("; ") : "No pod reports an error; see kubectl describe pods"}.`,
      }
    : null;
  const degraded = f.problem ?? stall;
  const ready = !f.problem && (phase === "Stable" || !!f.paused) && f.readyReplicas >= f.target;
  const conditions: Condition[] = [
    ready
      ? { type: "Ready", status: "True", reason: "AllNodesReady", message: `${f.readyReplicas}/${f.target} push nodes ready` }
      : {
          type: "Ready",
          status: "False",
          reason: degraded?.reason ?? phase,
          // what keeps pods from being ready (ImagePullBackOff, CrashLoopBackOff...) shows at once, not only after the progress deadline
          message: f.problem?.message ?? `${progressLine}; ${PHASE_MESSAGE[phase]}${f.podProblems.length ? `. ${f.podProblems.join("; ")}` : ""}`,
        },
    f.problem
      ? { type: "Progressing", status: "False", reason: "Blocked", message: `Reconciling is blocked (${f.problem.reason}); see Degraded` }
      : f.paused
        ? { type: "Progressing", status: "False", reason: "Paused", message: "spec.paused is true: the operator scales, rolls, drains and repairs nothing until it is false" }
        : stalled
        ? { type: "Progressing", status: "False", reason: "RolloutStalled", message: stall!.message }
        : phase !== "Stable"
          ? { type: "Progressing", status: "True", reason: phase, message: PHASE_MESSAGE[phase] }
          : { type: "Progressing", status: "False", reason: "Stable", message: PHASE_MESSAGE.Stable },
    degraded
      ? { type: "Degraded", status: "True", reason: degraded.reason, message: degraded.message }
      : { type: "Degraded", status: "False", reason: "AsExpected", message: "Nothing stops the operator from keeping the cluster at its spec" },
  ];
  const a = f.autoscaling;
  if (a)
    conditions.push(
      a.specReplicas !== a.target
        ? {
            type: "Autoscaling",
            status: "True",
            reason: "ScaleIgnoredUnderAutoscaling",
            message: `spec.replicas (${a.specReplicas}, e.g. from kubectl scale) is not followed while spec.autoscaling.enabled: the operator keeps ${a.min}–${a.max} push nodes from live connections. Change minReplicas/maxReplicas, or disable autoscaling to scale by hand`,
          }
        : { type: "Autoscaling", status: "True", reason: "Active", message: `${a.target} push nodes for ${a.connections} connections (${a.min}–${a.max})` },
    );
  const before = new Map((previous?.conditions ?? []).map((c) => [c.type, c]));
  return {
    ...previous,
    // Moves only once this generation's spec has been written out; a blocked or paused pass leaves it behind.
    observedGeneration: f.problem || f.paused ? previous?.observedGeneration : f.generation,
    ...counts,
    selector: f.selector,
    connections: f.connections,
    users: f.users,
    lastProgressTime,
    conditions: conditions.map((c) => {
      const old = before.get(c.type);
      const unchanged = old && old.status === c.status;
      return { ...c, observedGeneration: f.generation, lastTransitionTime: unchanged && old.lastTransitionTime ? old.lastTransitionTime : now };
    }),
  };
}

/** Events a change of the conditions calls for: a Warning when the cluster becomes degraded (or for another reason), a Normal when it recovers. */
export function conditionEvents(previous: PushClusterStatus | undefined, next: PushClusterStatus): OperatorEvent[] {
  const out: OperatorEvent[] = [];
  const was = previous?.conditions?.find((c) => c.type === "Degraded");
  const now = next.conditions?.find((c) => c.type === "Degraded");
  if (now?.status === "True" && (was?.status !== "True" || was.reason !== now.reason)) out.push({ type: "Warning", reason: now.reason, message: now.message });
  if (now && now.status !== "True" && was?.status === "True") out.push({ type: "Normal", reason: "Recovered", message: `No longer ${was.reason}: ${now.message.toLowerCase()}` });
  // a scale by hand the autoscaler will not follow: said once, when the spec changed
  const scaleWas = previous?.conditions?.find((c) => c.type === "Autoscaling");
  const scale = next.conditions?.find((c) => c.type === "Autoscaling");
  if (scale?.reason === "ScaleIgnoredUnderAutoscaling" && next.observedGeneration !== previous?.observedGeneration && (scaleWas?.reason !== scale.reason || scaleWas.message !== scale.message))
    out.push({ type: "Warning", reason: scale.reason, message: scale.message });
  return out;
}

/** Why a pod is not ready, from its status (null when nothing is wrong that the pod itself reports). */
export function podProblem(pod: { metadata: { name: string }; status?: any }): string | null {
  const s = pod.status ?? {};
  const unscheduled = (s.conditions ?? []).find((c: any) => c.type === "PodScheduled" && c.status === "False");
  if (unscheduled) return `${pod.metadata.name}: not scheduled (${unscheduled.reason ?? "Unschedulable"}${unscheduled.message ? `: ${unscheduled.message}` : ""})`;
  for (const c of s.containerStatuses ?? []) {
    const waiting = c.state?.waiting;
    const last = c.lastState?.terminated;
    const parts: string[] = [];
    if (waiting && waiting.reason !== "ContainerCreating") parts.push(waiting.reason + (waiting.message ? ` (${waiting.message})` : ""));
    else if (c.state?.terminated) parts.push(`${c.state.terminated.reason ?? "Terminated"}, exit code ${c.state.terminated.exitCode}`);
    // between two crashes a container runs (or is created) again: its last exit still says why
    if (last && (parts.length || c.restartCount > 0)) parts.push(`last exit code ${last.exitCode}`);
    if (c.restartCount > 0) parts.push(`${c.restartCount} restart${c.restartCount === 1 ? "" : "s"}`);
    if (parts.length) return `${pod.metadata.name}: ${parts.join(", ")}`;
  }
  return null;
}
