// Assignment: choose the push node a user must connect to. Pure: data in, data out.
import { createHash } from "node:crypto";
import type { AffinityDocument, AffinityNode } from "./affinity-document.js";

/**
 * Pins first (when the pinned node is active and alive), then rendezvous hashing over the nodes
 * that are active in the document and alive. Adding a node moves only the users whose highest score
 * is the new node's: about 1/(n+1) of them. Returns null when no node can take the user.
 */
export function assign(user: string, doc: AffinityDocument, alive: ReadonlySet<string>): AffinityNode | null {
  const eligible = doc.nodes.filter((n) => n.state === "active" && alive.has(n.id));
  const pinned = doc.pins[user];
  if (pinned !== undefined) {
    const node = eligible.find((n) => n.id === pinned);
    if (node) return node;
  }
  let best: AffinityNode | null = null;
  let bestScore = -1n;
  for (const node of eligible) {
    const s = score(node.id, user);
    if (s > bestScore || (s === bestScore && best !== null && node.id < best.id)) {
      best = node;
      bestScore = s;
    }
  }
  return best;
}

/** The rendezvous weight of (node, user): the first 64 bits of SHA-256 over both. */
export function score(nodeId: string, user: string): bigint {
  return createHash("sha256").update(nodeId).update("\0").update(user).digest().readBigUInt64BE(0);
}
