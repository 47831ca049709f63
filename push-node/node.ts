// Wires one push node: stores, bus, registry, affinity, Socket.IO channel and HTTP routes.
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { createMetrics } from "./metrics.js";
import { createRedis, type RedisClient } from "../common/redis.js";
import { keys } from "../protocol/keys.js";
import { MemoryUserStore } from "./adapters/memory/user-store.js";
import { RedisUserStore } from "./adapters/redis/user-store.js";
import type { NodeBus, NodeRegistry, UserStore } from "./ports.js";
import { MemoryNodeBus } from "./adapters/memory/node-bus.js";
import { RedisNodeBus } from "./adapters/redis/node-bus.js";
import { MemoryNodeRegistry } from "./adapters/memory/node-registry.js";
import { RedisNodeRegistry } from "./adapters/redis/node-registry.js";
import type { NodeInfo } from "../protocol/nodes.js";
import { newIncarnation } from "./cluster/incarnation.js";
import { AutoAffinitySource, ConfigMapAffinitySource, FileAffinitySource, type AffinitySource } from "./affinity/source.js";
import { Membership } from "./cluster/membership.js";
import { reactToAffinity, readiness as readinessOf, type NodeState } from "./cluster/reaction.js";
import { TokenIssuer } from "./auth/token.js";
import { createVerifier } from "./auth/login.js";
import { Publisher } from "./publisher.js";
import { ChannelServer } from "./delivery/channel-server.js";
import { createRoutes } from "./http/routes.js";
import { LoginService } from "./login/login-service.js";
import { PublishService } from "./publish/publish-service.js";
import { RequestLimits } from "./limits/request-limits.js";
import { RateSampler, clusterStatus } from "./cluster/status.js";
import { originAllowed } from "./http/origins.js";

/** The adapter event that carries POST /v1/disconnect to the other nodes. */
const DISCONNECT_USERS = "herald:disconnect-users";

export interface PushNode {
  url: string;
  port: number;
  /** SIGTERM behaviour: stop taking logins and channels, tell clients to log in again, wait for them, close. */
  shutdown(): Promise<void>;
}

/** Clients asked to leave (draining, shutdown) get a random delay below this, to spread their new logins. */
const RELOGIN_SPREAD_MS = 2000;

export async function startPushNode(config: Config, log: Logger): Promise<PushNode> {
  const metrics = createMetrics();
  const incarnation = newIncarnation();
  const redisClients: RedisClient[] = [];
  let store: UserStore;
  let bus: NodeBus;
  let registry: NodeRegistry;
  let redis: RedisClient | null = null;

  if (config.redis) {
    redis = createRedis(config.redis);
    redisClients.push(redis);
    redis.on("error", (err: Error) => {
      metrics.redisErrors.inc();
      log.warn({ err: err.message }, "redis error");
    });
    store = new RedisUserStore(redis, config.keyPrefix, config.inbox);
    bus = new RedisNodeBus(redis, config.keyPrefix, log, () => metrics.redisErrors.inc());
    registry = new RedisNodeRegistry(redis, config.keyPrefix);
  } else {
    log.warn("EMBEDDED MODE: no REDIS_URL, so messages, inboxes and presence live in this process only");
    store = new MemoryUserStore(config.inbox);
    bus = new MemoryNodeBus();
    registry = new MemoryNodeRegistry();
  }
  if (config.auth.mode === "dev") log.warn("DEVELOPMENT LOGIN: HERALD_AUTH_MODE=dev lets anyone log in as any user. Never use it in production.");
  if (config.token.generated) log.warn("HERALD_TOKEN_SECRET is not set: using a random secret for this process only");
  if (config.publishKeys.generated) log.warn({ key: config.publishKeys.keys[0] }, "HERALD_PUBLISH_KEYS is not set: publishing accepts the development key");

  const affinity: AffinitySource =
    config.affinity.kind === "file" ? new FileAffinitySource(config.affinity.path, log)
    : config.affinity.kind === "configmap" ? new ConfigMapAffinitySource(config.affinity, log)
    : new AutoAffinitySource();

  let shuttingDown = false;
  let ownState: NodeState = "active";

  // During a token secret rotation (HERALD_TOKEN_SECRET_PREVIOUS set) a token for a node not rolled yet is signed with the secret it announces.
  const tokens = new TokenIssuer(config.token.secret, config.token.ttlSeconds, { previous: config.token.previous, nodeKeyId: (id) => membership.nodes().find((n) => n.id === id)?.tokenKey });
  // Idle keep-alive connections stay open longer than clients and load balancers keep theirs (60 s is
  // common), so that the server never closes one just as a request is sent on it.
  const http: HttpServer = createServer();
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const io = new Server(http, {
    path: config.socketPath,
    serveClient: false,
    cors: { origin: config.corsOrigins.includes("*") ? "*" : config.corsOrigins },
    maxHttpBufferSize: 16 * 1024,
    perMessageDeflate: false,
    // HERALD_CORS_ORIGINS on every transport: engine.io asks this before a polling handshake and a
    // WebSocket upgrade alike (a refused upgrade is answered 400 before the 101).
    allowRequest: (req, callback) => {
      const ok = originAllowed(req.headers.origin, config.corsOrigins);
      if (!ok) metrics.refusals.inc({ limit: "origin" });
      callback(ok ? null : "ORIGIN_NOT_ALLOWED", ok);
    },
  });
  if (redis) io.adapter(createAdapter(redis, { streamName: keys(config.keyPrefix).adapterStream, maxLen: 10_000 }));

  const findNode = (id: string) => affinity.current()?.nodes.find((n) => n.id === id) ?? null;
  const channel = new ChannelServer({ io, nodeId: config.nodeId, incarnation, tokens, store, metrics, log, findNode, accepting: () => !shuttingDown, limits: config.channel });
  // POST /v1/disconnect: this node closes its users' sockets and tells the others through the adapter
  // (rare, cluster-wide), so that no socket needs a room of its own for it.
  io.of("/").on(DISCONNECT_USERS, (users: unknown) => {
    if (Array.isArray(users)) channel.disconnectUsers(users.filter((u): u is string => typeof u === "string"));
  });
  const disconnectUsers = (users: string[]) => {
    channel.disconnectUsers(users);
    if (redis) io.serverSideEmit(DISCONNECT_USERS, users);
  };
  // After a Redis reconnect (perhaps a restart that lost presence), record our users again and catch up.
  redis?.on("ready", () => void channel.reattach());

  // Message rates for the status route and the heartbeat: per second over the last few heartbeats.
  const rates = new RateSampler(metrics);

  const info = (): NodeInfo => ({
    id: config.nodeId,
    url: config.publicUrl,
    path: config.socketPath,
    incarnation,
    state: ownState,
    at: Date.now(),
    sockets: channel.socketCount,
    users: channel.userCount,
    rates: rates.current(),
    tokenKey: tokens.keyId,
  });
  const membership = new Membership({
    registry,
    self: info,
    heartbeatMs: config.heartbeatMs,
    nodeTtlMs: config.nodeTtlMs,
    beforeBeat: () => rates.sample(),
    onLiveNodes: (alive) => affinity.liveNodesChanged(alive),
    onBeat: () => metrics.ready.set(readiness().ready ? 1 : 0),
    onError: (err) => {
      metrics.redisErrors.inc();
      log.warn({ err: err.message }, "heartbeat failed");
    },
  });

  const publisher = new Publisher({
    store,
    bus,
    knownNodes: () => membership.knownNodes(),
    limits: config.limits,
    idempotencyWindowMs: config.idempotencyWindowMs,
  });
  const stopBus = await bus.consume(config.nodeId, channel);

  const readiness = () =>
    readinessOf({
      usesRedis: config.redis !== null,
      lastBeatOkAt: membership.lastBeatOkAt(),
      now: Date.now(),
      nodeTtlMs: config.nodeTtlMs,
      affinityLoaded: affinity.current() !== null,
      accepting: !shuttingDown,
    });

  const limits = new RequestLimits(config.rates, metrics);
  const routes = createRoutes({
    config,
    log,
    metrics,
    login: new LoginService({ verify: createVerifier(config.auth), tokens, affinity, membership, inbox: store, limits, accepting: () => !shuttingDown, metrics, log }),
    publish: new PublishService({ publisher, limits, maxBatch: config.limits.maxBatch, metrics, log }),
    readiness,
    disconnectUsers,
    status: () => clusterStatus(config.nodeId, membership.nodes(), affinity.current(), Date.now(), config.nodeTtlMs),
  });
  http.on("request", (req, res) => {
    if (req.url?.startsWith(config.socketPath + "/")) return; // Socket.IO's own requests
    void routes(req, res);
  });

  let firstDoc = true;
  affinity.on("change", (doc) => {
    metrics.affinityVersion.set(doc.version);
    const { state, reaction } = reactToAffinity({ doc, first: firstDoc, nodeId: config.nodeId, state: ownState, users: channel.users(), live: membership.liveNodeIds() });
    firstDoc = false;
    ownState = state;
    if (reaction.kind === "drain") {
      const n = channel.relogin("draining", undefined, RELOGIN_SPREAD_MS);
      log.info({ sockets: n }, "this node is draining: asked its clients to log in again");
    } else if (reaction.kind === "move") {
      // Users whose assignment moved are asked to move, spread over a few seconds.
      channel.relogin("reassigned", reaction.users, 5000);
      log.info({ users: reaction.users.length, version: doc.version }, "affinity changed: asked moved users to log in again");
    }
  });

  await membership.start();
  await affinity.start();

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen({ port: config.port, host: config.host, backlog: config.listenBacklog }, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  log.info({ port, host: config.host, publicUrl: config.publicUrl, path: config.socketPath, redis: config.redis?.mode ?? "embedded", auth: config.auth.mode }, "push node listening");

  let closing: Promise<void> | null = null;
  async function shutdown(): Promise<void> {
    if (closing) return closing;
    shuttingDown = true;
    metrics.ready.set(0);
    closing = (async () => {
      await membership.leave();
      // Spread like draining, so the other nodes see a ramp of logins instead of every user at once; at
      // most half the grace period, so the spread clients still leave before it ends.
      const spreadMs = Math.min(RELOGIN_SPREAD_MS, Math.floor(config.shutdownGraceMs / 2));
      const asked = channel.relogin("shutdown", undefined, spreadMs);
      log.info({ sockets: asked, graceMs: config.shutdownGraceMs, spreadMs }, "shutting down: asked clients to log in again");
      const graceOver = new AbortController();
      await Promise.race([channel.noSockets(), delay(config.shutdownGraceMs, undefined, { signal: graceOver.signal }).catch(() => undefined)]);
      graceOver.abort();
      affinity.stop();
      // local only: with the cluster adapter, io.disconnectSockets() would close every node's sockets
      io.local.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
      await stopBus();
      // let presence removals issued by the disconnects reach Redis before closing the connections
      for (const c of redisClients) await c.quit().catch(() => c.disconnect());
      log.info("push node stopped");
    })();
    return closing;
  }

  return { url: `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${port}`, port, shutdown };
}
