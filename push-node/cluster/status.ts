// What GET /v1/status answers: the cluster as this node sees it. Counts only, never user ids. Pure.
import type { AffinityDocument } from "../../protocol/affinity-document.js";
import type { NodeInfo } from "../../protocol/nodes.js";

export interface Rates {
  /** Messages accepted by this node's publish route per second (recent average). */
  published: number;
  /** Messages emitted to this node's sockets per second (recent average). */
  delivered: number;
}

export interface NodeStatus {
  id: string;
  url: string;
  path: string;
  /** "active" or "draining" (from the affinity document when the node is in it), "gone" when it stopped heartbeating. */
  state: "active" | "draining" | "gone";
  alive: boolean;
  /** Whether the affinity document in use lists the node (logins can be assigned to it). */
  inAffinity: boolean;
  sockets: number;
  users: number;
  rates: Rates;
  /** Milliseconds since its last heartbeat. */
  lastSeenMs: number;
}

export interface ClusterStatus {
  /** The node that answered. */
  node: string;
  affinityVersion: number | null;
  nodes: NodeStatus[];
  totals: { nodes: number; alive: number; sockets: number; users: number; rates: Rates };
}

const ZERO: Rates = { published: 0, delivered: 0 };

export function clusterStatus(self: string, nodes: readonly NodeInfo[], doc: AffinityDocument | null, now: number, ttlMs: number): ClusterStatus {
  const listed = new Map((doc?.nodes ?? []).map((n) => [n.id, n]));
  const out: NodeStatus[] = nodes
    .map((n) => {
      const alive = now - n.at <= ttlMs;
      const inDoc = listed.get(n.id);
      return {
        id: n.id,
        url: n.url,
        path: n.path,
        state: !alive ? ("gone" as const) : (inDoc?.state ?? n.state),
        alive,
        inAffinity: inDoc !== undefined,
        sockets: n.sockets,
        users: n.users,
        rates: n.rates ?? ZERO,
        lastSeenMs: Math.max(0, now - n.at),
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
  const live = out.filter((n) => n.alive);
  const sum = (f: (n: NodeStatus) => number) => live.reduce((s, n) => s + f(n), 0);
  return {
    node: self,
    affinityVersion: doc?.version ?? null,
    nodes: out,
    totals: {
      nodes: out.length,
      alive: live.length,
      sockets: sum((n) => n.sockets),
      users: sum((n) => n.users),
      rates: { published: round(sum((n) => n.rates.published)), delivered: round(sum((n) => n.rates.delivered)) },
    },
  };
}

/** Per-second rate of a cumulative counter between two samples. Pure. */
export function ratePerSecond(before: { at: number; count: number } | null, after: { at: number; count: number }): number {
  if (!before || after.at <= before.at || after.count < before.count) return 0;
  return round(((after.count - before.count) * 1000) / (after.at - before.at));
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Samples the node's published and delivered counters at each heartbeat and keeps their recent rates. */
export class RateSampler {
  private samples: Array<{ at: number; published: number; delivered: number }> = [];
  private rates: Rates = ZERO;
  constructor(private readonly counters: { published: Summable; delivered: Summable }, private readonly windowMs = 5000) {}

  current(): Rates {
    return this.rates;
  }

  async sample(): Promise<void> {
    const now = { at: Date.now(), published: await total(this.counters.published), delivered: await total(this.counters.delivered) };
    this.samples = [...this.samples.filter((x) => now.at - x.at <= this.windowMs), now];
    const first = this.samples[0]!;
    this.rates = {
      published: ratePerSecond({ at: first.at, count: first.published }, { at: now.at, count: now.published }),
      delivered: ratePerSecond({ at: first.at, count: first.delivered }, { at: now.at, count: now.delivered }),
    };
  }
}

type Summable = { get(): Promise<{ values: Array<{ value: number }> }> };
const total = async (c: Summable) => (await c.get()).values.reduce((t, v) => t + v.value, 0);
