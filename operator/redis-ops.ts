// What the operator reads from and does to a push cluster's Redis: the nodes' heartbeats (live load,
// for draining and autoscaling) and, through the finalizer, removing every key under the cluster's prefix.
import { Cluster } from "ioredis";
import { createRedis, type RedisClient } from "../common/redis.js";
import { RedisNodeRegistry } from "../common/node-registry.js";
import { liveNodes } from "../protocol/nodes.js";
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

/** Live nodes' load, read with the nodes' own registry code and rule of liveness (heartbeat younger than ttlMs: nodeTtlMs() of the pods' settings). */
export async function readLoads(redis: RedisClient, prefix: string, now: number, ttlMs: number): Promise<Map<string, NodeLoad & { state: string }>> {
  const out = new Map<string, NodeLoad & { state: string }>();
  for (const n of liveNodes(await new RedisNodeRegistry(redis, prefix).list(), now, ttlMs)) out.set(n.id, { sockets: n.sockets, users: n.users, state: n.state });
  return out;
}

/** Where a bounded cleanup stands: a SCAN cursor per master ("host:port"), "0" once a master is done. */
export type CleanupCursors = Record<string, string>;

/**
 * One bounded step of removing every key that starts with `<prefix>:` (on each master of a cluster):
 * SCAN from the cursors given, UNLINK what matches — one key per command, pipelined per SCAN batch (a
 * multi-key UNLINK fails with CROSSSLOT on a Redis Cluster) — and stop after about `limit` keys. Returns
 * how many went, the cursors to resume from (they stay valid across processes: an operator restarted
 * mid-cleanup resumes from its status), and whether every master was scanned to the end.
 */
export async function deletePrefixStep(redis: RedisClient, prefix: string, cursors: CleanupCursors, limit = 10_000): Promise<{ deleted: number; cursors: CleanupCursors; done: boolean }> {
  const masters = redis instanceof Cluster ? redis.nodes("master") : [redis];
  const next: CleanupCursors = { ...cursors };
  let deleted = 0;
  for (const node of masters) {
    const id = `${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`;
    let cursor = next[id];
    if (cursor === "0") continue; // this master is done
    cursor ??= "0";
    do {
      const [after, found] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = after;
      if (found.length) {
        const p = node.pipeline();
        for (const key of found) p.unlink(key);
        for (const [err, n] of (await p.exec()) ?? []) {
          if (err) throw err;
          deleted += Number(n);
        }
      }
      next[id] = cursor;
    } while (cursor !== "0" && deleted < limit);
    if (deleted >= limit) break;
  }
  const done = masters.every((node) => next[`${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`] === "0");
  return { deleted, cursors: next, done };
}
