// One PushCluster, one pass: read the world, decide with the pure functions, write the difference.
import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { parseAffinityDocument, type AffinityDocument } from "../push-node/affinity/document.js";
import { desiredObjects, hasFinalizer, keyPrefix, labels, missingSecrets, names, nodeRoute, ownerReference, podTemplate, secretRefs, selectorString, specProblems, tokenSecret } from "./desired.js";
import { autoscale, planNodes, type NodesPlan, type PodFact } from "./scaling.js";
import { conditionEvents, nextStatus, podProblem, type Problem } from "./status.js";
import { deletePrefix, readLoads, type RedisPool } from "./redis-ops.js";
import { FINALIZER, GROUP, KIND, PLURAL, VERSION, type KubeObject, type PushCluster, type PushClusterStatus } from "./types.js";
import { KubeError, apiPath, pluralOf, type KubeRest } from "./kube/rest.js";
import type { EventRecorder } from "./kube/events.js";

const SPEC_HASH = "herald.dev/spec-hash";
const SKIP_CLEANUP = "herald.dev/skip-redis-cleanup";

export interface ReconcileResult {
  requeueAfterMs?: number;
  /** The status this pass wrote (or found current): what the per-PushCluster metrics report. */
  status?: PushClusterStatus;
}

/** A write the API server refused for a reason retrying will not fix (invalid, forbidden...): reported as ApplyFailed. */
export class ApplyFailed extends Error {}

/** Turns a 4xx answer (other than a conflict or throttling, which a retry fixes) into ApplyFailed naming the object. */
export function refused(err: unknown, kind: string, namespace: string | undefined, name: string): unknown {
  if (!(err instanceof KubeError) || err.status < 400 || err.status >= 500 || err.status === 409 || err.status === 429) return err;
  const message = (err.body as { message?: string } | undefined)?.message ?? err.message;
  return new ApplyFailed(`The API server refused ${kind} ${namespace ? `${namespace}/` : ""}${name} (${err.status} ${err.reason}): ${message}`);
}

export class Reconciler {
  private smCrd: { at: number; present: boolean } = { at: 0, present: false };

  constructor(private readonly d: { rest: KubeRest; events: EventRecorder; redis: RedisPool; log: Logger; now?: () => number }) {}

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { rest } = this.d;
    const path = apiPath(`${GROUP}/${VERSION}`, PLURAL, namespace, name);
    let pc = await rest.find<PushCluster>(path);
    if (!pc) return {};
    if (pc.metadata.deletionTimestamp) return this.finalize(pc, path);
    if (!hasFinalizer(pc)) pc = await rest.request<PushCluster>("PUT", path, { body: { ...pc, metadata: { ...pc.metadata, finalizers: [...(pc.metadata.finalizers ?? []), FINALIZER] } } });

    const problems = specProblems(pc);
    if (problems.length) return this.blocked(pc, { reason: "InvalidSpec", message: problems.join("; ") });
    const secrets = await this.readSecrets(pc);
    const missing = missingSecrets(pc, secrets);
    if (missing) return this.blocked(pc, { reason: "SecretMissing", message: missing }, 10_000);
    const urlRef = pc.spec.redis.urlSecretRef;
    const redisUrl = pc.spec.redis.url ?? Buffer.from(secrets.get(urlRef!.name)![urlRef!.key ?? "url"]!, "base64").toString("utf8");
    try {
      return await this.converge(pc, redisUrl);
    } catch (err) {
      if (err instanceof ApplyFailed) return this.blocked(pc, { reason: "ApplyFailed", message: err.message }, 15_000);
      throw err;
    }
  }

  /** Brings the owned objects, the affinity document and the pods to the spec; any write the API refuses throws ApplyFailed. */
  private async converge(pc: PushCluster, redisUrl: string): Promise<ReconcileResult> {
    const { rest } = this.d;
    const { namespace, name } = pc.metadata;
    if (!pc.spec.auth.tokenSecretRef) await this.ensureTokenSecret(pc);

    // Observe.
    const n = names(pc);
    const sts = await rest.find(apiPath("apps/v1", "statefulsets", namespace, n.statefulSet));
    const current: number = sts?.spec?.replicas ?? 0;
    const pods = (await rest.get(apiPath("v1", "pods", namespace), { labelSelector: selectorString(pc) })).items as any[];
    const cm = await rest.find(apiPath("v1", "configmaps", namespace, n.affinity));
    let doc: AffinityDocument | null = null;
    try {
      doc = cm?.data?.["affinity.json"] ? parseAffinityDocument(cm.data["affinity.json"]) : null;
    } catch {
      doc = null;
    }
    const now = this.now();
    let loads: Awaited<ReturnType<typeof readLoads>> | null = null;
    let problem: Problem | null = null;
    try {
      loads = await readLoads(this.d.redis.client(redisUrl, pc.spec.redis.mode ?? "standalone"), keyPrefix(pc), now);
    } catch (err) {
      problem = { reason: "RedisUnavailable", message: `cannot read the nodes' heartbeats: ${(err as Error).message}` };
    }
    const connections = loads ? [...loads.values()].reduce((s, l) => s + l.sockets, 0) : (pc.status?.connections ?? 0);
    const users = loads ? [...loads.values()].reduce((s, l) => s + l.users, 0) : (pc.status?.users ?? 0);

    // Decide how many nodes.
    const a = pc.spec.autoscaling;
    let target = pc.spec.replicas ?? 2;
    let lastScaleTime = pc.status?.lastScaleTime ?? null;
    if (a?.enabled) {
      const start = pc.status?.desiredReplicas ?? Math.min(Math.max(target, a.minReplicas ?? 1), a.maxReplicas ?? 10);
      target = loads ? autoscale(a, { current: start, lastScaleTime: lastScaleTime ? Date.parse(lastScaleTime) : null }, connections, now) : start;
      if (target !== start) {
        lastScaleTime = new Date(now).toISOString();
        await this.event(pc, "Normal", "Autoscaled", `${connections} connections: ${start} → ${target} push nodes (target ${a.targetConnectionsPerNode ?? 5000} per node)`);
      }
    }

    // Owned objects other than the StatefulSet first, so that the per-node Services have addresses.
    const serviceNodes = Array.from({ length: Math.max(current, target) }, (_, i) => n.node(i));
    const serviceMonitorCrd = await this.serviceMonitorCrdPresent();
    const objects = desiredObjects(pc, { replicas: current, nodes: serviceNodes, serviceMonitorCrd });
    const services = new Map<string, any>();
    for (const obj of objects) {
      if (obj.kind === "StatefulSet") continue;
      const applied = await this.apply(obj);
      if (obj.kind === "Service") services.set(obj.metadata.name, applied);
    }
    await this.pruneNodeServices(pc, serviceNodes);

    const hash = podTemplate(pc).hash;
    const facts: PodFact[] = pods.map((p) => {
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

    let plan: NodesPlan | null = null;
    let replicas = Math.max(current, target);
    if (loads) {
      plan = planNodes({
        now,
        target,
        current,
        pods: facts,
        desiredHash: hash,
        doc,
        loads,
        draining: pc.status?.draining ?? [],
        graceSeconds: pc.spec.drainGracePeriodSeconds ?? 60,
        pins: pc.spec.pins ?? {},
        nodeName: n.node,
        route: (node) => {
          const r = nodeRoute(pc!, node);
          if (r.publicUrl) return { url: r.publicUrl, path: r.path };
          const ip = services.get(node)?.spec?.clusterIP;
          return ip && ip !== "None" ? { url: `http://${ip}`, path: r.path } : null;
        },
      });
      replicas = plan.replicas;
      if (plan.draining.length || plan.replicas !== current) this.d.log.debug({ cluster: name, target, current, replicas, loads: Object.fromEntries(loads), draining: plan.draining.map((d) => d.node) }, "scaling");
    }

    // Write: the StatefulSet, the affinity document, pods to replace, events, status.
    const stsObj = desiredObjects(pc, { replicas, nodes: serviceNodes, serviceMonitorCrd }).find((o) => o.kind === "StatefulSet")!;
    await this.apply(stsObj);
    if (plan?.docChanged || (plan && !cm)) await this.writeAffinity(pc, plan.doc, cm);
    for (const podName of plan?.deletePods ?? []) {
      try {
        await rest.request("DELETE", apiPath("v1", "pods", namespace, podName));
      } catch (err) {
        if (!(err instanceof KubeError && err.status === 404)) throw refused(err, "Pod", namespace, podName);
      }
    }
    for (const e of plan?.events ?? []) await this.event(pc, e.type, e.reason, e.message);

    const readyReplicas = facts.filter((f) => f.ready).length;
    const updatedReplicas = facts.filter((f) => f.hash === hash && !f.terminating).length;
    const grace = (pc.spec.drainGracePeriodSeconds ?? 60) * 1000;
    const podProblems = pods.filter((p) => !facts.find((f) => f.name === p.metadata.name)?.ready).flatMap((p) => podProblem(p) ?? []);
    const drainingWithinGrace = (plan?.draining ?? []).some((d) => now - Date.parse(d.since) < grace);
    const status = await this.writeStatus(pc, plan, problem, { target, replicas, readyReplicas, updatedReplicas, connections, users, lastScaleTime, desiredReplicas: a?.enabled ? target : undefined, podProblems, drainingWithinGrace });
    if (problem) return { requeueAfterMs: 5000, status };
    if (plan && plan.phase !== "Stable") return { requeueAfterMs: 1000, status };
    return { requeueAfterMs: a?.enabled ? 5000 : 30_000, status };
  }

  /** Creates the object, or merge-patches it when what the operator wants of it changed. */
  private async apply(obj: KubeObject): Promise<any> {
    try {
      return await this.applyOnce(obj);
    } catch (err) {
      throw refused(err, obj.kind, obj.metadata.namespace, obj.metadata.name);
    }
  }

  private async applyOnce(obj: KubeObject): Promise<any> {
    const { rest } = this.d;
    const hash = createHash("sha256").update(JSON.stringify(obj)).digest("hex").slice(0, 16);
    const body = { ...obj, metadata: { ...obj.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [SPEC_HASH]: hash } } };
    const plural = pluralOf(obj.kind);
    const path = apiPath(obj.apiVersion, plural, obj.metadata.namespace, obj.metadata.name);
    const existing = await rest.find(path);
    if (!existing) {
      try {
        return await rest.request("POST", apiPath(obj.apiVersion, plural, obj.metadata.namespace), { body });
      } catch (err) {
        if (err instanceof KubeError && err.status === 409) return rest.get(path);
        throw err;
      }
    }
    if (existing.metadata?.annotations?.[SPEC_HASH] === hash) return existing;
    return rest.request("PATCH", path, { body, contentType: "application/merge-patch+json" });
  }

  /** Per-node Services of nodes that no longer exist go away. */
  private async pruneNodeServices(pc: PushCluster, keep: string[]): Promise<void> {
    const list = await this.d.rest.get(apiPath("v1", "services", pc.metadata.namespace), { labelSelector: `app.kubernetes.io/instance=${pc.metadata.name},app.kubernetes.io/component=node-route` });
    for (const svc of list.items ?? []) {
      if (keep.includes(svc.metadata.name)) continue;
      await this.d.rest.request("DELETE", apiPath("v1", "services", pc.metadata.namespace, svc.metadata.name)).catch(() => {});
    }
  }

  private async writeAffinity(pc: PushCluster, doc: AffinityDocument, existing: any): Promise<void> {
    const n = names(pc);
    const body = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: n.affinity, namespace: pc.metadata.namespace, labels: labels(pc, "affinity"), ownerReferences: [ownerReference(pc)] },
      data: { "affinity.json": JSON.stringify(doc, null, 2) },
    };
    try {
      if (!existing) await this.d.rest.request("POST", apiPath("v1", "configmaps", pc.metadata.namespace), { body });
      else await this.d.rest.request("PUT", apiPath("v1", "configmaps", pc.metadata.namespace, n.affinity), { body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } } });
    } catch (err) {
      throw refused(err, "ConfigMap", pc.metadata.namespace, n.affinity);
    }
    this.d.log.info({ cluster: pc.metadata.name, version: doc.version, nodes: doc.nodes.map((x) => `${x.id}:${x.state}`) }, "affinity document written");
  }

  private async ensureTokenSecret(pc: PushCluster): Promise<void> {
    const n = names(pc);
    const path = apiPath("v1", "secrets", pc.metadata.namespace, n.tokenSecret);
    if (await this.d.rest.find(path)) return;
    try {
      await this.d.rest.request("POST", apiPath("v1", "secrets", pc.metadata.namespace), { body: tokenSecret(pc, randomBytes(32).toString("base64url")) });
      await this.event(pc, "Normal", "TokenSecretCreated", `Generated Secret ${n.tokenSecret} to sign access tokens`);
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 409)) throw refused(err, "Secret", pc.metadata.namespace, n.tokenSecret);
    }
  }

  private async secretValue(namespace: string, name: string, key: string): Promise<string | null> {
    const s = await this.d.rest.find(apiPath("v1", "secrets", namespace, name));
    const v = s?.data?.[key];
    return v ? Buffer.from(v, "base64").toString("utf8") : (s?.stringData?.[key] ?? null);
  }

  private async serviceMonitorCrdPresent(): Promise<boolean> {
    if (this.now() - this.smCrd.at < 30_000) return this.smCrd.present;
    const crd = await this.d.rest.find("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicemonitors.monitoring.coreos.com").catch(() => null);
    this.smCrd = { at: this.now(), present: !!crd };
    return this.smCrd.present;
  }

  private async writeStatus(
    pc: PushCluster,
    plan: NodesPlan | null,
    problem: Problem | null,
    f: { target?: number; replicas?: number; readyReplicas?: number; updatedReplicas?: number; connections?: number; users?: number; lastScaleTime?: string | null; desiredReplicas?: number; podProblems?: string[]; drainingWithinGrace?: boolean },
  ): Promise<PushClusterStatus> {
    const status = nextStatus(
      pc.status,
      {
        generation: pc.metadata.generation ?? 0,
        target: f.target ?? pc.spec.replicas ?? 0,
        replicas: f.replicas ?? pc.status?.replicas ?? 0,
        readyReplicas: f.readyReplicas ?? pc.status?.readyReplicas ?? 0,
        updatedReplicas: f.updatedReplicas ?? pc.status?.updatedReplicas ?? 0,
        progressDeadlineSeconds: pc.spec.progressDeadlineSeconds ?? 600,
        drainingWithinGrace: f.drainingWithinGrace ?? false,
        podProblems: f.podProblems ?? [],
        selector: selectorString(pc),
        connections: f.connections ?? pc.status?.connections ?? 0,
        users: f.users ?? pc.status?.users ?? 0,
        plan,
        problem,
      },
      new Date(this.now()).toISOString().replace(/\.\d+Z$/, "Z"),
    );
    if (f.lastScaleTime) status.lastScaleTime = f.lastScaleTime;
    if (f.desiredReplicas !== undefined) status.desiredReplicas = f.desiredReplicas;
    if (JSON.stringify(status) === JSON.stringify(pc.status)) return status;
    await this.d.rest.request("PATCH", apiPath(`${GROUP}/${VERSION}`, PLURAL, pc.metadata.namespace, pc.metadata.name, "status"), {
      body: { status },
      contentType: "application/merge-patch+json",
    });
    for (const e of conditionEvents(pc.status, status)) await this.event(pc, e.type, e.reason, e.message);
    return status;
  }

  /** A pass that cannot bring the cluster to its spec: say why in the status (and an event), and look again later. */
  private async blocked(pc: PushCluster, problem: Problem, requeueAfterMs?: number): Promise<ReconcileResult> {
    const status = await this.writeStatus(pc, null, problem, {});
    return { requeueAfterMs, status };
  }

  /** The referenced Secrets' data by name (null for a Secret that does not exist). */
  private async readSecrets(pc: PushCluster): Promise<Map<string, Record<string, string> | null>> {
    const out = new Map<string, Record<string, string> | null>();
    for (const { name } of secretRefs(pc)) {
      if (out.has(name)) continue;
      const s = await this.d.rest.find(apiPath("v1", "secrets", pc.metadata.namespace, name));
      out.set(name, s ? (s.data ?? {}) : null);
    }
    return out;
  }

  /**
   * The finalizer: stop the push nodes (they would write again), remove the cluster's keys in Redis
   * (only under its prefix), then let the object go; garbage collection takes what it owned.
   */
  private async finalize(pc: PushCluster, path: string): Promise<ReconcileResult> {
    if (!hasFinalizer(pc)) return {};
    const ns = pc.metadata.namespace;
    const sts = await this.d.rest.find(apiPath("apps/v1", "statefulsets", ns, names(pc).statefulSet));
    if (sts && sts.spec?.replicas !== 0) {
      await this.d.rest.request("PATCH", apiPath("apps/v1", "statefulsets", ns, names(pc).statefulSet), { body: { spec: { replicas: 0 } }, contentType: "application/merge-patch+json" });
      await this.event(pc, "Normal", "Stopping", "Stopping the push nodes before removing the cluster's Redis keys");
    }
    const pods = (await this.d.rest.get(apiPath("v1", "pods", ns), { labelSelector: selectorString(pc) })).items ?? [];
    if (pods.length) return { requeueAfterMs: 500 };
    const skip = pc.metadata.labels?.[SKIP_CLEANUP] === "true" || (pc.metadata as { annotations?: Record<string, string> }).annotations?.[SKIP_CLEANUP] === "true";
    if (!skip) {
      try {
        const url = pc.spec.redis.url ?? (await this.secretValue(pc.metadata.namespace, pc.spec.redis.urlSecretRef!.name, pc.spec.redis.urlSecretRef!.key ?? "url"));
        if (!url) throw new Error("the Redis URL Secret is gone");
        const deleted = await deletePrefix(this.d.redis.client(url, pc.spec.redis.mode ?? "standalone"), keyPrefix(pc));
        this.d.log.info({ cluster: pc.metadata.name, prefix: keyPrefix(pc), deleted }, "removed the cluster's Redis keys");
        await this.event(pc, "Normal", "RedisCleaned", `Removed ${deleted} Redis keys under ${keyPrefix(pc)}:`);
      } catch (err) {
        await this.event(pc, "Warning", "RedisCleanupFailed", `${(err as Error).message}; retrying (annotate ${SKIP_CLEANUP}=true to skip)`);
        return { requeueAfterMs: 5000 };
      }
    }
    await this.d.rest.request("PUT", path, { body: { ...pc, metadata: { ...pc.metadata, finalizers: (pc.metadata.finalizers ?? []).filter((f) => f !== FINALIZER) } } });
    return {};
  }

  private event(pc: PushCluster, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    return this.d.events.record({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: pc.metadata.name, namespace: pc.metadata.namespace, uid: pc.metadata.uid }, type, reason, message);
  }
}
