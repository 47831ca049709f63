// The Redis (or Redis Cluster) home of the per-user ports (Inbox, Presence, Acks, Idempotency: ports.ts).
// Each write on a user is one Lua script (lua/, defined by scripts.ts) over that user's keys, which share a
// hash tag and so a slot: atomic, and never CROSSSLOT.
import { randomUUID } from "node:crypto";
import type { RedisClient } from "../../../common/redis.js";
import { keys } from "../../../protocol/keys.js";
import { META_TTL_FACTOR, type Appended, type Claim, type Dedupe, type InboxEntry, type InboxHead, type StoredMessage, type UserStore } from "../../ports.js";
import { START, type Position } from "../../../protocol/positions.js";
import { messageJson } from "../../ports.js";
import { withUserScripts, type UserScripts } from "./scripts.js";
import { NODE_BUS_MAX_LEN } from "./node-bus.js";

export class RedisUserStore implements UserStore {
  private readonly redis: RedisClient & UserScripts;
  private readonly k: ReturnType<typeof keys>;

  /** The node streams' key around the node id, when appends send to the nodes themselves (a single Redis). */
  private readonly nodeStream: readonly [string, string] | null;

  /**
   * `sendToNodes` (default: on a single Redis, off on a Redis Cluster): append() also puts the message on
   * the streams of the nodes in the user's presence, in the same script (`Appended.sent`).
   */
  constructor(redis: RedisClient, prefix: string, private readonly bounds: { ttlMs: number; maxLength: number }, options: { sendToNodes?: boolean } = {}) {
    this.redis = withUserScripts(redis);
    this.k = keys(prefix);
    const isCluster = (redis as { isCluster?: boolean }).isCluster === true;
    const marker = "\u0000";
    const around = this.k.nodeBus(marker).split(marker);
    this.nodeStream = (options.sendToNodes ?? !isCluster) ? [around[0]!, around[1]!] : null;
  }

  async append(user: string, message: StoredMessage, dedupe: Dedupe): Promise<Appended> {
    const u = this.k.user(user);
    const { ttlMs, maxLength } = this.bounds;
    const minId = `${Date.now() - ttlMs}-0`;
    const json = messageJson(message);
    const idPrefix = `{"id":${JSON.stringify(message.id)},`;
    if (!json.startsWith(idPrefix)) throw new Error("a stored message must begin with its id"); // the search above relies on it
    const send = this.nodeStream;
    const [epoch, offset, prev, flat] = await this.redis.heraldAppend(
      u.meta, u.inbox, u.presence,
      json, randomUUID().slice(0, 8), String(maxLength), String(ttlMs), minId, dedupe ? `${Math.max(0, Math.floor(dedupe.sinceMs))}-0` : "", String(ttlMs * META_TTL_FACTOR), idPrefix,
      send ? send[0] : "", send ? send[1] : "", send ? JSON.stringify(user) : "", NODE_STREAM_MAX_LEN,
    );
    return { epoch, offset, prev, nodes: pairs(flat), sent: send !== null };
  }

  async attach(user: string, node: string, incarnation: string): Promise<InboxHead> {
    const u = this.k.user(user);
    const [epoch, last] = await this.redis.heraldAttach(u.meta, u.presence, node, incarnation);
    return { epoch: epoch || null, last };
  }

  async head(user: string): Promise<InboxHead> {
    const [epoch, last] = await this.redis.hmget(this.k.user(user).meta, "e", "l");
    return { epoch: epoch || null, last: last || START };
  }

  async detach(user: string, node: string, incarnation: string): Promise<void> {
    await this.redis.heraldDetach(this.k.user(user).presence, node, incarnation);
  }

  async read(user: string, after: string, limit: number): Promise<InboxEntry[]> {
    const rows = await this.redis.xrange(this.k.user(user).inbox, `(${after}`, "+", "COUNT", limit);
    return rows.map(([offset, fields]) => {
      const f = pairs(fields);
      return { offset, prev: f.p ?? START, message: JSON.parse(f.m ?? "null") as StoredMessage };
    });
  }

  async ack(user: string, device: string, position: Position): Promise<void> {
    await this.redis.heraldAck(this.k.user(user).acks, device, position.epoch, position.offset, String(this.bounds.ttlMs * META_TTL_FACTOR));
  }

  async acks(user: string): Promise<Map<string, Position>> {
    // ioredis defines even "__proto__" or "constructor" fields as own properties; read them into a Map
    const all = await this.redis.hgetall(this.k.user(user).acks);
    const out = new Map<string, Position>();
    for (const [device, v] of Object.entries(all)) {
      const [epoch, offset] = v.split(" ");
      if (epoch && offset) out.set(device, { epoch, offset });
    }
    return out;
  }

  async claim(key: string, id: string, digest: string, windowMs: number): Promise<Claim> {
    const k = this.k.idempotency(key);
    for (let attempt = 0; attempt < 3; attempt++) {
      if ((await this.redis.set(k, `${id} ${digest}`, "PX", windowMs, "NX")) === "OK") return { id, digest, claimed: true };
      const owner = await this.redis.get(k);
      if (owner) {
        const sp = owner.indexOf(" "); // "<id> <digest>"; a bare "<id>" was written before digests
        return sp < 0 ? { id: owner, digest: null, claimed: false } : { id: owner.slice(0, sp), digest: owner.slice(sp + 1), claimed: false };
      }
    }
    throw new Error("idempotency key kept changing hands");
  }

}

/** The node streams' approximate length bound (as node-bus.ts writes them). */
const NODE_STREAM_MAX_LEN = String(NODE_BUS_MAX_LEN);

function pairs(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
