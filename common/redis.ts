// Connecting to Redis: a standalone server or a Redis Cluster, with ACL user/password and TLS (rediss://).
import { readFileSync } from "node:fs";
import { Cluster, Redis, type RedisOptions } from "ioredis";

export type RedisClient = Redis | Cluster;

/** Where Redis is: one or more seed URLs, standalone or a Redis Cluster, and a CA file for rediss://. */
export type RedisConfig = { urls: string[]; mode: "standalone" | "cluster"; tlsCaFile?: string };

export function redisOptionsFromUrl(url: string, caFile?: string): { host: string; port: number; options: RedisOptions } {
  const u = new URL(url);
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error(`REDIS_URL must use redis:// or rediss://, got ${u.protocol}`);
  const options: RedisOptions = {};
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, "");
  if (db) options.db = Number(db);
  if (u.protocol === "rediss:") options.tls = caFile ? { ca: readFileSync(caFile) } : {};
  return { host: u.hostname, port: Number(u.port || 6379), options };
}

/** Creates a client; `extra` lets a caller ask for a dedicated connection (blocking reads). */
export function createRedis(cfg: RedisConfig, extra: RedisOptions = {}): RedisClient {
  const first = redisOptionsFromUrl(cfg.urls[0]!, cfg.tlsCaFile);
  const common: RedisOptions = { maxRetriesPerRequest: 2, enableAutoPipelining: true, ...first.options, ...extra };
  if (cfg.mode === "cluster") {
    const seeds = cfg.urls.map((u) => {
      const o = redisOptionsFromUrl(u, cfg.tlsCaFile);
      return { host: o.host, port: o.port };
    });
    const { db: _db, ...redisOptions } = common;
    return new Cluster(seeds, { redisOptions, enableAutoPipelining: true, scaleReads: "master", dnsLookup: (address, cb) => cb(null, address) });
  }
  return new Redis({ host: first.host, port: first.port, ...common });
}
