// The HTTP API's bodies as zod schemas: requests the routes validate with, and the answers they send.
// docs/openapi.json is generated from these (openapi.ts), so the document and the checks cannot drift.
import { z } from "zod";
import { publishRequest, userId, type PublishLimits } from "../publisher.js";

export const errorBody = z
  .object({ error: z.looseObject({ code: z.string().meta({ description: "machine-readable, e.g. INVALID_LOGIN" }), message: z.string() }) })
  .meta({ description: "Every 4xx/5xx answer" });

export const loginRequest = z
  .union([
    z.object({ userId: z.string() }).meta({ title: "dev", description: "HERALD_AUTH_MODE=dev (embedded only): any user id" }),
    z.object({ ticket: z.string() }).meta({ title: "ticket", description: "HERALD_AUTH_MODE=ticket: a JWT the business backend signed, sub = user id" }),
    z.looseObject({}).meta({ title: "webhook", description: "HERALD_AUTH_MODE=webhook: any object, forwarded to HERALD_WEBHOOK_URL" }),
  ])
  .meta({ description: "What the login needs depends on the node's HERALD_AUTH_MODE" });

export const nodeAddress = z.object({ id: z.string(), url: z.string(), path: z.string() });

export const loginResponse = z.object({
  token: z.string().meta({ description: "access token for the Socket.IO handshake (auth.token)" }),
  expiresAt: z.iso.datetime(),
  userId: z.string(),
  node: nodeAddress.meta({ description: "connect Socket.IO to url with this path" }),
  position: z
    .object({ epoch: z.string().nullable(), offset: z.string() })
    .meta({ description: "where the user's inbox stood at login (epoch null: no inbox yet); the token carries it, and a handshake without since or deviceId starts there" }),
});

export const publishBatchRequest = (limits: PublishLimits & { maxBatch: number }, message: z.ZodType = publishRequest(limits)) =>
  z.strictObject({ messages: z.array(message).min(1).max(limits.maxBatch) });

export const publishAccepted = z.object({ id: z.string(), duplicate: z.boolean().meta({ description: "true when the idempotencyKey was seen within the window: stored once" }) });

export const publishBatchResponse = z.object({
  accepted: z.int().min(0),
  results: z.array(z.union([publishAccepted, z.object({ error: z.object({ code: z.string(), message: z.string(), status: z.int() }) })])).meta({ description: "one per message, in order" }),
});

export const disconnectRequest = z.strictObject({ users: z.array(userId).min(1).max(10_000) });
export const disconnectResponse = z.object({ users: z.int().min(0) });

const rates = z.object({ published: z.number().min(0), delivered: z.number().min(0) }).meta({ description: "messages per second, averaged over the last ~5 s" });
export const statusResponse = z
  .object({
    node: z.string().meta({ description: "the node that answered" }),
    affinityVersion: z.int().nullable(),
    nodes: z.array(
      z.object({
        id: z.string(),
        url: z.string(),
        path: z.string(),
        state: z.enum(["active", "draining", "gone"]),
        alive: z.boolean(),
        inAffinity: z.boolean(),
        sockets: z.int().min(0),
        users: z.int().min(0),
        rates,
        lastSeenMs: z.number().min(0),
      }),
    ),
    totals: z.object({ nodes: z.int().min(0), alive: z.int().min(0), sockets: z.int().min(0), users: z.int().min(0), rates }),
  })
  .meta({ description: "The cluster as the answering node sees it: counts only, no user ids" });

export const healthResponse = z.object({ status: z.literal("ok") });
export const readinessResponse = z.object({ ready: z.boolean(), checks: z.record(z.string(), z.boolean()) });
