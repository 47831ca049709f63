// The node's Prometheus metrics (prom-client). No user ids in labels: cardinality stays fixed.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The `limit` label of herald_limit_refusals_total: one per protective limit (docs/security.md). */
export const LIMITS = ["origin", "login_ip", "login_user", "publish_key", "socket_buffer", "sockets_per_user", "inbound_flood", "data_depth", "idempotency_reuse"] as const;
export type LimitName = (typeof LIMITS)[number];

export function createMetrics() {
  const registry = new Registry();
  // Event-loop lag sampled every 250 ms: prom-client's default (10 ms) alone cost an idle node ~0.7 % of a core.
  collectDefaultMetrics({ register: registry, prefix: "herald_", eventLoopMonitoringPrecision: 250 });
  // prom-client also exports these three as gauges named *_total, which Prometheus naming (promtool check
  // metrics) keeps for counters; herald_nodejs_active_handles/_requests/_resources (by type) carry the same.
  for (const m of ["handles", "requests", "resources"]) registry.removeSingleMetric(`herald_nodejs_active_${m}_total`);
  const m = {
    registry,
    sockets: new Gauge({ name: "herald_connected_sockets", help: "Socket.IO channels open on this node", registers: [registry] }),
    users: new Gauge({ name: "herald_connected_users", help: "Distinct users with at least one channel on this node", registers: [registry] }),
    logins: new Counter({ name: "herald_logins_total", help: "Login requests by result", labelNames: ["result"] as const, registers: [registry] }),
    handshakes: new Counter({ name: "herald_handshakes_total", help: "Channel handshakes by result (ok or the error code)", labelNames: ["result"] as const, registers: [registry] }),
    published: new Counter({ name: "herald_messages_published_total", help: "Messages accepted for publishing on this node", registers: [registry] }),
    publishRejected: new Counter({ name: "herald_publish_rejected_total", help: "Publish requests or messages refused, by error code", labelNames: ["code"] as const, registers: [registry] }),
    delivered: new Counter({ name: "herald_messages_delivered_total", help: "Messages emitted to client sockets (one per socket)", labelNames: ["mode"] as const, registers: [registry] }),
    latency: new Histogram({
      name: "herald_delivery_latency_seconds",
      help: "Time from a message's acceptance to its emit on a live socket",
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    replayGaps: new Counter({ name: "herald_replay_gaps_total", help: "Channels that resumed from a position the inbox could no longer fill (trimmed, expired or lost: GAP; inbox re-created: EPOCH_CHANGED)", labelNames: ["reason"] as const, registers: [registry] }),
    refusals: new Counter({
      name: "herald_limit_refusals_total",
      help: "Requests, handshakes or sockets refused or closed by a protective limit (docs/security.md lists each)",
      labelNames: ["limit"] as const,
      registers: [registry],
    }),
    redisErrors: new Counter({ name: "herald_redis_errors_total", help: "Redis connection or command errors seen by this node", registers: [registry] }),
    affinityVersion: new Gauge({ name: "herald_affinity_version", help: "Version of the affinity document this node uses", registers: [registry] }),
    ready: new Gauge({ name: "herald_node_ready", help: "1 when this node is ready to take logins and channels", registers: [registry] }),
  };
  // Both reasons exist from the start (at 0), so that rate() and alerts see the series before the first gap.
  for (const reason of ["GAP", "EPOCH_CHANGED"]) m.replayGaps.inc({ reason }, 0);
  for (const limit of LIMITS) m.refusals.inc({ limit }, 0);
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
