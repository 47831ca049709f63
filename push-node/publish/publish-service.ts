// The publish use case behind POST /v1/publish: the key's rate, one message or a batch (the batch policy:
// its shape, its size, each message on its own), and what each outcome counts in the metrics. Refusals
// carry protocol.md's status and code; a batch answers per message.
import type { Logger } from "pino";
import type { RequestLimits } from "../limits/request-limits.js";
import type { Metrics } from "../metrics.js";
import { PublishError, type Publisher, type PublishResult } from "../publisher.js";
import { Refusal } from "../refusal.js";
import { StoreUnavailableError } from "./store-unavailable.js";

export type BatchResult = { id: string; duplicate: boolean } | { error: { code: string; message: string; status: number } & Record<string, unknown> };

export interface BatchAnswer {
  accepted: number;
  results: BatchResult[];
}

export interface PublishServiceDeps {
  publisher: Publisher;
  limits: RequestLimits;
  /** HERALD_MAX_BATCH */
  maxBatch: number;
  metrics: Metrics;
  log: Logger;
}

export class PublishService {
  constructor(private readonly d: PublishServiceDeps) {}

  /** A body that is one message, sent with the publish key at index `key`. */
  async publishOne(key: number, body: Record<string, unknown>): Promise<{ id: string; duplicate: boolean }> {
    this.d.limits.take("publish_key", String(key));
    const r = await this.message(body);
    return { id: r.id, duplicate: r.duplicate };
  }

  /** A body `{"messages": [...]}`: each message published on its own; a refused one is answered in its place. */
  async publishBatch(key: number, body: Record<string, unknown>): Promise<BatchAnswer> {
    const list = body.messages;
    this.d.limits.take("publish_key", String(key), Array.isArray(list) ? Math.max(1, list.length) : 1);
    const keysGiven = Object.keys(body);
    if (keysGiven.length !== 1) throw new Refusal(400, "INVALID_BODY", `a batch body has only "messages"; unexpected: ${keysGiven.filter((k) => k !== "messages").join(", ")}`);
    if (!Array.isArray(list) || list.length === 0) throw new Refusal(400, "INVALID_BODY", '"messages" must be a non-empty array');
    if (list.length > this.d.maxBatch) throw new Refusal(413, "BATCH_TOO_LARGE", `at most ${this.d.maxBatch} messages per batch`);
    const results = await Promise.all(
      list.map((m) =>
        this.message(m).then(
          (r): BatchResult => ({ id: r.id, duplicate: r.duplicate }),
          (err: Refusal): BatchResult => ({ error: { code: err.code, message: err.message, status: err.status, ...err.extra } }),
        ),
      ),
    );
    return { accepted: results.filter((r) => "id" in r).length, results };
  }

  private async message(m: unknown): Promise<PublishResult> {
    const { d } = this;
    try {
      const r = await d.publisher.publish(m as never);
      d.metrics.published.inc();
      return r;
    } catch (err) {
      if (err instanceof PublishError) {
        d.metrics.publishRejected.inc({ code: err.code });
        if (err.code === "JSON_TOO_DEEP") d.metrics.refusals.inc({ limit: "data_depth" });
        if (err.code === "IDEMPOTENCY_KEY_REUSED") d.metrics.refusals.inc({ limit: "idempotency_reuse" });
        throw new Refusal(err.status, err.code, err.message);
      }
      if (err instanceof StoreUnavailableError) {
        // Only Redis failing is a 503: the answer names the message, and a resend with its key completes it.
        d.metrics.publishRejected.inc({ code: "STORE_UNAVAILABLE" });
        d.log.warn({ err: (err.cause as Error)?.message, id: err.id }, "publish failed in the store");
        throw new Refusal(503, "STORE_UNAVAILABLE", err.message, { id: err.id, idempotencyKey: err.idempotencyKey });
      }
      d.metrics.publishRejected.inc({ code: "INTERNAL" });
      d.log.error({ err: (err as Error)?.stack }, "publish failed");
      throw new Refusal(500, "INTERNAL", "internal error; the message may not have been delivered");
    }
  }
}
