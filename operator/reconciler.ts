// One PushCluster, one pass, in named steps (operator/reconcile/): finalize when it is being deleted;
// refuse an unusable spec or missing Secrets; observe the world; decide every write (pure); act; then
// write the status. Each step returns early with a reason a person can act on.
import type { Logger } from "pino";
import { hasFinalizer, missingSecrets, names, selectorString, specProblems } from "./desired.js";
import type { RedisPool } from "./redis-ops.js";
import type { NodesPlan, OperatorEvent } from "./scaling.js";
import { conditionEvents, nextStatus, type Problem } from "./status.js";
import { FINALIZER, GROUP, KIND, PLURAL, VERSION, type PushCluster, type PushClusterStatus } from "./types.js";
import { apiPath, type KubeRest } from "../common/kube/client.js";
import type { EventRecorder } from "./kube/events.js";
import type { KubeCache } from "./kube/cache.js";
import { observe, observeReferenced, secretsByName } from "./reconcile/observe.js";
import { decide, type Decision } from "./reconcile/decide.js";
import { ApplyFailed, act, ensureTokenSecret } from "./reconcile/act.js";
import { finalize } from "./reconcile/finalize.js";

export interface ReconcileResult {
  requeueAfterMs?: number;
  /** The status this pass wrote (or found current): what the per-PushCluster metrics report. */
  status?: PushClusterStatus;
}

export class Reconciler {
  private smCrd: { at: number; present: boolean } = { at: 0, present: false };

  constructor(private readonly d: { rest: KubeRest; cache: KubeCache; events: EventRecorder; redis: RedisPool; log: Logger; now?: () => number }) {}

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { rest, cache } = this.d;
    const path = apiPath(`${GROUP}/${VERSION}`, PLURAL, namespace, name);
    let pc: PushCluster | undefined = cache.pushCluster(namespace, name);
    if (!pc) {
      cache.release(`${namespace}/${name}`);
      return {};
    }
    if (pc.metadata.deletionTimestamp) return { requeueAfterMs: await finalize({ ...this.d, event: this.event, secretValue: this.secretValue }, pc, path) };
    if (!hasFinalizer(pc)) pc = await rest.request<PushCluster>("PUT", path, { body: { ...pc, metadata: { ...pc.metadata, finalizers: [...(pc.metadata.finalizers ?? []), FINALIZER] } } });

    const problems = specProblems(pc);
    if (problems.length) return this.blocked(pc, { reason: "InvalidSpec", message: problems.join("; ") });
    const actor = { rest, log: this.d.log, event: this.event };
    let referenced = await observeReferenced(cache, pc);
    if (!pc.spec.auth.tokenSecretRef && !referenced.get(`Secret/${names(pc).tokenSecret}`)) {
      try {
        await ensureTokenSecret(actor, pc);
      } catch (err) {
        if (err instanceof ApplyFailed) return this.blocked(pc, { reason: "ApplyFailed", message: err.message }, 15_000);
        throw err;
      }
      referenced = await observeReferenced(cache, pc); // the pods' first template already counts it
    }
    const secrets = secretsByName(referenced);
    const missing = missingSecrets(pc, secrets);
    if (missing) return this.blocked(pc, { reason: "SecretMissing", message: missing }, 10_000);
    const urlRef = pc.spec.redis.urlSecretRef;
    const redisUrl = pc.spec.redis.url ?? Buffer.from(secrets.get(urlRef!.name)![urlRef!.key ?? "url"]!, "base64").toString("utf8");

    const observed = await observe({ cache, rest, redis: this.d.redis, serviceMonitorCrd: () => this.serviceMonitorCrdPresent() }, pc, referenced, redisUrl, this.now());
    const decision = decide(pc, observed);
    if (decision.plan && decision.plan.phase !== "Stable") this.d.log.debug({ cluster: name, phase: decision.plan.phase, ...decision.facts, draining: decision.plan.draining.map((x) => x.node) }, "scaling");
    try {
      await act(actor, pc, observed, decision);
    } catch (err) {
      if (err instanceof ApplyFailed) return this.blocked(pc, { reason: "ApplyFailed", message: err.message }, 15_000);
      throw err;
    }
    const status = await this.writeStatus(pc, decision.plan, decision.problem, decision.facts);
    return { requeueAfterMs: decision.requeueAfterMs, status };
  }

  /** A pass that cannot bring the cluster to its spec: say why in the status (and an event), and look again later. */
  private async blocked(pc: PushCluster, problem: Problem, requeueAfterMs?: number): Promise<ReconcileResult> {
    const status = await this.writeStatus(pc, null, problem, {});
    return { requeueAfterMs, status };
  }

  private readonly secretValue = async (namespace: string, name: string, key: string): Promise<string | null> => {
    const s = await this.d.rest.find(apiPath("v1", "secrets", namespace, name));
    const v = s?.data?.[key];
    return v ? Buffer.from(v, "base64").toString("utf8") : (s?.stringData?.[key] ?? null);
  };

  private async serviceMonitorCrdPresent(): Promise<boolean> {
    if (this.now() - this.smCrd.at < 30_000) return this.smCrd.present;
    const crd = await this.d.rest.find("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/servicemonitors.monitoring.coreos.com").catch(() => null);
    this.smCrd = { at: this.now(), present: !!crd };
    return this.smCrd.present;
  }

  private async writeStatus(pc: PushCluster, plan: NodesPlan | null, problem: Problem | null, f: Partial<Decision["facts"]>): Promise<PushClusterStatus> {
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
        paused: f.paused ?? false,
        autoscaling: f.autoscaling ?? null,
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
    if (f.exposedAs) status.exposedAs = f.exposedAs;
    if (JSON.stringify(status) === JSON.stringify(pc.status)) return status;
    await this.d.rest.request("PATCH", apiPath(`${GROUP}/${VERSION}`, PLURAL, pc.metadata.namespace, pc.metadata.name, "status"), {
      body: { status },
      contentType: "application/merge-patch+json",
    });
    for (const e of conditionEvents(pc.status, status)) await this.event(pc, e);
    return status;
  }

  private readonly event = (pc: PushCluster, e: OperatorEvent): Promise<void> =>
    this.d.events.record({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: pc.metadata.name, namespace: pc.metadata.namespace, uid: pc.metadata.uid }, e.type, e.reason, e.message);
}
