// The node's HTTP API: login, publish, disconnect, health, readiness and metrics.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { z } from "zod";
import type { Config } from "../config.js";
import { assign } from "../../protocol/assign.js";
import type { AffinityDocument } from "../../protocol/affinity-document.js";
import { LoginError, type Verifier } from "../auth/login.js";
import type { TokenIssuer } from "../auth/token.js";
import type { Metrics } from "../metrics.js";
import { PublishError, type Publisher, type PublishResult } from "../publisher.js";
import type { ClusterStatus } from "../cluster/status.js";
import { HttpError, readJson, send, sendError } from "./json.js";
import { openApiDocument } from "./openapi.js";
import { demoRoutes } from "./demo.js";
import { disconnectRequest } from "./schemas.js";
import { clientIp, trustedProxies } from "./client-ip.js";
import { RateLimiter } from "../limits/token-bucket.js";
import type { LimitName } from "../metrics.js";

export interface RouteDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  verify: Verifier;
  tokens: TokenIssuer;
  publisher: Publisher;
  affinity: () => AffinityDocument | null;
  liveNodeIds: () => ReadonlySet<string>;
  readiness: () => { ready: boolean; checks: Record<string, boolean> };
  accepting: () => boolean;
  disconnectUsers: (users: string[]) => void;
  /** The user's inbox head now (a login remembers it: the channel starts there without since/deviceId). */
  inboxHead: (user: string) => Promise<{ epoch: string | null; last: string }>;
  /** The cluster as this node sees it (GET /v1/status): counts only. */
  status: () => ClusterStatus;
}


export function createRoutes(d: RouteDeps) {
  const { config } = d;
  const keys = config.publishKeys.keys.map((k) => Buffer.from(k));
  const openapi = openApiDocument(config.limits);
  const cors = (req: IncomingMessage): Record<string, string> => {
    const origin = req.headers.origin;
    if (!origin) return {};
    const allowed = config.corsOrigins.includes("*") || config.corsOrigins.includes(origin);
    // on every answer, errors included, so that a browser can read the error code (and Retry-After)
    return allowed ? { "access-control-allow-origin": config.corsOrigins.includes("*") ? "*" : origin, "access-control-expose-headers": "Retry-After", vary: "Origin" } : {};
  };

  /** The index of the publish key the request carries; 401 without a known one. */
  function requireKey(req: IncomingMessage): number {
    const header = req.headers.authorization ?? "";
    const m = /^Bearer (.+)$/.exec(header);
    if (!m) throw new HttpError(401, "UNAUTHORIZED", "send Authorization: Bearer <publish key>");
    const given = Buffer.from(m[1]!);
    const i = keys.findIndex((k) => k.length === given.length && timingSafeEqual(k, given));
    if (i < 0) throw new HttpError(401, "UNAUTHORIZED", "unknown publish key");
    return i;
  }

  // Rate limits (token buckets in this node's memory; docs/security.md).
  const perMinute = (n: number) => ({ perMinute: n, burst: n });
  const limiters = {
    login_ip: new RateLimiter(perMinute(config.rates.loginPerIp)),
    login_user: new RateLimiter(perMinute(config.rates.loginPerUser)),
    publish_key: new RateLimiter(perMinute(config.rates.publishPerKey)),
  } satisfies Partial<Record<LimitName, RateLimiter>>;
  const proxies = trustedProxies(config.trustedProxies);
  function limit(name: keyof typeof limiters, key: string, cost = 1): void {
    const waitMs = limiters[name].take(key, cost);
    if (waitMs === null) return;
    d.metrics.refusals.inc({ limit: name });
    const seconds = Math.ceil(waitMs / 1000);
    throw new HttpError(429, "RATE_LIMITED", `too many requests (${name.replace("_", " per ")}); retry after ${seconds} s`, { limit: name, retryAfterSeconds: seconds }, { "retry-after": String(seconds) });
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!d.accepting()) throw new HttpError(503, "NODE_UNAVAILABLE", "this node is shutting down; try another");
    limit("login_ip", clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], proxies));
    const body = await readJson(req, 64 * 1024);
    let user: string;
    try {
      user = await d.verify(body, req.headers);
    } catch (err) {
      if (err instanceof LoginError) {
        d.metrics.logins.inc({ result: err.status === 502 ? "error" : "refused" });
        throw new HttpError(err.status, err.code, err.message);
      }
      throw err;
    }
    limit("login_user", user);
    const doc = d.affinity();
    const node = doc ? assign(user, doc, d.liveNodeIds()) : null;
    if (!node) {
      d.metrics.logins.inc({ result: "unavailable" });
      throw new HttpError(503, "NO_NODE_AVAILABLE", "no push node is active and alive to take this user; try again shortly");
    }
    let position: { epoch: string | null; offset: string };
    try {
      const head = await d.inboxHead(user);
      position = { epoch: head.epoch, offset: head.last };
    } catch (err) {
      d.metrics.logins.inc({ result: "error" });
      d.log.warn({ err: (err as Error).message }, "login could not read the inbox head");
      throw new HttpError(503, "STORE_UNAVAILABLE", "the node cannot reach its store; retry shortly");
    }
    const { token, expiresAt } = d.tokens.issue({ user, node: node.id, inbox: position });
    d.metrics.logins.inc({ result: "ok" });
    send(res, 200, { token, expiresAt, userId: user, node: { id: node.id, url: node.url, path: node.path }, position });
  }

  async function publish(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = requireKey(req);
    // data sits at most three levels down ({"messages": [{"data": …}]}); its own limit is checked per message
    const body = await readJson(req, config.limits.maxBodyBytes, config.limits.maxDataDepth + 3);
    limit("publish_key", String(key), Array.isArray(body.messages) ? Math.max(1, body.messages.length) : 1);
    const one = async (m: unknown): Promise<PublishResult> => {
      try {
        const r = await d.publisher.publish(m as never);
        d.metrics.published.inc();
        return r;
      } catch (err) {
        if (err instanceof PublishError) {
          d.metrics.publishRejected.inc({ code: err.code });
          throw new HttpError(err.status, err.code, err.message);
        }
        d.metrics.publishRejected.inc({ code: "STORE_UNAVAILABLE" });
        d.log.error({ err: (err as Error).message }, "publish failed");
        throw new HttpError(503, "STORE_UNAVAILABLE", "the message could not be stored; retry with the same idempotencyKey");
      }
    };
    if (!("messages" in body)) {
      const r = await one(body);
      send(res, 202, { id: r.id, duplicate: r.duplicate });
      return;
    }
    const keysGiven = Object.keys(body);
    if (keysGiven.length !== 1) throw new HttpError(400, "INVALID_BODY", `a batch body has only "messages"; unexpected: ${keysGiven.filter((k) => k !== "messages").join(", ")}`);
    const list = body.messages;
    if (!Array.isArray(list) || list.length === 0) throw new HttpError(400, "INVALID_BODY", '"messages" must be a non-empty array');
    if (list.length > config.limits.maxBatch) throw new HttpError(413, "BATCH_TOO_LARGE", `at most ${config.limits.maxBatch} messages per batch`);
    const results = await Promise.all(
      list.map((m) =>
        one(m).then(
          (r) => ({ id: r.id, duplicate: r.duplicate }),
          (err: HttpError) => ({ error: { code: err.code, message: err.message, status: err.status } }),
        ),
      ),
    );
    const accepted = results.filter((r) => "id" in r).length;
    send(res, accepted ? 202 : results.some((r) => "error" in r && r.error.status === 503) ? 503 : 400, { accepted, results });
  }

  async function disconnect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requireKey(req);
    const parsed = disconnectRequest.safeParse(await readJson(req, config.limits.maxBodyBytes));
    if (!parsed.success) throw new HttpError(400, "INVALID_BODY", z.prettifyError(parsed.error).replace(/\n/g, "; "));
    d.disconnectUsers(parsed.data.users);
    send(res, 202, { users: parsed.data.users.length });
  }

  const routes: Record<string, Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void>> = {
    "/v1/login": { POST: login, OPTIONS: preflight },
    "/v1/publish": { POST: publish, OPTIONS: preflight },
    "/v1/disconnect": { POST: disconnect, OPTIONS: preflight },
    "/v1/status": { GET: (req, res) => send(res, 200, d.status(), { "cache-control": "no-store" }) },
    ...(config.demoPage ? demoRoutes() : {}),
    "/openapi.json": { GET: (_req, res) => send(res, 200, openapi) },
    "/healthz": { GET: (_req, res) => send(res, 200, { status: "ok" }) },
    "/readyz": {
      GET: (_req, res) => {
        const r = d.readiness();
        send(res, r.ready ? 200 : 503, r);
      },
    },
    "/metrics": {
      GET: async (_req, res) => {
        const text = await d.metrics.registry.metrics();
        res.writeHead(200, { "content-type": d.metrics.registry.contentType });
        res.end(text);
      },
    },
  };

  function preflight(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(204, { "access-control-allow-methods": "POST, OPTIONS", "access-control-allow-headers": "content-type, authorization", "access-control-max-age": "600" });
    res.end();
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    for (const [name, value] of Object.entries(cors(req))) res.setHeader(name, value);
    try {
      const route = routes[path];
      if (!route) throw new HttpError(404, "NOT_FOUND", `no route ${path}`);
      const handler = route[req.method ?? "GET"];
      if (!handler) throw new HttpError(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}; use ${Object.keys(route).join(", ")}`);
      await handler(req, res);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) {
        if (err.code === "JSON_TOO_DEEP") d.metrics.refusals.inc({ limit: "data_depth" });
        return sendError(res, err);
      }
      d.log.error({ err: (err as Error).stack }, "request failed");
      sendError(res, new HttpError(500, "INTERNAL", "internal error"));
    }
  };
}
