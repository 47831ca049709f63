// Cumulative acks from clients with a device id: the latest per channel is written within ACK_FLUSH_MS,
// by one timer for the whole node; a channel that closes writes its last ack at once.
import type { Logger } from "pino";
import type { UserStore } from "../ports.js";
import type { Channel } from "./channel.js";
import { clientPosition } from "./handshake.js";

const ACK_FLUSH_MS = 50;

export class AckBatcher {
  /** Channels with an ack not yet written. */
  private readonly unwritten = new Set<Channel>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly store: UserStore, private readonly log: Logger) {}

  /** An `ack` event: kept as the channel's latest (a malformed one, or one without a device, is ignored). */
  acked(channel: Channel, payload: unknown): void {
    const p = clientPosition.safeParse(payload);
    if (!p.success || channel.device === null) return;
    channel.ack = p.data;
    this.unwritten.add(channel);
    this.timer ??= setTimeout(() => this.flushAll(), ACK_FLUSH_MS);
  }

  private flushAll(): void {
    this.timer = null;
    for (const channel of this.unwritten) this.flush(channel);
  }

  /** Writes the channel's latest ack now, if it has one. */
  flush(channel: Channel): void {
    this.unwritten.delete(channel);
    const ack = channel.ack;
    if (!ack || channel.device === null) return;
    channel.ack = null;
    this.store.ack(channel.user, channel.device, ack).catch((err: Error) => this.log.warn({ err: err.message }, "could not store an ack"));
  }
}
