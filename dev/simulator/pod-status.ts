// A pod's status from the state of its container processes (pure).
import type { Obj } from "./objects.js";

export interface ContainerState {
  name: string;
  image: string;
  state: "waiting" | "running" | "terminated";
  reason?: string;
  message?: string;
  pid?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  ready: boolean;
  started: boolean;
  restartCount: number;
  last?: { exitCode: number; reason: string; startedAt?: string; finishedAt: string };
}

export interface PodRuntimeState {
  ip: string;
  startTime: string;
  initialized: boolean;
  containers: ContainerState[];
  restartPolicy: string;
}

function containerStatus(c: ContainerState): Obj {
  const state =
    c.state === "running" ? { running: { startedAt: c.startedAt } }
    : c.state === "terminated" ? { terminated: { exitCode: c.exitCode ?? 0, reason: c.reason ?? (c.exitCode === 0 ? "Completed" : "Error"), startedAt: c.startedAt, finishedAt: c.finishedAt, containerID: `sim://${c.pid ?? 0}` } }
    : { waiting: { reason: c.reason ?? "ContainerCreating", ...(c.message ? { message: c.message } : {}) } };
  return {
    name: c.name,
    image: c.image,
    imageID: "",
    ...(c.pid ? { containerID: `sim://${c.pid}` } : {}),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state,
    lastState: c.last ? { terminated: { exitCode: c.last.exitCode, reason: c.last.reason, startedAt: c.last.startedAt, finishedAt: c.last.finishedAt } } : {},
  };
}

export function podPhase(rt: PodRuntimeState): string {
  const cs = rt.containers;
  if (cs.length > 0 && cs.every((c) => c.state === "terminated")) {
    if (rt.restartPolicy === "Never" || (rt.restartPolicy === "OnFailure" && cs.every((c) => c.exitCode === 0)))
      return cs.every((c) => c.exitCode === 0) ? "Succeeded" : "Failed";
  }
  if (cs.some((c) => c.state === "running" || c.restartCount > 0 || c.last)) return "Running";
  return "Pending";
}

export function podStatus(previous: Obj | undefined, rt: PodRuntimeState, now: string): Obj {
  const allReady = rt.containers.length > 0 && rt.containers.every((c) => c.ready);
  const prevConditions: Obj[] = previous?.conditions ?? [];
  const condition = (type: string, ok: boolean) => {
    const status = ok ? "True" : "False";
    const before = prevConditions.find((c) => c.type === type);
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
      ...(!ok && (type === "Ready" || type === "ContainersReady") ? { reason: "ContainersNotReady" } : {}),
    };
  };
  return {
    phase: podPhase(rt),
    hostIP: "127.0.0.1",
    hostIPs: [{ ip: "127.0.0.1" }],
    podIP: rt.ip,
    podIPs: [{ ip: rt.ip }],
    startTime: rt.startTime,
    qosClass: previous?.qosClass ?? "BestEffort",
    conditions: [
      condition("PodReadyToStartContainers", true),
      condition("Initialized", rt.initialized),
      condition("Ready", allReady),
      condition("ContainersReady", allReady),
      condition("PodScheduled", true),
    ],
    containerStatuses: rt.containers.map(containerStatus),
  };
}
