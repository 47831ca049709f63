// What the operator reads from and does to a push cluster's Redis: the nodes' heartbeats (live load,
// for draining and autoscaling) and, through the finalizer, removing every key under the cluster's prefix.
import { Cluster } from "ioredis";
import { createRedis, type RedisClient } from "../common/redis.js";
import { keys } from "../protocol/keys.js";
import type { NodeInfo } from "../protocol/nodes.js";
import type { NodeLoad } from "./scaling.js";

export class RedisPool {
  private readonly clients = new Map<string, RedisClient>();

  client(url: string, mode: "standalone" | "cluster"): RedisClient {
    const id = `${mode} ${url}`;
    let c = this.clients.get(id);
    if (!c) {
      c = createRedis({ urls: url.split(",").map((s) => s.trim()), mode }, { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 3000 });
      c.on("error", () => {}); // reported through failed commands
      this.clients.set(id, c);
    }
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients.values()) c.disconnect();
    this.clients.clear();
  }
}

/** Live nodes' load: heartbeats younger than ttlMs. */
export async function readLoads(redis: RedisClient, prefix: string, now: number, ttlMs = 5000): Promise<Map<string, NodeLoad & { state: string }>> {
  const all = await redis.hgetall(keys(prefix).nodes);
  const out = new Map<string, NodeLoad & { state: string }>();
  for (const v of Object.values(all)) {
    try {
      const n = JSON.parse(v) as NodeInfo;
      if (now - n.at <= ttlMs) out.set(n.id, { sockets: n.sockets, users: n.users, state: n.state });
    } catch {
      // not ours
    }
  }
  return out;
}

/** Deletes every key that starts with `<prefix>:` (on each master of a cluster); returns how many. */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<number> {
  const masters = redis instanceof Cluster ? redis.nodes("master") : [redis];
  let deleted = 0;
  for (const node of masters) {
    let cursor = "0";
    do {
      const [next, found] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      for (const key of found) deleted += await node.unlink(key);
    } while (cursor !== "0");
  }
  return deleted;
}
