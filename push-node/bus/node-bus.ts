// How a message reaches the nodes that hold its addressees: each node has its own inbound stream, and a
// publisher writes to the streams of only those nodes (read from the users' presence). One interface,
// a Redis-streams and an in-memory home.
import type { StoredMessage } from "../store/user-store.js";

/** One addressee's copy: who, and where the message sits in that user's inbox. */
export interface Delivery {
  user: string;
  epoch: string;
  offset: string;
  prev: string;
}

/** A message with the addressees a node should hand it to. */
export interface Envelope {
  message: StoredMessage;
  to: Delivery[];
}

export interface NodeBus {
  send(node: string, envelopes: Envelope[]): Promise<void>;
  /** Starts reading this node's stream from now on; returns a function that stops reading. */
  consume(node: string, handler: (envelopes: Envelope[]) => void): Promise<() => Promise<void>>;
}

export class MemoryNodeBus implements NodeBus {
  private readonly handlers = new Map<string, (envelopes: Envelope[]) => void>();
  async send(node: string, envelopes: Envelope[]): Promise<void> {
    const handler = this.handlers.get(node);
    if (handler) queueMicrotask(() => handler(envelopes));
  }
  async consume(node: string, handler: (envelopes: Envelope[]) => void): Promise<() => Promise<void>> {
    this.handlers.set(node, handler);
    return async () => {
      if (this.handlers.get(node) === handler) this.handlers.delete(node);
    };
  }
}
