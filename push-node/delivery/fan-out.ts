// Puts messages on sockets: a live message to every channel of a user held here, a replayed one to one
// channel; each channel takes a message once, in order (`admit`), and is cut when its queue passes its limit.
// A message goes out as the packet its frame encodes once (channel.ts, packetOf), written to each socket's
// connection the way Socket.IO's own broadcasts write theirs.
import type { Socket } from "socket.io";
import type { Metrics } from "../metrics.js";
import { messageTs } from "../ports.js";
import { admit, packetOf, type Channel, type Frame } from "./channel.js";
import type { UserLink } from "./user-links.js";

/** What socket.io's own broadcasts pass with a packet they encoded once (socket.io-adapter). */
const ENCODED = { preEncoded: true, compress: true } as const;

/** Writes an encoded packet to the socket's connection, as a broadcast does; nothing once it is closing. */
function write(socket: Socket, packet: string): void {
  const client = socket.client as unknown as { conn: { readyState: string }; writeToEngine(packet: string, opts: typeof ENCODED): void };
  if (client.conn.readyState === "open") client.writeToEngine(packet, ENCODED);
}

export class FanOut {
  private readonly deliveredLive: { inc(n?: number): void };
  private readonly deliveredReplay: { inc(n?: number): void };

  constructor(private readonly metrics: Metrics) {
    this.deliveredLive = metrics.delivered.labels({ mode: "live" });
    this.deliveredReplay = metrics.delivered.labels({ mode: "replay" });
  }

  /** A live message to a user's sockets, encoded once for all of them. */
  toSockets(link: UserLink, f: Frame): void {
    let n = 0;
    for (const s of link.sockets) {
      if (!admit(s.data as Channel, f, "live")) continue;
      write(s, packetOf(f));
      n++;
    }
    if (n === 0) return;
    // a live message cannot wait: a socket whose queue passed its limit is cut (its inbox keeps the rest)
    for (const s of link.sockets) (s.data as Channel).guard!.check();
    this.countLive(f, n);
  }

  /** One message to one channel (a replayed one, or a live one the channel queued while it replayed). */
  emit(socket: Socket, channel: Channel, f: Frame, mode: "live" | "replay"): void {
    if (!admit(channel, f, mode)) return;
    write(socket, packetOf(f));
    if (mode === "replay") return this.deliveredReplay.inc();
    channel.guard!.check();
    this.countLive(f, 1);
  }

  /** A live message went to this many sockets: counted, and its publish→socket latency observed for each. */
  private countLive(f: Frame, sockets: number): void {
    this.deliveredLive.inc(sockets);
    const latency = Math.max(0, Date.now() - messageTs(f.json)) / 1000;
    for (let i = 0; i < sockets; i++) this.metrics.latency.observe(latency);
  }

  /** Replay is over: what the channel queued meanwhile goes out, and live messages from now on at once. */
  goLive(socket: Socket, channel: Channel): void {
    channel.live = true;
    for (const f of channel.queue.splice(0)) this.emit(socket, channel, f, "live");
  }
}
