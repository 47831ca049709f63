// This node's membership in the cluster: it announces itself every heartbeat and keeps the view of the
// other nodes that login (who is alive) and publishing (which incarnation each node runs) read.
import type { NodeInfo } from "../../protocol/nodes.js";
import { liveNodes } from "../../protocol/nodes.js";
import type { NodeRegistry } from "../../common/node-registry.js";

export interface MembershipOptions {
  registry: NodeRegistry;
  /** What this node announces, read at each beat. */
  self: () => NodeInfo;
  heartbeatMs: number;
  /** A node whose last heartbeat is older than this is not alive. */
  nodeTtlMs: number;
  /** Called before every beat (e.g. to refresh what self() reports). */
  beforeBeat?: () => Promise<void>;
  /** Called after every beat that read the registry, with the nodes alive now. */
  onLiveNodes: (alive: NodeInfo[]) => void;
  /** Called after every beat, whether it reached the registry or not. */
  onBeat: () => void;
  onError: (err: Error) => void;
}

export class Membership {
  private all: NodeInfo[] = [];
  private known = new Map<string, string>();
  private live = new Set<string>();
  private lastOkAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: MembershipOptions) {}

  /** The nodes as last seen in the registry: id → incarnation (see presenceIsCurrent). */
  knownNodes(): ReadonlyMap<string, string> {
    return this.known;
  }
  /** The ids of the nodes alive at the last beat. */
  liveNodeIds(): ReadonlySet<string> {
    return this.live;
  }
  /** Every node in the registry at the last beat, alive or not. */
  nodes(): readonly NodeInfo[] {
    return this.all;
  }
  /** When the registry last answered (0: never). */
  lastBeatOkAt(): number {
    return this.lastOkAt;
  }

  async beat(): Promise<void> {
    try {
      await this.o.beforeBeat?.();
      // Written and read in one round trip (pipelined on one connection, so the read sees the write).
      const [, nodes] = await Promise.all([this.o.registry.beat(this.o.self()), this.o.registry.list()]);
      this.all = nodes;
      const now = Date.now();
      this.lastOkAt = now;
      const alive = liveNodes(nodes, now, this.o.nodeTtlMs);
      this.known = new Map(nodes.map((n) => [n.id, n.incarnation]));
      this.live = new Set(alive.map((n) => n.id));
      this.o.onLiveNodes(alive);
    } catch (err) {
      this.o.onError(err as Error);
    }
    this.o.onBeat();
  }

  /** Beats once (so the node is known before it listens), then every heartbeatMs. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.o.heartbeatMs);
  }

  /** Stops beating and removes this node's announcement, so logins stop choosing it at once. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.o.registry.remove(this.o.self().id).catch(() => {});
  }
}
