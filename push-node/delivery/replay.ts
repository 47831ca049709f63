// How a channel starts: from the position resume.ts picks, the inbox is read page by page and sent, at the
// pace the socket takes it; live messages that arrive meanwhile queue on the channel and follow.
import type { Socket } from "socket.io";
import { START, type Position } from "../../protocol/positions.js";
import type { Metrics } from "../metrics.js";
import type { InboxEntry, UserStore } from "../ports.js";
import { frameOf, type Channel } from "./channel.js";
import type { FanOut } from "./fan-out.js";
import { PAGE } from "./live.js";
import { resumeFrom } from "./resume.js";
import type { SocketGuard } from "./socket-guard.js";
import type { UserLink } from "./user-links.js";

export class Replay {
  constructor(private readonly store: UserStore, private readonly fanOut: FanOut, private readonly metrics: Metrics, private readonly maxSocketBufferBytes: number) {}

  /** Replays what the channel missed (if anything), then turns it live. */
  async start(socket: Socket, channel: Channel, link: UserLink): Promise<void> {
    const order = link.order!;
    const given = channel.since;
    channel.epoch = order.epoch;
    channel.last = order.tail;
    const acks = !given && channel.device !== null ? await this.store.acks(channel.user) : new Map<string, Position>();
    const position = resumeFrom(given, channel.device, acks, order.epoch, channel.login);
    if (!position) {
      this.fanOut.goLive(socket, channel);
      return;
    }
    const sameEpoch = position.epoch === order.epoch;
    let after = sameEpoch ? position.offset : START;
    // At the head already (the common case after a login: nothing was published since): nothing to read.
    const first = sameEpoch && after === order.tail ? [] : await this.store.read(channel.user, after, PAGE);
    const recovered = sameEpoch && (first.length ? first[0]!.prev === position.offset : order.tail === position.offset);
    const reason = recovered ? undefined : sameEpoch ? "GAP" : "EPOCH_CHANGED";
    if (reason) this.metrics.replayGaps.inc({ reason });
    socket.emit("recovery", { recovered, epoch: order.epoch, reason });
    channel.epoch = order.epoch;
    channel.last = after;
    const guard = channel.guard!;
    let page: InboxEntry[] = first;
    for (;;) {
      for (const e of page) {
        this.fanOut.emit(socket, channel, frameOf(e.message, order.epoch!, e.offset, e.prev), "replay");
        // A replay waits for a slow reader instead of filling its buffer: at most half the limit queued.
        if (guard.queuedBytes > this.maxSocketBufferBytes / 2) {
          await roomFor(socket, guard, this.maxSocketBufferBytes / 4);
          if (!socket.connected) return;
        }
      }
      if (page.length === PAGE || channel.overflow) {
        channel.overflow = false;
        channel.queue = [];
        await drained(socket);
        if (!socket.connected) return;
        after = channel.last;
        page = await this.store.read(channel.user, after, PAGE);
        continue;
      }
      break;
    }
    this.fanOut.goLive(socket, channel);
  }
}

/** Resolves once no more than `bytes` wait to reach the socket, or it closed. */
async function roomFor(socket: Socket, guard: SocketGuard, bytes: number): Promise<void> {
  while (socket.connected && guard.queuedBytes > bytes) await new Promise((r) => setTimeout(r, 25));
}

/** Resolves when the socket's transport has flushed what was written (bounded memory during replay). */
function drained(socket: Socket): Promise<void> {
  const conn = socket.conn as unknown as { writeBuffer: unknown[]; once(e: string, f: () => void): void; readyState: string };
  if (!conn.writeBuffer.length || conn.readyState !== "open") return Promise.resolve();
  return new Promise((resolve) => {
    conn.once("drain", resolve);
    conn.once("close", resolve);
  });
}
