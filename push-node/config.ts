// Environment → one validated, typed Config. Every variable is documented in the README.
import { hostname } from "node:os";
import { z } from "zod";
import { trustedProxies } from "./http/client-ip.js";
import type { RedisConfig } from "../common/redis.js";
import { DEFAULT_HEARTBEAT_MS, nodeTtlMs } from "../protocol/nodes.js";

const bool = z.enum(["true", "false", "1", "0", "yes", "no"]).transform((v) => ["true", "1", "yes"].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const list = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter(Boolean));

const env = z
  .object({
    PORT: int(0, 65535).default(3000),
    HOST: z.string().min(1).optional(),
    HERALD_LISTEN_BACKLOG: int(1, 1_000_000).default(4096),
    HERALD_NODE_ID: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "use letters, digits, '.', '_' or '-' (at most 63)").optional(),
    HERALD_PUBLIC_URL: z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL").optional(),
    HERALD_SOCKET_PATH: z.string().regex(/^\/[^\s?#]*$/, "must start with '/'").default("/socket.io"),
    REDIS_URL: z.string().optional(),
    REDIS_MODE: z.enum(["standalone", "cluster"]).default("standalone"),
    REDIS_TLS_CA_FILE: z.string().optional(),
    HERALD_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "letters, digits, '.', '_', ':' or '-' only (no braces)").default("herald"),
    HERALD_AUTH_MODE: z.enum(["dev", "ticket", "webhook"]).optional(),
    HERALD_TICKET_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    HERALD_TICKET_JWKS_URL: z.url().optional(),
    HERALD_TICKET_ISSUER: z.string().optional(),
    HERALD_TICKET_AUDIENCE: z.string().optional(),
    HERALD_TICKET_MAX_LIFETIME_SECONDS: int(10, 86_400).default(300),
    HERALD_TICKET_CLOCK_SKEW_SECONDS: int(0, 300).default(30),
    HERALD_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
    HERALD_WEBHOOK_TIMEOUT_MS: int(100, 60_000).default(3000),
    HERALD_TOKEN_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
    HERALD_TOKEN_SECRET_PREVIOUS: z.string().min(32, "must be at least 32 characters").optional(),
    HERALD_TOKEN_TTL_SECONDS: int(10, 86_400).default(600),
    HERALD_PUBLISH_KEYS: list.optional(),
    HERALD_AFFINITY_FILE: z.string().min(1).optional(),
    HERALD_AFFINITY_CONFIGMAP: z.string().regex(/^([a-z0-9-]+\/)?[a-z0-9.-]+$/, "use NAME or NAMESPACE/NAME").optional(),
    HERALD_AFFINITY_CONFIGMAP_KEY: z.string().default("affinity.json"),
    POD_NAMESPACE: z.string().optional(),
    HERALD_MAX_PAYLOAD_BYTES: int(16, 16 * 1024 * 1024).default(64 * 1024),
    HERALD_MAX_BODY_BYTES: int(1024, 256 * 1024 * 1024).default(4 * 1024 * 1024),
    HERALD_MAX_SOCKET_BUFFER_BYTES: int(16 * 1024, 1024 * 1024 * 1024).default(1024 * 1024),
    HERALD_MAX_SOCKETS_PER_USER: int(0, 100_000).default(10),
    HERALD_MAX_INBOUND_PER_SECOND: int(0, 1_000_000).default(50),
    HERALD_MAX_DATA_DEPTH: int(1, 1000).default(64),
    HERALD_MAX_RECIPIENTS: int(1, 100_000).default(1000),
    HERALD_MAX_BATCH: int(1, 10_000).default(500),
    HERALD_IDEMPOTENCY_WINDOW_SECONDS: int(1, 86_400).default(300),
    HERALD_INBOX_TTL_SECONDS: int(1, 30 * 86_400).default(86_400),
    HERALD_INBOX_MAX_LENGTH: int(10, 10_000_000).default(10_000),
    HERALD_HEARTBEAT_MS: int(100, 60_000).default(DEFAULT_HEARTBEAT_MS),
    HERALD_NODE_TTL_MS: int(300, 300_000).optional(),
    HERALD_SHUTDOWN_GRACE_MS: int(0, 600_000).default(10_000),
    HERALD_CORS_ORIGINS: list.default(["*"]),
    HERALD_DEMO_PAGE: bool.optional(),
    HERALD_TRUSTED_PROXIES: list.default([]).check((ctx) => {
      try {
        trustedProxies(ctx.value);
      } catch (err) {
        ctx.issues.push({ code: "custom", message: (err as Error).message, input: ctx.value });
      }
    }),
    HERALD_LOGIN_PER_IP_PER_MINUTE: int(0, 10_000_000).default(600),
    HERALD_LOGIN_PER_USER_PER_MINUTE: int(0, 10_000_000).default(60),
    HERALD_PUBLISH_PER_KEY_PER_MINUTE: int(0, 1_000_000_000).default(0),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  });

/** Every variable the loader reads (for the fuzz suite and documentation checks). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(env.shape);

export type TicketConfig = { secret?: string; jwksUrl?: string; issuer?: string; audience?: string; maxLifetimeSeconds: number; clockSkewSeconds: number };
export type AffinitySourceConfig =
  | { kind: "auto" }
  | { kind: "file"; path: string }
  | { kind: "configmap"; namespace: string; name: string; key: string };

export interface Config {
  port: number;
  host: string;
  /** Pending-connection queue of the listening socket; the kernel caps it at net.core.somaxconn. */
  listenBacklog: number;
  nodeId: string;
  publicUrl: string;
  socketPath: string;
  redis: RedisConfig | null;
  keyPrefix: string;
  auth:
    | { mode: "dev" }
    | { mode: "ticket"; ticket: TicketConfig }
    | { mode: "webhook"; url: string; timeoutMs: number };
  token: { secret: string; generated: boolean; ttlSeconds: number; /** HERALD_TOKEN_SECRET_PREVIOUS: also accepted, during a rotation. */ previous?: string };
  publishKeys: { keys: string[]; generated: boolean };
  affinity: AffinitySourceConfig;
  limits: { maxPayloadBytes: number; maxBodyBytes: number; maxRecipients: number; maxBatch: number; maxDataDepth: number };
  /** Per-socket and per-user bounds on the channel (docs/security.md). 0 turns a count limit off. */
  channel: { maxSocketBufferBytes: number; maxSocketsPerUser: number; maxInboundPerSecond: number };
  idempotencyWindowMs: number;
  inbox: { ttlMs: number; maxLength: number };
  heartbeatMs: number;
  nodeTtlMs: number;
  shutdownGraceMs: number;
  corsOrigins: string[];
  /** Serve the demo and status page at / (HERALD_DEMO_PAGE; on by default in embedded mode). */
  demoPage: boolean;
  /** Addresses or CIDR ranges whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  /** Token-bucket rates per minute (0 = off), kept in memory on each node. */
  rates: { loginPerIp: number; loginPerUser: number; publishPerKey: number };
  logLevel: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const DEV_PUBLISH_KEY = "dev-publish-key";

/** One thing wrong with the configuration: the variable, the value given (if any), and why. */
export interface ConfigProblem {
  variable: string;
  value?: string;
  message: string;
}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env, random: () => string = randomSecret): Config {
  const r = checkConfig(source, random);
  if (!r.config) throw new ConfigError(formatProblems(r.problems));
  return r.config;
}

export function formatProblems(problems: ConfigProblem[]): string {
  const lines = problems.map((p) => `  ${p.variable}${p.value === undefined ? "" : `=${JSON.stringify(p.value)}`}: ${p.message}`);
  return `invalid configuration:\n${lines.join("\n")}`;
}

/**
 * Every problem at once: each variable is checked on its own, then the rules between variables run
 * on whatever was valid, so one run of `herald check-config` lists all that needs fixing. Pure
 * (the random source for a generated token secret is a parameter).
 */
export function checkConfig(source: NodeJS.ProcessEnv = process.env, random: () => string = randomSecret): { config: Config | null; problems: ConfigProblem[] } {
  const raw = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== "")) as Record<string, string>;
  const problems: ConfigProblem[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(env.shape)) {
    const parsed = (schema as z.ZodType).safeParse(raw[name]);
    if (parsed.success) values[name] = parsed.data;
    else for (const i of parsed.error.issues) problems.push({ variable: name, value: raw[name], message: i.message });
  }
  const v = values as Partial<z.output<typeof env>>;
  const bad = new Set(problems.map((p) => p.variable));
  const fail = (variable: string, message: string) => {
    problems.push({ variable, message });
  };
  const embedded = !raw.REDIS_URL;

  if (v.REDIS_MODE === "cluster" && !raw.REDIS_URL) fail("REDIS_URL", "is required when REDIS_MODE=cluster");
  if (raw.HERALD_AFFINITY_FILE && raw.HERALD_AFFINITY_CONFIGMAP) fail("HERALD_AFFINITY_CONFIGMAP", "set either HERALD_AFFINITY_FILE or HERALD_AFFINITY_CONFIGMAP, not both");

  let auth: Config["auth"] | null = null;
  const authMode = v.HERALD_AUTH_MODE ?? (bad.has("HERALD_AUTH_MODE") ? null : embedded ? "dev" : null);
  if (!authMode && !bad.has("HERALD_AUTH_MODE")) fail("HERALD_AUTH_MODE", "is required when REDIS_URL is set (ticket or webhook)");
  if (authMode === "dev") {
    if (!embedded) fail("HERALD_AUTH_MODE", "dev accepts any user and is only allowed in the embedded mode (without REDIS_URL)");
    auth = { mode: "dev" };
  } else if (authMode === "ticket") {
    if (!raw.HERALD_TICKET_SECRET && !raw.HERALD_TICKET_JWKS_URL) fail("HERALD_TICKET_SECRET", "ticket mode needs HERALD_TICKET_SECRET (HS256) or HERALD_TICKET_JWKS_URL (RS256/ES256)");
    auth = { mode: "ticket", ticket: { secret: v.HERALD_TICKET_SECRET, jwksUrl: v.HERALD_TICKET_JWKS_URL, issuer: v.HERALD_TICKET_ISSUER, audience: v.HERALD_TICKET_AUDIENCE, maxLifetimeSeconds: v.HERALD_TICKET_MAX_LIFETIME_SECONDS ?? 300, clockSkewSeconds: v.HERALD_TICKET_CLOCK_SKEW_SECONDS ?? 30 } };
  } else if (authMode === "webhook") {
    if (!raw.HERALD_WEBHOOK_URL) fail("HERALD_WEBHOOK_URL", "is required when HERALD_AUTH_MODE=webhook");
    auth = { mode: "webhook", url: v.HERALD_WEBHOOK_URL!, timeoutMs: v.HERALD_WEBHOOK_TIMEOUT_MS! };
  }

  if (!embedded && !raw.HERALD_TOKEN_SECRET) fail("HERALD_TOKEN_SECRET", "is required when REDIS_URL is set: every node must verify the tokens the others issue");
  if (!embedded && !raw.HERALD_PUBLISH_KEYS?.trim()) fail("HERALD_PUBLISH_KEYS", "is required when REDIS_URL is set (comma-separated API keys for POST /v1/publish)");

  let affinity: AffinitySourceConfig = { kind: "auto" };
  if (v.HERALD_AFFINITY_FILE) affinity = { kind: "file", path: v.HERALD_AFFINITY_FILE };
  if (v.HERALD_AFFINITY_CONFIGMAP) {
    const [a, b] = v.HERALD_AFFINITY_CONFIGMAP.split("/");
    const namespace = b ? a : v.POD_NAMESPACE;
    if (!namespace) fail("POD_NAMESPACE", "is required when HERALD_AFFINITY_CONFIGMAP has no namespace");
    affinity = { kind: "configmap", namespace: namespace ?? "", name: b ?? a!, key: v.HERALD_AFFINITY_CONFIGMAP_KEY ?? "affinity.json" };
  }
  if (problems.length || !auth) return { config: null, problems };

  const c = v as z.output<typeof env>;
  const nodeId = c.HERALD_NODE_ID ?? (embedded ? "node-1" : sanitizeHost(hostname()));
  const config: Config = {
    port: c.PORT,
    // The embedded mode accepts anyone as anyone (dev login, a known publish key): loopback only unless HOST says otherwise.
    host: c.HOST ?? (embedded ? "127.0.0.1" : "0.0.0.0"),
    listenBacklog: c.HERALD_LISTEN_BACKLOG,
    nodeId,
    // "{node}" in either stands for the node id, so that one pod template serves every node of a StatefulSet.
    publicUrl: (c.HERALD_PUBLIC_URL ?? `http://localhost:${c.PORT}`).replaceAll("{node}", nodeId).replace(/\/$/, ""),
    socketPath: c.HERALD_SOCKET_PATH.replaceAll("{node}", nodeId),
    redis: c.REDIS_URL ? { urls: c.REDIS_URL.split(",").map((s) => s.trim()).filter(Boolean), mode: c.REDIS_MODE, tlsCaFile: c.REDIS_TLS_CA_FILE } : null,
    keyPrefix: c.HERALD_KEY_PREFIX,
    auth,
    token: { secret: c.HERALD_TOKEN_SECRET ?? random(), generated: !c.HERALD_TOKEN_SECRET, ttlSeconds: c.HERALD_TOKEN_TTL_SECONDS, previous: c.HERALD_TOKEN_SECRET_PREVIOUS },
    publishKeys: { keys: c.HERALD_PUBLISH_KEYS?.length ? c.HERALD_PUBLISH_KEYS : [DEV_PUBLISH_KEY], generated: !c.HERALD_PUBLISH_KEYS?.length },
    affinity,
    limits: { maxPayloadBytes: c.HERALD_MAX_PAYLOAD_BYTES, maxBodyBytes: c.HERALD_MAX_BODY_BYTES, maxRecipients: c.HERALD_MAX_RECIPIENTS, maxBatch: c.HERALD_MAX_BATCH, maxDataDepth: c.HERALD_MAX_DATA_DEPTH },
    channel: { maxSocketBufferBytes: c.HERALD_MAX_SOCKET_BUFFER_BYTES, maxSocketsPerUser: c.HERALD_MAX_SOCKETS_PER_USER, maxInboundPerSecond: c.HERALD_MAX_INBOUND_PER_SECOND },
    idempotencyWindowMs: c.HERALD_IDEMPOTENCY_WINDOW_SECONDS * 1000,
    inbox: { ttlMs: c.HERALD_INBOX_TTL_SECONDS * 1000, maxLength: c.HERALD_INBOX_MAX_LENGTH },
    heartbeatMs: c.HERALD_HEARTBEAT_MS,
    nodeTtlMs: nodeTtlMs(c.HERALD_HEARTBEAT_MS, c.HERALD_NODE_TTL_MS),
    shutdownGraceMs: c.HERALD_SHUTDOWN_GRACE_MS,
    corsOrigins: c.HERALD_CORS_ORIGINS,
    demoPage: c.HERALD_DEMO_PAGE ?? embedded,
    trustedProxies: c.HERALD_TRUSTED_PROXIES,
    rates: { loginPerIp: c.HERALD_LOGIN_PER_IP_PER_MINUTE, loginPerUser: c.HERALD_LOGIN_PER_USER_PER_MINUTE, publishPerKey: c.HERALD_PUBLISH_PER_KEY_PER_MINUTE },
    logLevel: c.LOG_LEVEL,
  };
  return { config, problems };
}

function sanitizeHost(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 63) || "node";
}

function randomSecret(): string {
  return crypto.getRandomValues(Buffer.alloc(32)).toString("base64url");
}
