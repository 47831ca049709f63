// What a node does when the affinity document changes. Pure: data in, data out.
import type { AffinityDocument } from "../../protocol/affinity-document.js";
import { assign } from "../../protocol/assign.js";

export type NodeState = "active" | "draining";

export type AffinityReaction =
  /** This node was just marked draining: ask every client to log in again (spread out). */
  | { kind: "drain" }
  /** Some users held here are now assigned elsewhere (a node joined or came back, or this node keeps
   * draining and a client has not left yet): ask them to move. */
  | { kind: "move"; users: string[] }
  | { kind: "none" };

/**
 * The node's new state and what to do about its users. On the first document a node only takes its
 * state: its users logged in under that document already.
 */
export function reactToAffinity(input: {
  doc: AffinityDocument;
  first: boolean;
  nodeId: string;
  state: NodeState;
  users: Iterable<string>;
  live: ReadonlySet<string>;
}): { state: NodeState; reaction: AffinityReaction } {
  const me = input.doc.nodes.find((n) => n.id === input.nodeId);
  const state: NodeState = me?.state === "draining" ? "draining" : "active";
  if (state === "draining" && input.state !== "draining") return { state, reaction: { kind: "drain" } };
  if (input.first || !me) return { state, reaction: { kind: "none" } };
  const users = [...input.users].filter((u) => {
    const to = assign(u, input.doc, input.live);
    return to !== null && to.id !== input.nodeId;
  });
  return { state, reaction: users.length ? { kind: "move", users } : { kind: "none" } };
}

/** Whether the node can take traffic, and why not. Pure. */
export function readiness(input: { usesRedis: boolean; lastBeatOkAt: number; now: number; nodeTtlMs: number; affinityLoaded: boolean; accepting: boolean }): {
  ready: boolean;
  checks: { store: boolean; affinity: boolean; accepting: boolean };
} {
  const checks = {
    store: !input.usesRedis || input.now - input.lastBeatOkAt <= input.nodeTtlMs,
    affinity: input.affinityLoaded,
    accepting: input.accepting,
  };
  return { ready: checks.store && checks.affinity && checks.accepting, checks };
}
