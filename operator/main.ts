// Entry of `herald operator`: leader election, watches, the work queue, and the metrics endpoint.
import { createServer } from "node:http";
import { hostname } from "node:os";
import { z } from "zod";
import { createLogger } from "../common/log.js";
import { KubeRest } from "../common/kube/client.js";
import { KubeCache } from "./kube/cache.js";
import { WorkQueue } from "./kube/queue.js";
import { LeaderElector } from "./kube/lease.js";
import { EventRecorder } from "./kube/events.js";
import { RedisPool } from "./redis-ops.js";
import { Reconciler } from "./reconciler.js";
import { createOperatorMetrics, reportCluster } from "./metrics.js";

const env = z
  .object({
    HERALD_WATCH_NAMESPACE: z.string().regex(/^[a-z0-9-]*$/, "a namespace name, or empty for all").default(""),
    POD_NAMESPACE: z.string().default("default"),
    HERALD_OPERATOR_ID: z.string().min(1).default(`${hostname()}-${process.pid}`),
    HERALD_LEADER_ELECTION: z.enum(["true", "false"]).default("true"),
    HERALD_LEASE_NAME: z.string().default("herald-operator"),
    HERALD_RESYNC_SECONDS: z.coerce.number().int().min(1).default(30),
    METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
    METRICS_HOST: z.string().default("0.0.0.0"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .safeParse(process.env);
if (!env.success) {
  process.stderr.write(`herald operator: invalid configuration:\n${env.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`).join("\n")}\n`);
  process.exit(78);
}
const cfg = env.data;
const namespaceArg = process.argv.indexOf("--namespace");
const watchNamespace = namespaceArg > 0 ? (process.argv[namespaceArg + 1] ?? "") : cfg.HERALD_WATCH_NAMESPACE;
const log = createLogger(cfg.LOG_LEVEL, cfg.HERALD_OPERATOR_ID);
const metrics = createOperatorMetrics();

const rest = KubeRest.fromDefault("herald-operator");
const events = new EventRecorder(rest, "herald-operator", log);
const redis = new RedisPool();
const queue = new WorkQueue();
const clusters = new Set<string>();
const cache = new KubeCache(rest, {
  namespace: watchNamespace,
  log,
  changed: (key) => queue.add(key),
  pushClusterEvent: (type, obj) => {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (type === "DELETED") {
      clusters.delete(key);
      reportCluster(metrics, obj.metadata.namespace, obj.metadata.name, undefined);
    } else clusters.add(key);
    metrics.clusters.set(clusters.size);
  },
});
rest.afterWrite = (obj) => cache.remember(obj);
const reconciler = new Reconciler({ rest, cache, events, redis, log });
const elector = new LeaderElector(rest, { namespace: cfg.POD_NAMESPACE, name: cfg.HERALD_LEASE_NAME, identity: cfg.HERALD_OPERATOR_ID }, log);
let started = false;

const server = createServer(async (req, res) => {
  if (req.url === "/metrics") {
    metrics.queueDepth.set(queue.depth);
    res.writeHead(200, { "content-type": metrics.registry.contentType });
    return void res.end(await metrics.registry.metrics());
  }
  if (req.url === "/healthz") return void res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
  if (req.url === "/readyz") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ leader: elector.isLeader || cfg.HERALD_LEADER_ELECTION === "false", started }));
  res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"NOT_FOUND","message":"try /metrics, /healthz or /readyz"}}');
});
server.listen(cfg.METRICS_PORT, cfg.METRICS_HOST, () => log.info({ port: cfg.METRICS_PORT, namespace: watchNamespace || "(all)" }, "herald operator started"));

async function startControllers(): Promise<void> {
  started = true;
  // Every reconcile reads from the cache: wait until each watch has listed once (a missing CRD or RBAC
  // rule keeps it waiting, retried with backoff and logged).
  await cache.start();
  setInterval(() => {
    for (const key of clusters) queue.add(key);
  }, cfg.HERALD_RESYNC_SECONDS * 1000).unref();
  void queue.run(async (key) => {
    const [namespace, name] = key.split("/") as [string, string];
    const end = metrics.duration.startTimer();
    try {
      const r = await reconciler.reconcile(namespace, name);
      queue.forget(key);
      if (r.status) reportCluster(metrics, namespace, name, r.status);
      metrics.reconciles.inc({ result: "success" });
      if (r.requeueAfterMs) queue.addAfter(key, r.requeueAfterMs);
    } catch (err) {
      metrics.reconciles.inc({ result: "error" });
      metrics.errors.inc();
      const delay = queue.retry(key);
      log.warn({ cluster: key, err: (err as Error).message, retryInMs: delay }, "reconcile failed");
    } finally {
      end();
    }
  });
}

if (cfg.HERALD_LEADER_ELECTION === "true") {
  void elector
    .run(() => {
      log.error("lost leadership; exiting so that a fresh process can compete again");
      process.exit(1);
    })
    .then(() => {
      metrics.leader.set(1);
      return startControllers();
    });
} else {
  metrics.leader.set(1); // the only replica acts
  void startControllers();
}

async function shutdown(signal: string): Promise<void> {
  log.info({ signal }, "stopping");
  queue.stop();
  cache.stop();
  await elector.stop();
  await redis.close();
  server.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
