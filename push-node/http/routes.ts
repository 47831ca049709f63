// The node's HTTP API: each route translates HTTP into a call (login, publish, disconnect, health,
// readiness, metrics) and the answer or refusal back into HTTP. The use cases live in login/ and publish/.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { z } from "zod";
import type { Config } from "../config.js";
import type { ClusterStatus } from "../cluster/status.js";
import type { LoginService } from "../login/login-service.js";
import type { Metrics } from "../metrics.js";
import type { PublishService } from "../publish/publish-service.js";
import { Refusal } from "../refusal.js";
import { clientIp, trustedProxies } from "./client-ip.js";
import { corsHeaders, preflight } from "./cors.js";
import { demoRoutes } from "./demo.js";
import { readJson, send, sendError } from "./json.js";
import { openApiDocument } from "./openapi.js";
import { PublishKeys } from "./publish-keys.js";
import { disconnectRequest } from "./schemas.js";

export interface RouteDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  login: LoginService;
  publish: PublishService;
  readiness: () => { ready: boolean; checks: Record<string, boolean> };
  disconnectUsers: (users: string[]) => void;
  /** The cluster as this node sees it (GET /v1/status): counts only. */
  status: () => ClusterStatus;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export function createRoutes(d: RouteDeps) {
  const { config } = d;
  const publishKeys = new PublishKeys(config.publishKeys.keys);
  const proxies = trustedProxies(config.trustedProxies);
  const openapi = openApiDocument(config.limits);

  /** A JSON object body; a body nested too deep counts as a data_depth refusal. */
  async function readBody(req: IncomingMessage, maxBytes: number, maxDepth?: number): Promise<Record<string, unknown>> {
    try {
      return await readJson(req, maxBytes, maxDepth);
    } catch (err) {
      if (err instanceof Refusal && err.code === "JSON_TOO_DEEP") d.metrics.refusals.inc({ limit: "data_depth" });
      throw err;
    }
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    d.login.admit(clientIp(req.socket.remoteAddress, req.headers["x-forwarded-for"], proxies));
    const body = await readBody(req, 64 * 1024);
    send(res, 200, await d.login.login(body, req.headers));
  }

  async function publish(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const key = publishKeys.check(req.headers.authorization);
    // data sits at most three levels down ({"messages": [{"data": …}]}); its own limit is checked per message
    const body = await readBody(req, config.limits.maxBodyBytes, config.limits.maxDataDepth + 3);
    if (!("messages" in body)) return send(res, 202, await d.publish.publishOne(key, body));
    const batch = await d.publish.publishBatch(key, body);
    const worst = (status: number) => batch.results.some((r) => "error" in r && r.error.status === status);
    send(res, batch.accepted ? 202 : worst(503) ? 503 : worst(500) ? 500 : 400, batch);
  }

  async function disconnect(req: IncomingMessage, res: ServerResponse): Promise<void> {
    publishKeys.check(req.headers.authorization);
    const parsed = disconnectRequest.safeParse(await readBody(req, config.limits.maxBodyBytes));
    if (!parsed.success) throw new Refusal(400, "INVALID_BODY", z.prettifyError(parsed.error).replace(/\n/g, "; "));
    d.disconnectUsers(parsed.data.users);
    send(res, 202, { users: parsed.data.users.length });
  }

  const routes: Record<string, Record<string, Handler>> = {
    "/v1/login": { POST: login, OPTIONS: preflight },
    "/v1/publish": { POST: publish, OPTIONS: preflight },
    "/v1/disconnect": { POST: disconnect, OPTIONS: preflight },
    "/v1/status": { GET: (_req, res) => send(res, 200, d.status(), { "cache-control": "no-store" }) },
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

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    for (const [name, value] of Object.entries(corsHeaders(config.corsOrigins, req.headers.origin))) res.setHeader(name, value);
    try {
      const route = routes[path];
      if (!route) throw new Refusal(404, "NOT_FOUND", `no route ${path}`);
      const handler = route[req.method ?? "GET"];
      if (!handler) throw new Refusal(405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}; use ${Object.keys(route).join(", ")}`);
      await handler(req, res);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof Refusal) return sendError(res, err);
      d.log.error({ err: (err as Error).stack }, "request failed");
      sendError(res, new Refusal(500, "INTERNAL", "internal error"));
    }
  };
}
