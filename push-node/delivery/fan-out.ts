// Puts messages on sockets: a live message to every channel of a user held here, a replayed one to one
// channel; each channel takes a message once, in order (`admit`), and is cut when its queue passes its limit.
import type { Server, Socket } from "socket.io";
import type { Metrics } from "../metrics.js";
import { admit, type Channel, type Pushed } from "./channel.js";
import type { UserLink } from "./user-links.js";

export class FanOut {
  private readonly deliveredLive: { inc(n?: number): void };
  private readonly deliveredReplay: { inc(n?: number): void };

  constructor(private readonly io: Server, private readonly metrics: Metrics) {
    this.deliveredLive = metrics.delivered.labels({ mode: "live" });
    this.deliveredReplay = metrics.delivered.labels({ mode: "replay" });
  }

  /**
   * A live message to a user's sockets: straight to the socket when only one takes it (the common case),
   * else encoded once for all of them (a local Socket.IO broadcast to their ids).
   */
  toSockets(link: UserLink, p: Pushed): void {
    let first: Socket | null = null;
    let ids: string[] | null = null;
    for (const s of link.sockets) {
      if (!admit(s.data as Channel, p, "live")) continue;
      if (first === null) first = s;
      else (ids ??= [first.id]).push(s.id);
    }
    if (first === null) return;
    if (ids) this.io.local.to(ids).emit("message", p);
    else first.emit("message", p);
    // a live message cannot wait: a socket whose queue passed its limit is cut (its inbox keeps the rest)
    for (const s of link.sockets) (s.data as Channel).guard!.check();
    const n = ids ? ids.length : 1;
    this.deliveredLive.inc(n);
    const latency = Math.max(0, Date.now() - p.ts) / 1000;
    for (let i = 0; i < n; i++) this.metrics.latency.observe(latency);
  }

  /** One message to one channel (a replayed one, or a live one the channel queued while it replayed). */
  emit(socket: Socket, channel: Channel, p: Pushed, mode: "live" | "replay"): void {
    if (!admit(channel, p, mode)) return;
    socket.emit("message", p);
    if (mode === "live") channel.guard!.check();
    (mode === "live" ? this.deliveredLive : this.deliveredReplay).inc();
    if (mode === "live") this.metrics.latency.observe(Math.max(0, Date.now() - p.ts) / 1000);
  }

  /** Replay is over: what the channel queued meanwhile goes out, and live messages from now on at once. */
  goLive(socket: Socket, channel: Channel): void {
    channel.live = true;
    for (const p of channel.queue.splice(0)) this.emit(socket, channel, p, "live");
  }
}
