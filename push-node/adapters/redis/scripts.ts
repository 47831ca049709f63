// The Lua scripts of the per-user store, one file each in lua/ (copied next to this module by the build),
// defined on a connection as commands with typed signatures: each runs atomically over one user's keys,
// which share a hash tag and so a slot (never CROSSSLOT on a Redis Cluster).
import { readFileSync } from "node:fs";
import type { RedisClient } from "../../../common/redis.js";

function lua(name: string): string {
  return readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), "utf8");
}

/** The scripts as ioredis commands; arguments in the order each .lua file documents. */
export interface UserScripts {
  /** lua/append.lua: append + presence (+ the node streams on a single Redis). Resolves to [epoch, offset, prev, presence as field, value, …]. */
  heraldAppend(meta: string, inbox: string, presence: string, json: string, newEpoch: string, maxLength: string, ttlMs: string, minId: string, dedupeSince: string, metaTtlMs: string, idPrefix: string, nodeStreamBefore: string, nodeStreamAfter: string, userJson: string, nodeStreamMaxLength: string): Promise<[string, string, string, string[]]>;
  /** lua/attach.lua: presence + inbox head. Resolves to [epoch or "", last offset]. */
  heraldAttach(meta: string, presence: string, node: string, incarnation: string): Promise<[string, string]>;
  /** lua/detach.lua */
  heraldDetach(presence: string, node: string, incarnation: string): Promise<number>;
  /** lua/ack.lua: 1 when written, 0 when behind the stored ack. */
  heraldAck(acks: string, device: string, epoch: string, offset: string, ttlMs: string): Promise<number>;
}

const SCRIPTS: [name: keyof UserScripts, file: string, keys: number][] = [
  ["heraldAppend", "append", 3],
  ["heraldAttach", "attach", 2],
  ["heraldDetach", "detach", 1],
  ["heraldAck", "ack", 1],
];
let loaded: Map<string, string> | null = null;

/** Defines the scripts on this connection (read from disk once per process). */
export function withUserScripts(redis: RedisClient): RedisClient & UserScripts {
  loaded ??= new Map(SCRIPTS.map(([, file]) => [file, lua(file)]));
  for (const [name, file, numberOfKeys] of SCRIPTS) redis.defineCommand(name, { numberOfKeys, lua: loaded.get(file)! });
  return redis as RedisClient & UserScripts;
}
