// The OpenAPI 3.1 document of the HTTP API, generated from the zod schemas in schemas.ts (zod 4's
// toJSONSchema). Served at GET /openapi.json; docs/openapi.json is this document for the default limits
// (`npm run openapi` rewrites it; test/push-node/openapi.test.ts checks that it is current).
import { pathToFileURL } from "node:url";
import { z } from "zod";
import type { Config } from "../config.js";
import { publishRequest } from "../publisher.js";
import * as s from "./schemas.js";

type Limits = Config["limits"];
export const DEFAULT_LIMITS: Limits = { maxPayloadBytes: 64 * 1024, maxBodyBytes: 4 * 1024 * 1024, maxRecipients: 1000, maxBatch: 500, maxDataDepth: 64 };

export function openApiDocument(limits: Limits = DEFAULT_LIMITS, version = "0.1.0"): Record<string, unknown> {
  const registry = z.registry<{ id: string }>();
  const message = publishRequest(limits);
  const named: Record<string, z.ZodType> = {
    Error: s.errorBody,
    LoginRequest: s.loginRequest,
    LoginResponse: s.loginResponse,
    PublishRequest: message,
    PublishBatchRequest: s.publishBatchRequest(limits, message),
    PublishAccepted: s.publishAccepted,
    PublishBatchResponse: s.publishBatchResponse,
    DisconnectRequest: s.disconnectRequest,
    DisconnectResponse: s.disconnectResponse,
    Status: s.statusResponse,
    Health: s.healthResponse,
    Readiness: s.readinessResponse,
  };
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { target: "draft-2020-12", io: "input", uri: (id) => `#/components/schemas/${id}` }).schemas;
  // Unnamed schemas used by several (the JSON value of `data`) come as __shared.$defs: make them components.
  const { __shared, ...rest } = generated as Record<string, { $defs?: Record<string, unknown> }>;
  let text = JSON.stringify({ ...rest, ...Object.fromEntries(Object.entries(__shared?.$defs ?? {}).map(([k, v]) => [sharedName(k), v])) });
  for (const k of Object.keys(__shared?.$defs ?? {})) text = text.replaceAll(`#/components/schemas/__shared#/$defs/${k}"`, `#/components/schemas/${sharedName(k)}"`);
  const schemas = JSON.parse(text) as Record<string, Record<string, unknown>>;
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }

  const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
  const json = (id: string | Record<string, unknown>, description: string) => ({ description, content: { "application/json": { schema: typeof id === "string" ? ref(id) : id } } });
  const error = (description: string) => json("Error", description);
  const common = { "415": error("UNSUPPORTED_MEDIA_TYPE: send Content-Type: application/json"), "413": error("BODY_TOO_LARGE") };
  const key = [{ publishKey: [] }];

  return {
    openapi: "3.1.0",
    info: {
      title: "Herald push node HTTP API",
      version,
      description: "Log users in, publish messages to users, and watch the cluster. The Socket.IO channel a login leads to is described in docs/protocol.md.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    paths: {
      "/v1/login": {
        post: {
          summary: "Log a user in: verify, assign a node, issue an access token",
          requestBody: { required: true, ...json("LoginRequest", "depends on HERALD_AUTH_MODE") },
          responses: {
            "200": json("LoginResponse", "logged in"),
            "400": error("INVALID_LOGIN, INVALID_JSON, INVALID_BODY"),
            "401": error("LOGIN_REFUSED"),
            "502": error("LOGIN_BACKEND_UNAVAILABLE"),
            "503": error("NO_NODE_AVAILABLE, NODE_UNAVAILABLE"),
            ...common,
          },
        },
      },
      "/v1/publish": {
        post: {
          summary: "Publish a message (or a batch) to users",
          security: key,
          requestBody: { required: true, description: "one message, or {messages: [...]}", content: { "application/json": { schema: { oneOf: [ref("PublishRequest"), ref("PublishBatchRequest")] } } } },
          responses: {
            "202": json({ oneOf: [ref("PublishAccepted"), ref("PublishBatchResponse")] }, "stored (a batch: at least one message stored; see results)"),
            "400": { description: "INVALID_MESSAGE, INVALID_BODY, INVALID_JSON (a batch where no message was stored answers with its results)", content: { "application/json": { schema: { oneOf: [ref("Error"), ref("PublishBatchResponse")] } } } },
            "401": error("UNAUTHORIZED: missing or unknown publish key"),
            "413": error("PAYLOAD_TOO_LARGE, BATCH_TOO_LARGE, BODY_TOO_LARGE"),
            "415": common["415"],
            "503": { description: "STORE_UNAVAILABLE: retry with the same idempotencyKey", content: { "application/json": { schema: { oneOf: [ref("Error"), ref("PublishBatchResponse")] } } } },
          },
        },
      },
      "/v1/disconnect": {
        post: {
          summary: "Close every channel of these users, on every node",
          security: key,
          requestBody: { required: true, ...json("DisconnectRequest", "the users") },
          responses: { "202": json("DisconnectResponse", "asked"), "400": error("INVALID_BODY"), "401": error("UNAUTHORIZED"), ...common },
        },
      },
      "/v1/status": { get: { summary: "The cluster as this node sees it (counts only; no key needed)", responses: { "200": json("Status", "status") } } },
      "/healthz": { get: { summary: "Liveness", responses: { "200": json("Health", "the process runs") } } },
      "/readyz": { get: { summary: "Readiness", responses: { "200": json("Readiness", "ready"), "503": json("Readiness", "not ready") } } },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } } } } },
      "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": { schema: { type: "object" } } } } } } },
    },
    components: {
      securitySchemes: { publishKey: { type: "http", scheme: "bearer", description: "one of HERALD_PUBLISH_KEYS" } },
      schemas,
    },
  };
}

function sharedName(def: string): string {
  return def === "schema0" ? "JsonValue" : `Shared${def}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.stdout.write(JSON.stringify(openApiDocument(), null, 2) + "\n");
