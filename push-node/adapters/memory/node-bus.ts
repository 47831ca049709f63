// The embedded home of NodeBus: one process, so a node's "stream" is a direct call on the next microtask.
import type { DeliverySink, Envelope, NodeBus } from "../../ports.js";

export class MemoryNodeBus implements NodeBus {
  private readonly sinks = new Map<string, DeliverySink>();
  async send(node: string, envelopes: Envelope[]): Promise<void> {
    const sink = this.sinks.get(node);
    if (sink) queueMicrotask(() => sink.deliver(envelopes));
  }
  async consume(node: string, sink: DeliverySink): Promise<() => Promise<void>> {
    this.sinks.set(node, sink);
    return async () => {
      if (this.sinks.get(node) === sink) this.sinks.delete(node);
    };
  }
}
