// What each push node announces in its heartbeat, and which nodes count as alive. Pure; read by the
// push nodes (login, routing) and the operator (autoscaling, draining).

export interface NodeInfo {
  id: string;
  url: string;
  path: string;
  incarnation: string;
  state: "active" | "draining";
  /** Milliseconds since the epoch of the last heartbeat. */
  at: number;
  sockets: number;
  users: number;
  /** The id of the secret it signs access tokens with (tokenKeyId; absent from nodes of older versions): during a token secret rotation, a node that knows both secrets signs a token for this node with the one it checks. */
  tokenKey?: string;
  /** Recent message rates per second (absent from nodes of older versions). */
  rates?: { published: number; delivered: number };
}

/** How often a node announces itself, unless HERALD_HEARTBEAT_MS says otherwise. */
export const DEFAULT_HEARTBEAT_MS = 1000;

/** How long a node counts as alive after its last heartbeat: HERALD_NODE_TTL_MS, else three heartbeats. */
export function nodeTtlMs(heartbeatMs: number = DEFAULT_HEARTBEAT_MS, explicitTtlMs?: number): number {
  return explicitTtlMs ?? heartbeatMs * 3;
}

/** The nodes whose last heartbeat is younger than ttlMs. Pure. */
export function liveNodes(nodes: NodeInfo[], now: number, ttlMs: number): NodeInfo[] {
  return nodes.filter((n) => now - n.at <= ttlMs);
}
