// Scaling, draining, rolling and the affinity document: the operator's decisions, as pure functions.
import type { AffinityDocument, AffinityNode } from "../protocol/affinity-document.js";
import type { Draining, PushClusterSpec } from "./types.js";

export interface PodFact {
  name: string;
  ordinal: number;
  ready: boolean;
  /** When the pod last became ready (ms), or null. */
  readySince: number | null;
  hash: string;
  terminating: boolean;
}

export interface NodeLoad {
  sockets: number;
  users: number;
}

export interface NodesObserved {
  now: number;
  /** What the cluster should have: spec.replicas, or the autoscaler's choice. */
  target: number;
  /** The StatefulSet's current spec.replicas (0 when it does not exist yet). */
  current: number;
  pods: PodFact[];
  desiredHash: string;
  doc: AffinityDocument | null;
  /** Live nodes' load from their heartbeats; a node absent here is not alive. */
  loads: ReadonlyMap<string, NodeLoad>;
  draining: Draining[];
  graceSeconds: number;
  pins: Record<string, string>;
  /** How clients reach each node (null while unknown, e.g. its Service has no IP yet). */
  route: (node: string) => { url: string; path: string } | null;
  nodeName: (ordinal: number) => string;
  /** Newly ready nodes join the document together, or after this long. */
  activationBatchSeconds?: number;
}

export interface OperatorEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export interface NodesPlan {
  replicas: number;
  doc: AffinityDocument;
  docChanged: boolean;
  draining: Draining[];
  deletePods: string[];
  events: OperatorEvent[];
  phase: "Stable" | "ScalingUp" | "ScalingDown" | "Rolling" | "WaitingForPods";
}

const ordinalOf = (name: string) => Number(/-(\d+)$/.exec(name)?.[1] ?? -1);

export function planNodes(o: NodesObserved): NodesPlan {
  const events: OperatorEvent[] = [];
  const iso = new Date(o.now).toISOString();
  const drains = new Map(o.draining.map((d) => [d.node, d]));
  const pods = new Map(o.pods.map((p) => [p.name, p]));
  const done = (node: string) => {
    const d = drains.get(node);
    const load = o.loads.get(node);
    if (!load || load.sockets === 0) return true;
    return d !== undefined && o.now - Date.parse(d.since) >= o.graceSeconds * 1000;
  };

  // Scale-down: the highest ordinals drain first; scaling back up cancels their drain.
  for (let i = o.target; i < o.current; i++) {
    const node = o.nodeName(i);
    if (!drains.has(node)) {
      drains.set(node, { node, since: iso, reason: "scale-down" });
      events.push({ type: "Normal", reason: "Draining", message: `Draining ${node} before removing it (scale down to ${o.target})` });
    }
  }
  for (const d of [...drains.values()])
    if (d.reason === "scale-down" && ordinalOf(d.node) < o.target) {
      drains.delete(d.node);
      events.push({ type: "Normal", reason: "DrainCancelled", message: `${d.node} is needed again` });
    }

  let replicas = o.current;
  if (o.target > o.current) {
    replicas = o.target;
    events.push({ type: "Normal", reason: "ScalingUp", message: `Scaling push nodes from ${o.current} to ${o.target}` });
  } else if (o.target < o.current) {
    while (replicas > o.target && done(o.nodeName(replicas - 1))) replicas--;
    if (replicas < o.current) events.push({ type: "Normal", reason: "ScalingDown", message: `Removing ${o.current - replicas} drained push node(s); ${replicas} remain` });
  }
  for (const node of [...drains.keys()]) if (ordinalOf(node) >= replicas) drains.delete(node);

  // Rolling: one node at a time, highest ordinal first, drained before its pod is replaced.
  const deletePods: string[] = [];
  const inRange = o.pods.filter((p) => p.ordinal < Math.min(replicas, o.target));
  const rolling = [...drains.values()].filter((d) => d.reason === "rolling");
  for (const d of rolling) {
    const pod = pods.get(d.node);
    if (pod && pod.hash === o.desiredHash) {
      if (pod.ready) {
        drains.delete(d.node);
        events.push({ type: "Normal", reason: "Rolled", message: `${d.node} runs the new template and takes users again` });
      }
    } else if (pod && !pod.terminating && done(d.node)) {
      deletePods.push(pod.name);
      events.push({ type: "Normal", reason: "Replacing", message: `Replacing ${pod.name} with the new template` });
    }
  }
  const settled = replicas === o.target && inRange.length === o.target && inRange.every((p) => p.ready);
  if (![...drains.values()].some((d) => d.reason === "rolling") && settled) {
    const outdated = inRange.filter((p) => p.hash !== o.desiredHash && !p.terminating).sort((a, b) => b.ordinal - a.ordinal);
    const next = outdated[0];
    if (next) {
      drains.set(next.name, { node: next.name, since: iso, reason: "rolling" });
      events.push({ type: "Normal", reason: "Draining", message: `Draining ${next.name} to roll it to the new template` });
    }
  }

  const doc = nextDocument(o, replicas, drains);
  const phase: NodesPlan["phase"] =
    o.target > o.current || (replicas === o.target && inRange.length < o.target) ? "ScalingUp"
    : o.target < o.current ? "ScalingDown"
    : [...drains.values()].some((d) => d.reason === "rolling") ? "Rolling"
    : inRange.some((p) => !p.ready) ? "WaitingForPods"
    : "Stable";
  return { replicas, doc: doc.doc, docChanged: doc.changed, draining: [...drains.values()].sort((a, b) => a.node.localeCompare(b.node)), deletePods, events, phase };
}

/** The affinity document after this decision: listed nodes stay listed; ready nodes join (in batches). */
function nextDocument(o: NodesObserved, replicas: number, drains: Map<string, Draining>): { doc: AffinityDocument; changed: boolean } {
  const previous = new Map((o.doc?.nodes ?? []).map((n) => [n.id, n]));
  const pods = new Map(o.pods.map((p) => [p.name, p]));
  const waiting: PodFact[] = [];
  for (let i = 0; i < Math.min(replicas, o.target); i++) {
    const name = o.nodeName(i);
    if (previous.has(name)) continue;
    const pod = pods.get(name);
    if (!pod || !pod.ready || !o.route(name)) waiting.push(pod ?? { name, ordinal: i, ready: false, readySince: null, hash: "", terminating: false });
  }
  const batch = (o.activationBatchSeconds ?? 30) * 1000;
  const readyNew = (name: string) => {
    const pod = pods.get(name);
    return !!pod && pod.ready && !!o.route(name);
  };
  const oldestReady = Math.min(...o.pods.filter((p) => !previous.has(p.name) && readyNew(p.name) && p.readySince !== null).map((p) => p.readySince!));
  const admit = waiting.length === 0 || o.now - oldestReady >= batch;

  const nodes: AffinityNode[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = o.nodeName(i);
    const listed = previous.get(name);
    if (!listed && !(admit && readyNew(name))) continue;
    const route = o.route(name) ?? { url: listed!.url, path: listed!.path };
    nodes.push({ id: name, url: route.url, path: route.path, state: drains.has(name) ? "draining" : "active" });
  }
  const pins = { ...o.pins };
  const base = { nodes, pins };
  const same = o.doc !== null && JSON.stringify({ nodes: o.doc.nodes, pins: o.doc.pins }) === JSON.stringify(base);
  return { doc: { version: same ? o.doc!.version : (o.doc?.version ?? 0) + 1, ...base }, changed: !same };
}

export interface AutoscaleState {
  current: number;
  lastScaleTime: number | null;
}

/**
 * The node count for the connections seen now. Up when the nodes would carry more than the target each;
 * down only when the smaller cluster would still have 10 % headroom; each direction has a cool-down
 * since the last change. Between those thresholds the count holds, so the cluster does not flap.
 */
export function autoscale(a: NonNullable<PushClusterSpec["autoscaling"]>, s: AutoscaleState, connections: number, now: number): number {
  const min = a.minReplicas ?? 1;
  const max = a.maxReplicas ?? 10;
  const target = a.targetConnectionsPerNode ?? 5000;
  const clamp = (n: number) => Math.min(max, Math.max(min, n));
  const since = s.lastScaleTime === null ? Infinity : now - s.lastScaleTime;
  const current = clamp(s.current);
  if (current !== s.current) return current;
  const up = clamp(Math.ceil(connections / target));
  if (up > current) return since >= (a.scaleUpCooldownSeconds ?? 30) * 1000 ? up : current;
  const down = clamp(Math.ceil(connections / (target * 0.9)));
  if (down < current) return since >= (a.scaleDownCooldownSeconds ?? 300) * 1000 ? down : current;
  return current;
}
