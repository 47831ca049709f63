// The embedded home of NodeRegistry: the one node's own heartbeat, in memory.
import type { NodeInfo } from "../../../protocol/nodes.js";
import type { NodeRegistry } from "../../ports.js";

export class MemoryNodeRegistry implements NodeRegistry {
  private readonly nodes = new Map<string, NodeInfo>();
  async beat(info: NodeInfo): Promise<void> {
    this.nodes.set(info.id, { ...info });
  }
  async remove(id: string): Promise<void> {
    this.nodes.delete(id);
  }
  async list(): Promise<NodeInfo[]> {
    return [...this.nodes.values()];
  }
}
