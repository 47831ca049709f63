// The operator's own Prometheus metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { PushClusterStatus } from "./types.js";

export function createOperatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "herald_operator_" });
  // prom-client also exports these three as gauges named *_total, which Prometheus naming (promtool check
  // metrics) keeps for counters; herald_operator_nodejs_active_handles/_requests/_resources (by type) carry the same.
  for (const m of ["handles", "requests", "resources"]) registry.removeSingleMetric(`herald_operator_nodejs_active_${m}_total`);
  return {
    registry,
    reconciles: new Counter({ name: "herald_operator_reconciles_total", help: "Reconciles by result", labelNames: ["result"] as const, registers: [registry] }),
    errors: new Counter({ name: "herald_operator_reconcile_errors_total", help: "Reconciles that failed", registers: [registry] }),
    duration: new Histogram({ name: "herald_operator_reconcile_duration_seconds", help: "Time to reconcile one PushCluster", buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    queueDepth: new Gauge({ name: "herald_operator_queue_depth", help: "PushClusters waiting to be reconciled", registers: [registry] }),
    leader: new Gauge({ name: "herald_operator_leader", help: "1 while this replica holds the lease", registers: [registry] }),
    clusters: new Gauge({ name: "herald_operator_pushclusters", help: "PushClusters watched", registers: [registry] }),
    clusterReady: new Gauge({ name: "herald_operator_pushcluster_ready", help: "1 while the PushCluster's Ready condition is True", labelNames: ["pushcluster_namespace", "pushcluster"] as const, registers: [registry] }),
    /** The reason label each PushCluster's degraded series carries now. */
    degradedReasons: new Map<string, string>(),
    clusterDegraded: new Gauge({ name: "herald_operator_pushcluster_degraded", help: "1 while the PushCluster's Degraded condition is True, labelled with its reason", labelNames: ["pushcluster_namespace", "pushcluster", "reason"] as const, registers: [registry] }),
  };
}

/** Sets the per-PushCluster gauges from its status, or removes them when it is gone (status undefined). */
export function reportCluster(m: OperatorMetrics, namespace: string, name: string, status: PushClusterStatus | undefined): void {
  const labels = { pushcluster_namespace: namespace, pushcluster: name };
  const key = `${namespace}/${name}`;
  const degraded = status?.conditions?.find((c) => c.type === "Degraded");
  const reason = degraded?.status === "True" ? degraded.reason : "";
  const before = m.degradedReasons.get(key);
  if (before !== undefined && (status === undefined || before !== reason)) m.clusterDegraded.remove({ ...labels, reason: before });
  if (!status) {
    m.clusterReady.remove(labels);
    m.degradedReasons.delete(key);
    return;
  }
  m.clusterReady.set(labels, status.conditions?.find((c) => c.type === "Ready")?.status === "True" ? 1 : 0);
  m.clusterDegraded.set({ ...labels, reason }, reason ? 1 : 0);
  m.degradedReasons.set(key, reason);
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
