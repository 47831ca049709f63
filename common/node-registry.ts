// Which push nodes are alive: each node announces itself (heartbeat) with how clients reach it,
// its incarnation (new at every start) and its load. Login and routing read the live set.
import type { RedisClient } from "./redis.js";
import { keys } from "../protocol/keys.js";
import type { NodeInfo } from "../protocol/nodes.js";

/**
 * The heartbeats of the cluster's nodes (one small hash). `beat` and `list` issued together go in one
 * round trip, and the list then includes the beat. Shared by the push nodes (push-node/ports.ts) and
 * the operator (operator/redis-ops.ts), so both read liveness the same way.
 */
export interface NodeRegistry {
  beat(info: NodeInfo): Promise<void>;
  remove(id: string): Promise<void>;
  list(): Promise<NodeInfo[]>;
}

/** One small hash per cluster (one slot): field = node id, value = the NodeInfo JSON. */
export class RedisNodeRegistry implements NodeRegistry {
  private readonly key: string;
  constructor(private readonly redis: RedisClient, prefix: string) {
    this.key = keys(prefix).nodes;
  }
  async beat(info: NodeInfo): Promise<void> {
    await this.redis.hset(this.key, info.id, JSON.stringify(info));
  }
  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
  }
  async list(): Promise<NodeInfo[]> {
    const all = await this.redis.hgetall(this.key);
    const out: NodeInfo[] = [];
    for (const value of Object.values(all)) {
      try {
        out.push(JSON.parse(value) as NodeInfo);
      } catch {
        // a foreign or corrupt field: ignore it rather than fail every login
      }
    }
    return out;
  }
}
