// Step 2 of a reconcile: from the spec and what was observed, decide every write (pure). The desired
// objects are built once, from the node count this pass chooses; an owned object is written when it is
// missing, when the operator wants something else of it, or when a field it owns drifted.
import type { AffinityDocument } from "../../protocol/affinity-document.js";
import { RESTARTED_AT, configHash, desiredObjects, exposeType, names, nodeAddress, podTemplate, type TemplateInputs } from "../desired.js";
import { drifted, repairPatch } from "../drift.js";
import { autoscale, planNodes, type NodesPlan, type OperatorEvent, type PodFact } from "../scaling.js";
import type { Problem, StatusFacts } from "../status.js";
import { podProblem } from "../status.js";
import type { ExposeType, KubeObject, PushCluster } from "../types.js";
import { liveKey, type Observed } from "./observe.js";
import { tokenRotation } from "./token-rotation.js";

/** What the operator wrote last time, on each object it owns: the base for removing fields it no longer wants. */
export const LAST_APPLIED = "herald.dev/last-applied";

export type Write =
  | { op: "create"; obj: KubeObject }
  | { op: "patch"; obj: KubeObject; patch: unknown; drift: string[] };

export interface Decision {
  writes: Write[];
  /** Per-node Services of nodes that no longer exist. */
  deleteServices: string[];
  /** HTTPRoutes of nodes that no longer exist, or all of the cluster's once spec.expose.type is no longer Gateway. */
  deleteRoutes: string[];
  /** The cluster's Ingress, once spec.expose.type is no longer Ingress. */
  deleteIngress: string | null;
  deletePods: string[];
  /** The affinity document to write (null: unchanged). */
  affinity: AffinityDocument | null;
  /** A merge patch of `<name>-token-previous`'s data (token-rotation.ts), written before anything else; null: unchanged. */
  tokenState: Record<string, string | null> | null;
  events: OperatorEvent[];
  problem: Problem | null;
  plan: NodesPlan | null;
  facts: {
    target: number;
    replicas: number;
    readyReplicas: number;
    updatedReplicas: number;
    connections: number;
    users: number;
    lastScaleTime: string | null;
    desiredReplicas?: number;
    podProblems: string[];
    drainingWithinGrace: boolean;
    paused?: boolean;
    autoscaling?: StatusFacts["autoscaling"];
    /** status.exposedAs: the expose type, once nothing of an earlier type is left to remove. */
    exposedAs?: ExposeType;
  };
  requeueAfterMs: number | undefined;
}

const lastApplied = (live: any): any => {
  try {
    return JSON.parse(live?.metadata?.annotations?.[LAST_APPLIED] ?? "null");
  } catch {
    return null;
  }
};

/** The object as written: with the annotation recording what the operator wants of it. */
const stamped = (obj: KubeObject): KubeObject => ({ ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [LAST_APPLIED]: JSON.stringify(obj) } } });

/** Create, update or repair one owned object (null: it is as wanted). */
export function writeFor(obj: KubeObject, live: any): { write: Write; event?: OperatorEvent } | null {
  const want = stamped(obj);
  if (!live) return { write: { op: "create", obj: want } };
  const last = lastApplied(live);
  const drift = drifted(want, live, last);
  if (!drift.length) return null;
  const write: Write = { op: "patch", obj: want, patch: repairPatch(want, live, last), drift };
  // the operator wants the same as last time, yet the object differs: someone changed it
  const changedByHand = last !== null && JSON.stringify(last) === JSON.stringify(obj);
  const what = `${obj.kind} ${obj.metadata.namespace}/${obj.metadata.name}`;
  return changedByHand ? { write, event: { type: "Normal", reason: "DriftRepaired", message: `Put back ${drift.join(", ")} of ${what}, changed outside the operator` } } : { write };
}

export function decide(pc: PushCluster, o: Observed): Decision {
  const n = names(pc);
  const now = o.now;
  const iso = new Date(now).toISOString();
  const events: OperatorEvent[] = [];
  const sts = o.live.get(liveKey("StatefulSet", n.statefulSet));
  // The node count the operator last chose (a hand edit of the StatefulSet's replicas is drift, not a scale).
  const current: number = lastApplied(sts)?.spec?.replicas ?? sts?.spec?.replicas ?? 0;
  const loads = o.loads;
  const connections = loads ? [...loads.values()].reduce((s, l) => s + l.sockets, 0) : (pc.status?.connections ?? 0);
  const users = loads ? [...loads.values()].reduce((s, l) => s + l.users, 0) : (pc.status?.users ?? 0);

  // How many nodes.
  const a = pc.spec.autoscaling;
  let target = pc.spec.replicas ?? 2;
  let lastScaleTime = pc.status?.lastScaleTime ?? null;
  if (a?.enabled) {
    const start = pc.status?.desiredReplicas ?? Math.min(Math.max(target, a.minReplicas ?? 1), a.maxReplicas ?? 10);
    target = loads ? autoscale(a, { current: start, lastScaleTime: lastScaleTime ? Date.parse(lastScaleTime) : null }, connections, now) : start;
    if (target !== start) {
      lastScaleTime = iso;
      events.push({ type: "Normal", reason: "Autoscaled", message: `${connections} connections: ${start} → ${target} push nodes (target ${a.targetConnectionsPerNode ?? 5000} per node)` });
    }
  }

  // Which nodes drain, roll, join: the pure scaling decision.
  // What shapes the pods besides the spec: the referenced Secrets' and ConfigMaps' contents (a rotated
  // Secret rolls the nodes, drained) and `kubectl rollout restart`'s stamp on the StatefulSet.
  const restartedAt: string | undefined = sts?.spec?.template?.metadata?.annotations?.[RESTARTED_AT];
  const inputs: TemplateInputs = { configHash: configHash(o.referenced), ...(restartedAt ? { restartedAt } : {}) };
  const hash = podTemplate(pc, inputs).hash;
  const facts: PodFact[] = o.pods.map((p) => {
    const cond = (p.status?.conditions ?? []).find((c: any) => c.type === "Ready");
    const ready = cond?.status === "True" && !p.metadata.deletionTimestamp;
    return {
      name: p.metadata.name,
      ordinal: Number(/-(\d+)$/.exec(p.metadata.name)?.[1] ?? -1),
      ready,
      readySince: ready && cond.lastTransitionTime ? Date.parse(cond.lastTransitionTime) : ready ? now : null,
      hash: p.metadata.labels?.["herald.dev/template-hash"] ?? "",
      terminating: !!p.metadata.deletionTimestamp,
    };
  });
  // A token Secret rotation: the previous secret goes to the pods until every node runs the new template.
  const rollDone = facts.filter((f) => !f.terminating).length >= current && facts.every((f) => f.hash === hash && f.ready && !f.terminating);
  const tokenRef = pc.spec.auth.tokenSecretRef;
  const rotation =
    o.tokenState === undefined
      ? { write: null, previousActive: false }
      : tokenRotation(o.referenced.get(`Secret/${tokenRef?.name ?? n.tokenSecret}`)?.[tokenRef?.key ?? "secret"], o.tokenState, rollDone);
  if (rotation.previousActive) inputs.previousTokenSecret = true;
  let plan: NodesPlan | null = null;
  if (loads)
    plan = planNodes({
      now,
      target,
      current,
      pods: facts,
      desiredHash: hash,
      doc: o.affinity.doc,
      loads,
      draining: pc.status?.draining ?? [],
      graceSeconds: pc.spec.drainGracePeriodSeconds ?? 60,
      pins: pc.spec.pins ?? {},
      nodeName: n.node,
      route: (node) => nodeAddress(pc, node, o.live.get(liveKey("Service", node))),
    });
  const replicas = plan?.replicas ?? Math.max(current, target);
  events.push(...(plan?.events ?? []));

  // The owned objects, built once.
  const serviceNodes = Array.from({ length: Math.max(current, target, replicas) }, (_, i) => n.node(i));
  const writes: Write[] = [];
  for (const obj of desiredObjects(pc, { replicas, nodes: serviceNodes, serviceMonitorCrd: o.serviceMonitorCrd, template: inputs })) {
    const w = writeFor(obj, o.live.get(liveKey(obj.kind, obj.metadata.name)));
    if (!w) continue;
    writes.push(w.write);
    if (w.event) events.push(w.event);
  }
  const before = lastApplied(sts)?.spec?.template?.metadata?.labels?.["herald.dev/template-hash"] ?? sts?.spec?.template?.metadata?.labels?.["herald.dev/template-hash"];
  const onOld = facts.filter((f) => f.hash !== hash && !f.terminating).length;
  if (sts && before && before !== hash && onOld > 0) {
    // the same spec as last applied, yet another template: this operator builds it differently (an upgrade)
    const why = pc.status?.observedGeneration === pc.metadata.generation ? "this operator version builds it differently" : `spec changed (generation ${pc.metadata.generation})`;
    events.push({ type: "Normal", reason: "TemplateChanged", message: `The push-node pod template changed (${why}): rolling ${onOld} push node(s), one drained node at a time` });
  }
  const deleteServices = [...o.live.entries()]
    .filter(([key, x]) => key.startsWith("Service/") && x.metadata?.labels?.["app.kubernetes.io/component"] === "node-route" && !serviceNodes.includes(x.metadata.name))
    .map(([, x]) => x.metadata.name as string);
  // spec.expose: HTTPRoutes of removed nodes go; after a change of type, what the old type left goes too.
  const expose = exposeType(pc);
  const routes = [...o.live.entries()].filter(([key]) => key.startsWith("HTTPRoute/")).map(([, x]) => x);
  const deleteRoutes = (expose === "Gateway" ? routes.filter((x) => x.metadata?.labels?.["app.kubernetes.io/component"] === "node-route" && !serviceNodes.includes(x.metadata.name)) : routes).map((x) => x.metadata.name as string);
  // HTTPRoutes were listed by our labels; the Ingress is read by name, so its labels must say we made it
  const ingress = o.live.get(liveKey("Ingress", names(pc).ingress));
  const ours = ingress?.metadata?.labels?.["app.kubernetes.io/managed-by"] === "herald-operator" && ingress?.metadata?.labels?.["app.kubernetes.io/instance"] === pc.metadata.name;
  const deleteIngress: string | null = expose !== "Ingress" && ours ? ingress.metadata.name : null;
  const leftovers = [deleteIngress && `Ingress ${deleteIngress}`, expose !== "Gateway" && deleteRoutes.length > 0 && `HTTPRoutes ${deleteRoutes.join(", ")}`].filter(Boolean);
  if (leftovers.length) events.push({ type: "Normal", reason: "ExposeChanged", message: `spec.expose.type is ${expose}: removing ${leftovers.join(" and ")}` });
  // follows the spec once nothing of the earlier type is left (a failed delete is looked for again next pass)
  const exposedAs = leftovers.length ? pc.status?.exposedAs : expose;

  const autoscaling = a?.enabled ? { specReplicas: pc.spec.replicas ?? 2, min: a.minReplicas ?? 1, max: a.maxReplicas ?? 10, target, connections } : null;
  if (pc.spec.paused) {
    // Observe and report; write nothing (the status keeps its drains and document version).
    return {
      writes: [],
      deleteServices: [],
      deleteRoutes: [],
      deleteIngress: null,
      deletePods: [],
      affinity: null,
      tokenState: null,
      events: [],
      problem: o.redisError ? { reason: "RedisUnavailable", message: `cannot read the nodes' heartbeats: ${o.redisError}` } : null,
      plan: null,
      facts: {
        target: pc.status?.desiredReplicas ?? target,
        replicas: current,
        readyReplicas: facts.filter((f) => f.ready).length,
        updatedReplicas: facts.filter((f) => f.hash === hash && !f.terminating).length,
        connections,
        users,
        lastScaleTime: pc.status?.lastScaleTime ?? null,
        podProblems: o.pods.filter((p) => !facts.find((f) => f.name === p.metadata.name)?.ready).flatMap((p) => podProblem(p) ?? []),
        drainingWithinGrace: false,
        paused: true,
        autoscaling: null,
      },
      requeueAfterMs: undefined,
    };
  }
  const problem: Problem | null = o.redisError ? { reason: "RedisUnavailable", message: `cannot read the nodes' heartbeats: ${o.redisError}` } : null;
  const grace = (pc.spec.drainGracePeriodSeconds ?? 60) * 1000;
  return {
    writes,
    deleteServices,
    deleteRoutes,
    deleteIngress,
    deletePods: plan?.deletePods ?? [],
    affinity: plan && (plan.docChanged || !o.affinity.configMap) ? plan.doc : null,
    tokenState: rotation.write,
    events,
    problem,
    plan,
    facts: {
      target,
      replicas,
      readyReplicas: facts.filter((f) => f.ready).length,
      updatedReplicas: facts.filter((f) => f.hash === hash && !f.terminating).length,
      connections,
      users,
      lastScaleTime,
      ...(a?.enabled ? { desiredReplicas: target } : {}),
      podProblems: o.pods.filter((p) => !facts.find((f) => f.name === p.metadata.name)?.ready).flatMap((p) => podProblem(p) ?? []),
      drainingWithinGrace: (plan?.draining ?? []).some((d) => now - Date.parse(d.since) < grace),
      autoscaling,
      exposedAs,
    },
    // A stable cluster without autoscaling waits for a watch event or the periodic resync; nothing to poll.
    requeueAfterMs: problem ? 5000 : plan && plan.phase !== "Stable" ? 1000 : a?.enabled ? 5000 : undefined,
  };
}
