// The publisher library business servers embed: writes messages into Redis exactly as
// POST /v1/publish does, without an HTTP hop. `import { createPublisher } from "herald"`.
import type { RedisOptions } from "ioredis";
import { pino } from "pino";
import { RedisNodeBus } from "./bus/redis-node-bus.js";
import { RedisNodeRegistry } from "../common/node-registry.js";
import { createRedis } from "../common/redis.js";
import { RedisUserStore } from "./store/redis-user-store.js";
import { Publisher, type PublishRequest, type PublishResult } from "./publisher.js";
import { StoreUnavailableError } from "./publish/store-unavailable.js";

export interface PublisherOptions {
  /** redis:// or rediss:// URL; for a Redis Cluster, several seed URLs separated by commas. */
  redisUrl: string;
  redisMode?: "standalone" | "cluster";
  /** Must equal the push nodes' HERALD_KEY_PREFIX. */
  keyPrefix?: string;
  /** Must equal the push nodes' inbox bounds (HERALD_INBOX_TTL_SECONDS, HERALD_INBOX_MAX_LENGTH). */
  inboxTtlSeconds?: number;
  inboxMaxLength?: number;
  maxPayloadBytes?: number;
  maxRecipients?: number;
  /** Deepest nesting of arrays and objects in data (HERALD_MAX_DATA_DEPTH, default 64). */
  maxDataDepth?: number;
  idempotencyWindowSeconds?: number;
  redisOptions?: RedisOptions;
  /**
   * When Redis fails part way through a publish, resend it this many times (default 5) with the same
   * idempotency key — the message's own id when none was given — so that it completes exactly once.
   * The waits double from retryDelayMs (default 100) up to 2 s. After the last, publish() rejects
   * with a StoreUnavailableError carrying `id` and `idempotencyKey` to resend with later.
   */
  retries?: number;
  retryDelayMs?: number;
}

export interface HeraldPublisher {
  publish(message: PublishRequest): Promise<PublishResult>;
  close(): Promise<void>;
}

export async function createPublisher(o: PublisherOptions): Promise<HeraldPublisher> {
  const prefix = o.keyPrefix ?? "herald";
  const redis = createRedis({ urls: o.redisUrl.split(",").map((s) => s.trim()), mode: o.redisMode ?? "standalone" }, o.redisOptions);
  const registry = new RedisNodeRegistry(redis, prefix);
  let known = new Map<string, string>();
  const refresh = async () => {
    try {
      known = new Map((await registry.list()).map((n) => [n.id, n.incarnation]));
    } catch {
      // keep the last view; a publish itself reports Redis being down
    }
  };
  await refresh();
  const timer = setInterval(() => void refresh(), 1000);
  timer.unref();
  const publisher = new Publisher({
    store: new RedisUserStore(redis, prefix, { ttlMs: (o.inboxTtlSeconds ?? 86_400) * 1000, maxLength: o.inboxMaxLength ?? 10_000 }),
    bus: new RedisNodeBus(redis, prefix, pino({ level: "silent" })),
    knownNodes: () => known,
    limits: { maxPayloadBytes: o.maxPayloadBytes ?? 64 * 1024, maxRecipients: o.maxRecipients ?? 1000, maxDataDepth: o.maxDataDepth ?? 64 },
    idempotencyWindowMs: (o.idempotencyWindowSeconds ?? 300) * 1000,
  });
  const retries = o.retries ?? 5;
  const firstDelay = o.retryDelayMs ?? 100;
  async function publish(m: PublishRequest): Promise<PublishResult> {
    let message = m;
    for (let attempt = 0; ; attempt++) {
      try {
        return await publisher.publish(message);
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || attempt >= retries) throw err;
        message = { ...m, idempotencyKey: err.idempotencyKey };
        await new Promise((r) => setTimeout(r, Math.min(2000, firstDelay * 2 ** attempt)));
      }
    }
  }
  return {
    publish,
    async close() {
      clearInterval(timer);
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
