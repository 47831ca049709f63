// The PushCluster's status as pure decisions: conditions with reasons a person can act on, the progress
// deadline, observedGeneration, the events a change calls for, why pods are not ready, which API answers
// are reported as ApplyFailed, and the per-PushCluster metrics.
import { describe, expect, it } from "vitest";
import { planNodes, type NodesPlan } from "../../operator/scaling.js";
import { conditionEvents, nextStatus, podProblem, type StatusFacts } from "../../operator/status.js";
import { missingSecrets, secretRefs } from "../../operator/desired.js";
import { ApplyFailed, refused } from "../../operator/reconcile/act.js";
import { KubeError } from "../../common/kube/client.js";
import { createOperatorMetrics, reportCluster } from "../../operator/metrics.js";
import type { PushCluster, PushClusterStatus } from "../../operator/types.js";

const T0 = Date.parse("2026-11-25T12:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString().replace(/\.\d+Z$/, "Z");
const doc = { version: 5, nodes: [0, 1, 2].map((i) => ({ id: `hc-${i}`, url: `http://10.0.0.${i}`, path: "/socket.io", state: "active" as const })), pins: {} };
const plan = (phase: NodesPlan["phase"], over: Partial<NodesPlan> = {}): NodesPlan => ({ replicas: 3, doc, docChanged: false, draining: [], deletePods: [], events: [], phase, ...over });
const facts = (over: Partial<StatusFacts> = {}): StatusFacts => ({
  generation: 3,
  target: 3,
  replicas: 3,
  readyReplicas: 3,
  updatedReplicas: 3,
  selector: "a=b",
  connections: 30,
  users: 30,
  plan: plan("Stable"),
  problem: null,
  progressDeadlineSeconds: 60,
  drainingWithinGrace: false,
  podProblems: [],
  ...over,
});
const cond = (s: PushClusterStatus, type: string) => s.conditions!.find((c) => c.type === type)!;
const pc = (spec: Partial<PushCluster["spec"]> = {}): PushCluster => ({
  apiVersion: "herald.dev/v1alpha1",
  kind: "PushCluster",
  metadata: { name: "hc", namespace: "apps", uid: "uid-1", generation: 3 },
  spec: { replicas: 3, redis: { url: "redis://redis:6379" }, auth: { mode: "ticket", ticketSecretRef: { name: "t" } }, publishKeysSecretRef: { name: "p" }, ...spec },
});

describe("conditions", () => {
  it("read Ready when stable, and name the problem that blocks reconciling", () => {
    const s = nextStatus(undefined, facts(), at(0));
    expect(s.conditions!.map((c) => [c.type, c.status, c.reason])).toEqual([["Ready", "True", "AllNodesReady"], ["Progressing", "False", "Stable"], ["Degraded", "False", "AsExpected"]]);
    const bad = nextStatus(s, facts({ generation: 4, plan: null, problem: { reason: "RedisUnavailable", message: "cannot reach redis" } }), at(60));
    expect(cond(bad, "Degraded")).toMatchObject({ status: "True", reason: "RedisUnavailable", lastTransitionTime: at(60), observedGeneration: 4 });
    expect(cond(bad, "Ready")).toMatchObject({ status: "False", reason: "RedisUnavailable" });
    expect(cond(bad, "Progressing")).toMatchObject({ status: "False", reason: "Blocked" });
    const again = nextStatus(bad, facts({ generation: 4, plan: null, problem: { reason: "RedisUnavailable", message: "cannot reach redis" } }), at(120));
    expect(cond(again, "Degraded").lastTransitionTime).toBe(at(60));
  });

  it("move observedGeneration only once a generation is applied, not while a problem blocks it", () => {
    const s = nextStatus(undefined, facts({ generation: 12 }), at(0));
    expect(s.observedGeneration).toBe(12);
    const refused = nextStatus(s, facts({ generation: 13, problem: { reason: "ApplyFailed", message: "The API server refused StatefulSet apps/hc (422 Invalid): bad" } }), at(10));
    expect(refused.observedGeneration).toBe(12);
    expect(cond(refused, "Ready").status).toBe("False");
    expect(cond(refused, "Degraded")).toMatchObject({ status: "True", reason: "ApplyFailed", message: expect.stringContaining("StatefulSet apps/hc") });
    expect(nextStatus(refused, facts({ generation: 13 }), at(20)).observedGeneration).toBe(13);
  });

  it("report a roll stalled once it makes no progress for the deadline, naming why the pods are not ready", () => {
    const rolling = facts({ plan: plan("Rolling"), readyReplicas: 2, updatedReplicas: 2, podProblems: ["hc-0: CrashLoopBackOff, last exit code 78, 4 restarts"] });
    const s0 = nextStatus(undefined, facts(), at(0));
    const s1 = nextStatus(s0, rolling, at(10));
    expect(cond(s1, "Progressing")).toMatchObject({ status: "True", reason: "Rolling" });
    expect(s1.lastProgressTime).toBe(at(10));
    const s2 = nextStatus(s1, rolling, at(69));
    expect(cond(s2, "Degraded").status).toBe("False");
    expect(s2.lastProgressTime).toBe(at(10));
    const s3 = nextStatus(s2, rolling, at(71));
    expect(cond(s3, "Progressing")).toMatchObject({ status: "False", reason: "RolloutStalled" });
    expect(cond(s3, "Degraded")).toMatchObject({ status: "True", reason: "RolloutStalled" });
    expect(cond(s3, "Degraded").message).toContain("hc-0: CrashLoopBackOff, last exit code 78, 4 restarts");
    expect(cond(s3, "Degraded").message).toContain("2/3 push nodes ready, 2/3 on the current template");
    expect(cond(s3, "Ready")).toMatchObject({ status: "False", reason: "RolloutStalled" });
    // still stalled a pass later (the stall is not mistaken for progress), and cleared by progress
    expect(cond(nextStatus(s3, rolling, at(80)), "Degraded").reason).toBe("RolloutStalled");
    const s4 = nextStatus(s3, { ...rolling, readyReplicas: 3, podProblems: [] }, at(90));
    expect(cond(s4, "Degraded").status).toBe("False");
    expect(cond(s4, "Progressing")).toMatchObject({ status: "True", reason: "Rolling" });
    expect(s4.lastProgressTime).toBe(at(90));
  });

  it("do not count a drain within its grace period as a stall", () => {
    const draining = facts({ plan: plan("ScalingDown", { draining: [{ node: "hc-2", since: at(0), reason: "scale-down" }] }), target: 2, drainingWithinGrace: true });
    const s1 = nextStatus(nextStatus(undefined, facts(), at(0)), draining, at(1));
    expect(cond(nextStatus(s1, draining, at(300)), "Degraded").status).toBe("False");
    expect(cond(nextStatus(s1, { ...draining, drainingWithinGrace: false }, at(300)), "Degraded").reason).toBe("RolloutStalled");
  });
});

describe("events from condition changes", () => {
  it("warn when the cluster becomes degraded or changes reason, and say when it recovers", () => {
    const ok = nextStatus(undefined, facts(), at(0));
    const missing = nextStatus(ok, facts({ problem: { reason: "SecretMissing", message: "Secret apps/p (spec.publishKeysSecretRef) does not exist" } }), at(1));
    expect(conditionEvents(ok, missing)).toEqual([{ type: "Warning", reason: "SecretMissing", message: "Secret apps/p (spec.publishKeysSecretRef) does not exist" }]);
    expect(conditionEvents(missing, nextStatus(missing, facts({ problem: { reason: "SecretMissing", message: "same" } }), at(2)))).toEqual([]);
    const redis = nextStatus(missing, facts({ problem: { reason: "RedisUnavailable", message: "down" } }), at(3));
    expect(conditionEvents(missing, redis)).toEqual([{ type: "Warning", reason: "RedisUnavailable", message: "down" }]);
    expect(conditionEvents(redis, nextStatus(redis, facts(), at(4)))).toEqual([{ type: "Normal", reason: "Recovered", message: expect.stringContaining("No longer RedisUnavailable") }]);
    expect(conditionEvents(ok, nextStatus(ok, facts(), at(5)))).toEqual([]);
  });
});

describe("why a pod is not ready", () => {
  it("reads crash loops, configuration errors and scheduling from the pod status", () => {
    const crash = { metadata: { name: "hc-0" }, status: { containerStatuses: [{ restartCount: 4, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 78 } } }] } };
    expect(podProblem(crash)).toBe("hc-0: CrashLoopBackOff, last exit code 78, 4 restarts");
    const config = { metadata: { name: "hc-1" }, status: { containerStatuses: [{ restartCount: 0, state: { waiting: { reason: "CreateContainerConfigError", message: 'secret "p" not found' } } }] } };
    expect(podProblem(config)).toBe('hc-1: CreateContainerConfigError (secret "p" not found)');
    expect(podProblem({ metadata: { name: "hc-2" }, status: { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available" }] } })).toBe("hc-2: not scheduled (Unschedulable: 0/3 nodes are available)");
    expect(podProblem({ metadata: { name: "hc-3" }, status: { containerStatuses: [{ restartCount: 0, state: { running: {} } }] } })).toBeNull();
    // running again between two crashes
    expect(podProblem({ metadata: { name: "hc-3" }, status: { containerStatuses: [{ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 78 } } }] } })).toBe("hc-3: last exit code 78, 1 restart");
    expect(podProblem({ metadata: { name: "hc-4" }, status: { containerStatuses: [{ restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }] } })).toBeNull();
  });
});

describe("missing Secrets", () => {
  it("names each Secret and key the spec refers to that is not there", () => {
    expect(secretRefs(pc({ redis: { urlSecretRef: { name: "r" } } })).map((r) => `${r.name}/${r.key}`)).toEqual(["r/url", "t/secret", "p/keys"]);
    const all = new Map([["t", { secret: "eA==" }], ["p", { keys: "eA==" }]]);
    expect(missingSecrets(pc(), all)).toBeNull();
    expect(missingSecrets(pc(), new Map([["t", { secret: "eA==" }], ["p", null]]))).toBe("Secret apps/p (spec.publishKeysSecretRef) does not exist: create it, or fix the reference");
    expect(missingSecrets(pc(), new Map([["t", {}], ["p", { keys: "eA==" }]]))).toBe('Secret apps/t has no key "secret" (spec.auth.ticketSecretRef): create it, or fix the reference');
    // a JWKS ticket mode refers to no ticket Secret
    expect(secretRefs(pc({ auth: { mode: "ticket", jwksUrl: "https://idp/jwks" } })).map((r) => r.name)).toEqual(["p"]);
  });
});

describe("API answers", () => {
  it("are ApplyFailed when retrying cannot help, and retried otherwise", () => {
    const e422 = new KubeError(422, "Invalid", "PATCH /apis/apps/v1/...: 422 x", { message: 'StatefulSet.apps "hc" is invalid: spec: Forbidden' });
    const failed = refused(e422, "StatefulSet", "apps", "hc");
    expect(failed).toBeInstanceOf(ApplyFailed);
    expect((failed as Error).message).toBe('The API server refused StatefulSet apps/hc (422 Invalid): StatefulSet.apps "hc" is invalid: spec: Forbidden');
    expect(refused(new KubeError(403, "Forbidden", "m", { message: "forbidden" }), "Role", "apps", "hc-node")).toBeInstanceOf(ApplyFailed);
    for (const status of [409, 429, 500, 503]) expect(refused(new KubeError(status, "x", "m", {}), "Service", "apps", "hc")).toBeInstanceOf(KubeError);
    const net = new Error("ECONNRESET");
    expect(refused(net, "Service", "apps", "hc")).toBe(net);
  });
});

describe("per-PushCluster metrics", () => {
  it("report ready and degraded (with its reason), and go when the PushCluster goes", async () => {
    const m = createOperatorMetrics();
    const text = async () => (await m.registry.metrics()).split("\n").filter((l) => l.startsWith("herald_operator_pushcluster_")).sort();
    const ok = nextStatus(undefined, facts(), at(0));
    reportCluster(m, "apps", "hc", ok);
    expect(await text()).toEqual(['herald_operator_pushcluster_degraded{pushcluster_namespace="apps",pushcluster="hc",reason=""} 0', 'herald_operator_pushcluster_ready{pushcluster_namespace="apps",pushcluster="hc"} 1']);
    reportCluster(m, "apps", "hc", nextStatus(ok, facts({ problem: { reason: "SecretMissing", message: "m" } }), at(1)));
    expect(await text()).toEqual(['herald_operator_pushcluster_degraded{pushcluster_namespace="apps",pushcluster="hc",reason="SecretMissing"} 1', 'herald_operator_pushcluster_ready{pushcluster_namespace="apps",pushcluster="hc"} 0']);
    reportCluster(m, "apps", "hc", undefined);
    expect(await text()).toEqual([]);
  });
});

describe("paused, and scaling by hand under autoscaling", () => {
  it("says the operator is paused instead of progressing or stalled", () => {
    const s0 = nextStatus(undefined, facts(), at(0));
    const paused = nextStatus(s0, facts({ generation: 4, plan: null, paused: true, readyReplicas: 3 }), at(1000));
    expect(paused.observedGeneration).toBe(3); // the paused generation is not applied
    expect(cond(paused, "Progressing")).toMatchObject({ status: "False", reason: "Paused" });
    expect(cond(paused, "Degraded").status).toBe("False");
    expect(cond(paused, "Ready").status).toBe("True");
  });

  it("reports spec.replicas the autoscaler does not follow, with a warning only when the spec changed", () => {
    const auto = (specReplicas: number, target: number) => ({ specReplicas, min: 2, max: 10, target, connections: 12_000 });
    const s0 = nextStatus(undefined, facts({ generation: 3, autoscaling: auto(3, 3) }), at(0));
    expect(cond(s0, "Autoscaling")).toMatchObject({ status: "True", reason: "Active", message: "3 push nodes for 12000 connections (2–10)" });
    const scaled = nextStatus(s0, facts({ generation: 4, autoscaling: auto(6, 3) }), at(10));
    expect(cond(scaled, "Autoscaling")).toMatchObject({ reason: "ScaleIgnoredUnderAutoscaling", message: expect.stringContaining("spec.replicas (6, e.g. from kubectl scale) is not followed") });
    expect(conditionEvents(s0, scaled)).toEqual([{ type: "Warning", reason: "ScaleIgnoredUnderAutoscaling", message: cond(scaled, "Autoscaling").message }]);
    // the autoscaler moving on its own says nothing new
    expect(conditionEvents(scaled, nextStatus(scaled, facts({ generation: 4, autoscaling: auto(6, 4) }), at(20)))).toEqual([]);
    expect(nextStatus(s0, facts(), at(30)).conditions!.map((c) => c.type)).not.toContain("Autoscaling");
  });
});

describe("an idle cluster", () => {
  it("gets a byte-identical status on every pass, so the operator writes nothing", () => {
    const s1 = nextStatus(undefined, facts(), at(0));
    const s2 = nextStatus(s1, facts(), at(30));
    expect(JSON.stringify(s2)).toBe(JSON.stringify(s1));
  });
});
